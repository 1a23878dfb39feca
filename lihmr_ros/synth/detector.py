"""The 2D detector run on synthetic renders: MediaPipe BlazePose, the way the runtime runs it.

Training keypoints must carry the errors of the detector the robot runs, so
renders go through the same BlazePose model and the same BlazePose -> COCO-17
mapping as the runtime (``lihmr_ros.keypoints.blazepose``), in static image
mode.  The runtime finds people on the whole frame and then follows each on
a square crop around their last keypoint box (``crop_scale`` x its longer
side, see ``lihmr_ros.keypoints.multi_person``); the crop is what lets
BlazePose see small, distant people.  Renders are treated the same way: the
whole frame first, then, if that finds nobody, a crop around the person's
box with a random offset and size error, standing in for the previous
frame's box.

A result whose median joint error exceeds ``max_detection_error`` person
sizes latched onto something else (a pattern in the backdrop) and counts as
a miss: training it against this person's 3D pose would teach nonsense.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lihmr_ros.synth.config import KeypointSettings
from lihmr_ros.synth.keypoint_noise import person_scale

_BOX_CENTRE_JITTER = 0.1
"""Standard deviation of the crop centre error, as a fraction of the person's size."""
_BOX_SCALE_JITTER = (0.9, 1.15)


@dataclass(frozen=True)
class Detection:
    keypoints: np.ndarray
    """(17, 3) COCO-17 pixels + confidence."""
    window: str
    """``frame`` (found on the whole image) or ``crop`` (found on the crop around the person)."""


def detection_error(keypoints: np.ndarray, joints_px: np.ndarray, in_frame: np.ndarray) -> float:
    """Median distance between detected and true in-frame joints, in person sizes."""
    scale = max(person_scale(joints_px), 1.0)
    error = np.linalg.norm(keypoints[in_frame, :2] - joints_px[in_frame], axis=1) / scale
    return float(np.median(error))


class RenderDetector:
    """BlazePose on a render: whole frame, then a crop around the person."""

    def __init__(self, settings: KeypointSettings) -> None:
        from lihmr_ros.keypoints.blazepose import BlazePoseEstimator

        self.settings = settings
        self._estimator = BlazePoseEstimator(tracking=False)

    def detect(
        self, image_rgb: np.ndarray, joints_px: np.ndarray, in_frame: np.ndarray, rng: np.random.Generator
    ) -> Detection | None:
        """The person's keypoints, or ``None`` when BlazePose misses them (or finds something else)."""
        from lihmr_ros.keypoints.blazepose import CropWindow

        if not in_frame.any():
            return None
        person = self._estimator.estimate(image_rgb)
        if person is not None and self._matches(person.keypoints, joints_px, in_frame):
            return Detection(person.keypoints, "frame")
        if not self.settings.crop_retry:
            return None
        finite = joints_px[np.all(np.isfinite(joints_px), axis=1)]
        size = person_scale(joints_px)
        centre = 0.5 * (finite.min(axis=0) + finite.max(axis=0)) + rng.normal(0.0, _BOX_CENTRE_JITTER * size, 2)
        half = 0.5 * size * rng.uniform(*_BOX_SCALE_JITTER)
        window = CropWindow.around_box(np.concatenate([centre - half, centre + half]), self.settings.crop_scale)
        person = self._estimator.estimate(image_rgb, window)
        if person is not None and self._matches(person.keypoints, joints_px, in_frame):
            return Detection(person.keypoints, "crop")
        return None

    def _matches(self, keypoints: np.ndarray, joints_px: np.ndarray, in_frame: np.ndarray) -> bool:
        return detection_error(keypoints, joints_px, in_frame) <= self.settings.max_detection_error

    def close(self) -> None:
        self._estimator.close()
