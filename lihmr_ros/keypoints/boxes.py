"""Axis-aligned box arithmetic shared by the person detector, the keypoint sources and the tracker.

Boxes are ``(x0, y0, x1, y1)`` in pixels, stacked as (N, 4) arrays.
"""

from __future__ import annotations

import numpy as np


def _as_box_array(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        return np.zeros((0, 4))
    if boxes.ndim == 1:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape (N, 4) as (x0, y0, x1, y1), got {boxes.shape}")
    return boxes


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """(N,) areas; degenerate boxes have area 0."""
    boxes = _as_box_array(boxes)
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def intersection_areas(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """(N, M) pairwise intersection areas."""
    a = _as_box_array(boxes_a)[:, None, :]
    b = _as_box_array(boxes_b)[None, :, :]
    width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    return width * height


def iou_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """(N, M) pairwise intersection over union; 0 where both boxes are empty."""
    inter = intersection_areas(boxes_a, boxes_b)
    union = box_areas(boxes_a)[:, None] + box_areas(boxes_b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def overlap_of_smaller(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """(N, M) intersection divided by the smaller box's area.

    Detector boxes are padded while keypoint boxes are tight, so the same
    person gives a low IoU but an overlap near 1; this measure says "these are
    one person" where IoU would not.
    """
    inter = intersection_areas(boxes_a, boxes_b)
    smaller = np.minimum(box_areas(boxes_a)[:, None], box_areas(boxes_b)[None, :])
    return np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, highest score first."""
    boxes = _as_box_array(boxes)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) != len(boxes):
        raise ValueError(f"got {len(boxes)} boxes but {len(scores)} scores")
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        if rest.size == 0:
            break
        overlaps = iou_matrix(boxes[best], boxes[rest])[0]
        order = rest[overlaps <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def scale_box(box: np.ndarray, factor: float) -> np.ndarray:
    """The box grown (or shrunk) by ``factor`` about its centre."""
    box = np.asarray(box, dtype=np.float64)
    centre = 0.5 * (box[:2] + box[2:])
    half = 0.5 * factor * (box[2:] - box[:2])
    return np.concatenate([centre - half, centre + half])


def clip_box(box: np.ndarray, width: int, height: int) -> np.ndarray:
    """The box clipped to the pixel extent of a ``width`` x ``height`` image."""
    box = np.asarray(box, dtype=np.float64)
    return np.array(
        [
            np.clip(box[0], -0.5, width - 0.5),
            np.clip(box[1], -0.5, height - 0.5),
            np.clip(box[2], -0.5, width - 0.5),
            np.clip(box[3], -0.5, height - 0.5),
        ]
    )
