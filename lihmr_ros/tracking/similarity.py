"""How alike two person detections are, for matching detections to tracks.

Box IoU alone confuses people who overlap while crossing; keypoints tell
them apart (one faces left, the other right; their limbs are elsewhere), and
keypoints alone are noisy for small people.  The cost blends both.
"""

from __future__ import annotations

import numpy as np

from lihmr_ros.keypoints.boxes import box_areas, iou_matrix

COCO17_OKS_SIGMAS = np.array(
    [
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
        0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
    ]
)
"""Per-keypoint spread of human annotations, from the COCO keypoint evaluation (object keypoint similarity)."""


def keypoint_similarity(
    keypoints_a: np.ndarray, keypoints_b: np.ndarray, boxes_a: np.ndarray, min_confidence: float = 0.3
) -> np.ndarray:
    """(N, M) object keypoint similarity (OKS, in [0, 1]) between two sets of (·, 17, 3) keypoints.

    The scale of each pair is the area of the ``boxes_a`` box (the track's), as
    in COCO where the ground-truth area sets it.  Only keypoints confident in
    both count; a pair with none in common has similarity 0.
    """
    a = np.asarray(keypoints_a, dtype=np.float64)[:, None]
    b = np.asarray(keypoints_b, dtype=np.float64)[None, :]
    if a.shape[0] == 0 or b.shape[1] == 0:
        return np.zeros((a.shape[0], b.shape[1]))
    squared_distance = np.sum((a[..., :2] - b[..., :2]) ** 2, axis=-1)
    area = np.maximum(box_areas(boxes_a), 1.0)[:, None, None]
    variance = 2.0 * area * (2.0 * COCO17_OKS_SIGMAS) ** 2
    both_seen = (a[..., 2] >= min_confidence) & (b[..., 2] >= min_confidence)
    per_joint = np.exp(-squared_distance / variance) * both_seen
    counts = both_seen.sum(axis=-1)
    return np.divide(per_joint.sum(axis=-1), counts, out=np.zeros(counts.shape), where=counts > 0)


def matching_cost(
    track_boxes: np.ndarray,
    track_keypoints: np.ndarray,
    detection_boxes: np.ndarray,
    detection_keypoints: np.ndarray,
    keypoint_weight: float,
) -> np.ndarray:
    """(N, M) cost in [0, 1]: ``1 - ((1 - w) IoU + w OKS)``; 0 means identical."""
    iou = iou_matrix(track_boxes, detection_boxes)
    oks = keypoint_similarity(track_keypoints, detection_keypoints, track_boxes)
    return 1.0 - ((1.0 - keypoint_weight) * iou + keypoint_weight * oks)


def centre_distance(track_boxes: np.ndarray, detection_boxes: np.ndarray) -> np.ndarray:
    """(N, M) distance between box centres divided by the taller box's height (scale-free)."""
    a = np.asarray(track_boxes, dtype=np.float64)[:, None]
    b = np.asarray(detection_boxes, dtype=np.float64)[None, :]
    distance = np.linalg.norm(0.5 * (a[..., :2] + a[..., 2:]) - 0.5 * (b[..., :2] + b[..., 2:]), axis=-1)
    height = np.maximum(np.maximum(a[..., 3] - a[..., 1], b[..., 3] - b[..., 1]), 1.0)
    return distance / height
