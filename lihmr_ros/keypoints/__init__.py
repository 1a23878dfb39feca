"""2D people in an image: COCO-17 keypoints, boxes and scores, from MediaPipe or from outside.

``MultiPersonBlazePose`` (MediaPipe BlazePose + HOG person search) is the
default source; ``ExternalKeypointSource`` serves keypoints from a user's own
detector.  Both satisfy the ``KeypointSource`` protocol.  MediaPipe itself is
imported only when a BlazePose estimator is created.
"""

from lihmr_ros.keypoints.external import ExternalKeypointSource, persons_from_arrays
from lihmr_ros.keypoints.multi_person import MultiPersonBlazePose, MultiPersonConfig
from lihmr_ros.keypoints.person import PersonKeypoints, keypoint_box
from lihmr_ros.keypoints.person_detector import HogConfig, HogPersonDetector, PersonBox
from lihmr_ros.keypoints.source import KeypointSource

__all__ = [
    "ExternalKeypointSource",
    "HogConfig",
    "HogPersonDetector",
    "KeypointSource",
    "MultiPersonBlazePose",
    "MultiPersonConfig",
    "PersonBox",
    "PersonKeypoints",
    "keypoint_box",
    "persons_from_arrays",
]
