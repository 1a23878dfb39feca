"""The per-person 2D result every keypoint source hands to the rest of the pipeline.

One small, validated record keeps the tracker, the crop builder and the ROS
layer independent of where keypoints came from (MediaPipe, a user's own
detector on a topic, a test): they all consume :class:`PersonKeypoints`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lihmr_ros.body.coco import NUM_COCO17


@dataclass(frozen=True)
class PersonKeypoints:
    """One person in one image: box, COCO-17 keypoints and a detection score.

    Pixel coordinates follow the package convention (OpenCV: the centre of
    pixel ``(row i, column j)`` is at ``x = j, y = i``).
    """

    box: np.ndarray
    """(4,) float32 ``(x0, y0, x1, y1)`` in image pixels, ``x0 <= x1`` and ``y0 <= y1``."""
    keypoints: np.ndarray
    """(17, 3) float32 ``(x, y, confidence)``; confidence in [0, 1], 0 meaning "not observed"."""
    score: float
    """How sure the source is that this is a person, in [0, 1]."""

    def __post_init__(self) -> None:
        box = np.asarray(self.box, dtype=np.float32).reshape(-1)
        keypoints = np.asarray(self.keypoints, dtype=np.float32)
        if box.shape != (4,):
            raise ValueError(f"box must have 4 values (x0, y0, x1, y1), got shape {np.shape(self.box)}")
        if not np.all(np.isfinite(box)) or box[2] < box[0] or box[3] < box[1]:
            raise ValueError(f"box must be finite with x0 <= x1 and y0 <= y1, got {box.tolist()}")
        if keypoints.shape != (NUM_COCO17, 3):
            raise ValueError(
                f"keypoints must have shape ({NUM_COCO17}, 3) as (x, y, confidence), got {keypoints.shape}"
            )
        if not np.all(np.isfinite(keypoints)):
            raise ValueError("keypoints must be finite; mark unseen joints with confidence 0 instead of NaN")
        if np.any(keypoints[:, 2] < 0.0) or np.any(keypoints[:, 2] > 1.0):
            raise ValueError("keypoint confidences must lie in [0, 1]")
        if not 0.0 <= float(self.score) <= 1.0:
            raise ValueError(f"score must lie in [0, 1], got {self.score}")
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "keypoints", keypoints)
        object.__setattr__(self, "score", float(self.score))


def keypoint_box(keypoints: np.ndarray, min_confidence: float = 0.0) -> np.ndarray | None:
    """Tight ``(x0, y0, x1, y1)`` box of the keypoints whose confidence exceeds ``min_confidence``.

    Returns ``None`` when no keypoint qualifies, so callers must decide what an
    unseen person means for them instead of getting a degenerate box.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32)
    seen = keypoints[:, 2] > min_confidence
    if not np.any(seen):
        return None
    xy = keypoints[seen, :2]
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)]).astype(np.float32)
