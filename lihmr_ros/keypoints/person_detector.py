"""Person boxes: where to point BlazePose when there may be more than one person.

MediaPipe's own detector returns one person per image and misses small,
distant people on a full frame.  OpenCV's HOG people detector (Dalal-Triggs,
built into OpenCV, no download) finds upright pedestrians down to about
100 px tall at native scale; its boxes become crops for BlazePose.  Boxes of
people already being followed (from their previous keypoints) are the cheap
way to re-find them, so HOG only needs to run now and then to catch newcomers
(:func:`novel_boxes` keeps the HOG boxes that are nobody already known).

Measured on the 2-core CPU target (grey image, ``scale_step=1.05``, stride 8):
about 36 ms at 640x480 and 55 ms at 768x576, too slow for every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lihmr_ros.keypoints.boxes import non_max_suppression, overlap_of_smaller


@dataclass(frozen=True)
class HogConfig:
    """Settings of :class:`HogPersonDetector`."""

    upscale: float = 1.0
    """Enlarge the frame before detection: 1.5 finds people down to ~65 px tall at about twice the cost."""
    scale_step: float = 1.05
    """Pyramid step; 1.1 halves the time and misses more people."""
    window_stride: int = 8
    """Sliding-window stride in pixels (multiple of 8, the HOG cell size)."""
    min_score: float = 0.3
    """SVM margin below which a window is not a person."""
    nms_iou: float = 0.45
    """Boxes overlapping more than this are the same person."""

    def __post_init__(self) -> None:
        if not self.upscale > 0.0:
            raise ValueError(f"HOG upscale must be positive, got {self.upscale}")
        if not self.scale_step > 1.0:
            raise ValueError(f"HOG scale_step must be > 1, got {self.scale_step}")
        if self.window_stride < 8 or self.window_stride % 8:
            raise ValueError(f"HOG window_stride must be a positive multiple of 8, got {self.window_stride}")
        if not 0.0 < self.nms_iou <= 1.0:
            raise ValueError(f"HOG nms_iou must lie in (0, 1], got {self.nms_iou}")


@dataclass(frozen=True)
class PersonBox:
    """A detector box ``(x0, y0, x1, y1)`` in frame pixels and its detector score."""

    box: np.ndarray
    score: float


class HogPersonDetector:
    """OpenCV's default HOG + linear SVM people detector, with NMS."""

    def __init__(self, config: HogConfig = HogConfig()) -> None:
        self.config = config
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(self, image_rgb: np.ndarray) -> list[PersonBox]:
        """Person boxes in a uint8 RGB frame, best first."""
        if image_rgb.dtype != np.uint8 or image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
            raise ValueError(f"image must be uint8 RGB (H, W, 3), got {image_rgb.dtype} {image_rgb.shape}")
        # Grey costs half the time of colour (HOG takes the strongest channel gradient) for the same boxes.
        grey = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)
        if self.config.upscale != 1.0:
            factor = self.config.upscale
            grey = cv2.resize(grey, None, fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)
        stride = (self.config.window_stride, self.config.window_stride)
        rects, weights = self._hog.detectMultiScale(
            grey, winStride=stride, padding=(8, 8), scale=self.config.scale_step
        )
        if len(rects) == 0:
            return []
        rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4) / self.config.upscale
        scores = np.asarray(weights, dtype=np.float64).reshape(-1)
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
        confident = scores >= self.config.min_score
        boxes, scores = boxes[confident], scores[confident]
        keep = non_max_suppression(boxes, scores, self.config.nms_iou)
        return [PersonBox(box=boxes[i].astype(np.float32), score=float(scores[i])) for i in keep]


def novel_boxes(
    candidates: list[PersonBox], known_boxes: list[np.ndarray], same_person_overlap: float = 0.5
) -> list[PersonBox]:
    """The candidates that are not one of the ``known_boxes`` people.

    Detector boxes are padded while known boxes are usually tight keypoint
    boxes, so "same person" is judged by the overlap relative to the smaller
    box rather than by IoU.
    """
    if not candidates or not known_boxes:
        return list(candidates)
    overlap = overlap_of_smaller(np.stack([c.box for c in candidates]), np.stack(known_boxes))
    return [candidate for candidate, row in zip(candidates, overlap) if row.max() < same_person_overlap]
