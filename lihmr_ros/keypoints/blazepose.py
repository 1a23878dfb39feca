"""MediaPipe BlazePose as a COCO-17 keypoint estimator for one person at a time.

BlazePose (``mediapipe==0.10.21``, legacy ``mediapipe.solutions.pose``) finds
one person per image and returns 33 landmarks.  This module runs it on a
square crop of the frame (or on the whole frame) and maps the landmarks to
COCO-17 in frame pixels.  Several people are handled one level up
(:mod:`lihmr_ros.keypoints.multi_person`) by giving each person a crop.

Facts this module is built on (measured on the 2-core CPU target):

* Only ``model_complexity=1`` works offline: the other two models are
  downloaded on first use, which is not allowed at run time.
* The legacy API fills ``visibility`` but leaves ``presence`` at 0, so a
  keypoint's confidence is its ``visibility`` (the model's probability that
  the landmark is in frame and not occluded).  Landmarks that fall outside the
  frame are extrapolated guesses and get confidence 0.  The person score is
  the mean confidence of the 17 keypoints: MediaPipe has already applied its
  own presence threshold (``min_tracking_confidence``) before returning
  anything, so the score ranks how much of the body was actually seen.
* Tracking mode (``static_image_mode=False``) skips the person detector while
  the landmark model keeps the person: about 16 ms per pedestrian crop against
  22-25 ms in static mode, and 19 ms against ~30 ms on a whole 640x480 frame.
  Its state is kept in the coordinates of the images it is fed, so a tracking
  instance must see one person through a steady view.  Each instance costs
  about 110 MB of memory, and its first ``process`` call takes 100-200 ms
  (model initialisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lihmr_ros.keypoints.person import PersonKeypoints, keypoint_box

BLAZEPOSE_LANDMARKS_FOR_COCO17: tuple[int, ...] = (
    0,  # nose
    2,  # left eye (centre; 1 and 3 are its inner and outer corners)
    5,  # right eye (centre)
    7,  # left ear
    8,  # right ear
    11,  # left shoulder
    12,  # right shoulder
    13,  # left elbow
    14,  # right elbow
    15,  # left wrist
    16,  # right wrist
    23,  # left hip
    24,  # right hip
    25,  # left knee
    26,  # right knee
    27,  # left ankle
    28,  # right ankle
)
"""BlazePose landmark index for each COCO-17 keypoint (both use the person's own left/right)."""

NUM_BLAZEPOSE_LANDMARKS = 33

_MEDIAPIPE_INSTALL_HINT = (
    "MediaPipe is required for the built-in keypoint source: "
    "pip install --no-deps mediapipe==0.10.21 absl-py attrs flatbuffers matplotlib "
    "'opencv-contrib-python<4.12' (it needs numpy<2 and protobuf<5), "
    "or feed keypoints from your own detector through ExternalKeypointSource."
)


@dataclass(frozen=True)
class CropWindow:
    """The region of the frame handed to MediaPipe, in frame pixels.

    ``left``/``top`` are pixel *edges* (the frame spans ``[0, W] x [0, H]`` in
    edge coordinates), integers so that cutting needs no resampling; the
    window may extend past the frame, where the crop is padded with black.
    """

    left: int
    top: int
    width: int
    height: int

    @classmethod
    def around_box(cls, box: np.ndarray, scale: float) -> CropWindow:
        """Square window centred on ``box`` (x0, y0, x1, y1), side = ``scale`` x its longer side.

        A square crop keeps MediaPipe's letterboxing constant as the person
        turns, and the margin leaves room for motion between frames.
        """
        box = np.asarray(box, dtype=np.float64)
        # Box coordinates are pixel centres; +0.5 turns them into edge coordinates.
        centre = 0.5 * (box[:2] + box[2:]) + 0.5
        side = max(2, int(round(scale * float(np.max(box[2:] - box[:2])))))
        left, top = (int(round(c - side / 2.0)) for c in centre)
        return cls(left=left, top=top, width=side, height=side)

    @classmethod
    def whole_frame(cls, width: int, height: int) -> CropWindow:
        return cls(left=0, top=0, width=width, height=height)

    def cut(self, image: np.ndarray) -> np.ndarray:
        """The window's pixels as a contiguous (height, width, 3) array, black outside the frame."""
        frame_height, frame_width = image.shape[:2]
        if self.left >= 0 and self.top >= 0 and self.left + self.width <= frame_width and (
            self.top + self.height <= frame_height
        ):
            return np.ascontiguousarray(image[self.top : self.top + self.height, self.left : self.left + self.width])
        crop = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        x0, y0 = max(self.left, 0), max(self.top, 0)
        x1, y1 = min(self.left + self.width, frame_width), min(self.top + self.height, frame_height)
        if x1 > x0 and y1 > y0:
            crop[y0 - self.top : y1 - self.top, x0 - self.left : x1 - self.left] = image[y0:y1, x0:x1]
        return crop


def coco17_from_landmarks(
    landmarks: np.ndarray, window: CropWindow, frame_width: int, frame_height: int
) -> np.ndarray:
    """(33, 3) BlazePose ``(x, y, visibility)`` normalised to ``window`` -> (17, 3) frame pixels + confidence.

    Keypoints outside the frame keep their position but get confidence 0:
    MediaPipe extrapolates them, it did not see them.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (NUM_BLAZEPOSE_LANDMARKS, 3):
        raise ValueError(f"expected ({NUM_BLAZEPOSE_LANDMARKS}, 3) landmarks, got {landmarks.shape}")
    picked = landmarks[list(BLAZEPOSE_LANDMARKS_FOR_COCO17)]
    # Normalised coordinates measure from the window's outer edge; -0.5 moves to pixel centres.
    x = window.left + picked[:, 0] * window.width - 0.5
    y = window.top + picked[:, 1] * window.height - 0.5
    confidence = np.clip(picked[:, 2], 0.0, 1.0)
    inside = (x >= -0.5) & (x <= frame_width - 0.5) & (y >= -0.5) & (y <= frame_height - 0.5)
    confidence = np.where(inside, confidence, 0.0)
    return np.stack([x, y, confidence], axis=1).astype(np.float32)


class BlazePoseEstimator:
    """One MediaPipe BlazePose instance: one person per call, in a crop or in the whole frame."""

    def __init__(
        self,
        tracking: bool,
        smooth_landmarks: bool = True,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        """``tracking``: keep the person between calls (fast; feed one person's crops only).

        ``smooth_landmarks`` only applies in tracking mode (MediaPipe's own
        temporal filter; it cut hip jitter by 25-50 % on vtest.avi pedestrians).
        """
        try:
            from mediapipe.python.solutions import pose as mp_pose
        except ImportError as error:  # pragma: no cover - depends on the installation
            raise RuntimeError(_MEDIAPIPE_INSTALL_HINT) from error
        self.tracking = tracking
        self._pose = mp_pose.Pose(
            static_image_mode=not tracking,
            model_complexity=1,  # the only BlazePose model bundled in the wheel
            smooth_landmarks=smooth_landmarks,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self._holds_person = False

    def estimate(self, image_rgb: np.ndarray, window: CropWindow | None = None) -> PersonKeypoints | None:
        """The person in ``window`` of ``image_rgb`` (whole frame if ``None``), or ``None`` if none is found."""
        if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
            raise ValueError(f"image must be uint8 RGB (H, W, 3), got {image_rgb.dtype} {image_rgb.shape}")
        frame_height, frame_width = image_rgb.shape[:2]
        if window is None:
            window = CropWindow.whole_frame(frame_width, frame_height)
        result = self._pose.process(window.cut(image_rgb))
        self._holds_person = result.pose_landmarks is not None
        if not self._holds_person:
            return None
        landmarks = np.array(
            [(mark.x, mark.y, mark.visibility) for mark in result.pose_landmarks.landmark], dtype=np.float64
        )
        keypoints = coco17_from_landmarks(landmarks, window, frame_width, frame_height)
        box = keypoint_box(keypoints)
        if box is None:  # every keypoint outside the frame: nothing usable was seen
            return None
        return PersonKeypoints(box=box, keypoints=keypoints, score=float(keypoints[:, 2].mean()))

    def forget(self) -> None:
        """Drop the tracked person so the next call searches afresh.

        ``Pose.reset()`` would also do it but makes the next call pay the
        100-200 ms model start-up again; one empty frame (~15 ms) clears the
        tracking state instead.
        """
        if self.tracking and self._holds_person:
            self._pose.process(np.zeros((64, 64, 3), dtype=np.uint8))
            self._holds_person = False

    def close(self) -> None:
        self._pose.close()
