"""COCO-17 keypoint conventions shared by every part of the package.

Every body model, the 2D keypoint sources, the network and the ROS messages
speak COCO-17, so the joint order, the left/right swap used by flip
augmentation and the skeleton drawn in visualisations live in exactly one
place.  "Left" is the person's left, as in the COCO annotations.
"""

from __future__ import annotations

import numpy as np

COCO17_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
NUM_COCO17 = len(COCO17_NAMES)

LEFT_HIP = COCO17_NAMES.index("left_hip")
RIGHT_HIP = COCO17_NAMES.index("right_hip")


def _flip_permutation(names: tuple[str, ...]) -> tuple[int, ...]:
    """Index of each joint's mirror twin, derived from the names so it cannot drift."""
    swapped = []
    for name in names:
        if name.startswith("left_"):
            twin = "right_" + name[len("left_"):]
        elif name.startswith("right_"):
            twin = "left_" + name[len("right_"):]
        else:
            twin = name
        swapped.append(names.index(twin))
    return tuple(swapped)


COCO17_FLIP_PERMUTATION: tuple[int, ...] = _flip_permutation(COCO17_NAMES)
"""``joints[..., COCO17_FLIP_PERMUTATION, :]`` relabels a horizontally mirrored skeleton."""

COCO17_SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12),
    (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
    (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)
"""The 19 limb edges of the COCO keypoint annotation format (0-based)."""


def mid_hip(joints: np.ndarray) -> np.ndarray:
    """The body root used throughout the package: mean of the two hip joints.

    Works on numpy arrays and torch tensors of shape (..., 17, D).
    """
    return (joints[..., LEFT_HIP, :] + joints[..., RIGHT_HIP, :]) / 2
