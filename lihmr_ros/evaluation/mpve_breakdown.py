"""Where a prediction's MPVE comes from: global rotation (lean vs heading), global size, or the body itself.

MPVE compares root-aligned meshes, so it holds three kinds of error at once:
the body's global orientation, its global size, and its shape and
articulation (what PA-MPVE keeps).  This breakdown re-measures MPVE with
each global part replaced by the truth, per frame, so the model card can say
which one a change must attack:

* ``rotation``: the joints' best-fit rotation (the one the orientation error
  measures) applied to the predicted mesh;
* ``tilt`` / ``heading``: only the part of that rotation that tilts the body
  away from its true up axis (mid-hip to mid-shoulder), or only the part
  about that axis (swing-twist decomposition);
* ``scale``: the joints' best-fit scale;
* ``rotation_and_scale``: both.

It also says whether the size error is a bias per person or frame-to-frame
noise (only noise would yield to holding one size per track).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from lihmr_ros.body.coco import COCO17_NAMES, mid_hip
from lihmr_ros.evaluation.metrics import METRES_TO_MM, procrustes_fit, root_aligned

SHOULDERS = (COCO17_NAMES.index("left_shoulder"), COCO17_NAMES.index("right_shoulder"))
CORRECTIONS: tuple[str, ...] = ("none", "heading", "tilt", "scale", "rotation", "rotation_and_scale")


@dataclass(frozen=True)
class SequenceBreakdown:
    """Per-frame MPVE (m) of one sequence under each correction, and its per-frame log size ratios."""

    mpve: dict[str, np.ndarray]
    """Correction name (:data:`CORRECTIONS`) -> (F,) mean vertex error of each frame."""
    log_size_ratio: np.ndarray
    """(F,) log of predicted / true RMS radius of the root-aligned mesh."""


def split_rotation(rotations: np.ndarray, axes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Swing-twist split of (F, 3, 3) rotations about unit ``axes`` (F, 3): (heading, tilt) matrices with
    rotation = tilt @ heading, heading about the axis, tilt perpendicular to it."""
    quaternions = Rotation.from_matrix(rotations).as_quat()  # x, y, z, w
    along = np.sum(quaternions[:, :3] * axes, axis=1, keepdims=True) * axes
    twist = np.concatenate([along, quaternions[:, 3:]], axis=1)
    norms = np.linalg.norm(twist, axis=1, keepdims=True)
    # A 180-degree tilt has no defined twist: take none.
    twist = np.where(norms > 1e-9, twist / np.maximum(norms, 1e-9), np.array([0.0, 0.0, 0.0, 1.0]))
    heading = Rotation.from_quat(twist)
    tilt = Rotation.from_matrix(rotations) * heading.inv()
    return heading.as_matrix(), tilt.as_matrix()


def breakdown_sequence(
    predicted_vertices: np.ndarray, predicted_joints: np.ndarray, true_vertices: np.ndarray, true_joints: np.ndarray
) -> SequenceBreakdown:
    """The breakdown over the frames given (all must hold a prediction and ground truth)."""
    predicted = root_aligned(np.asarray(predicted_vertices, np.float64), np.asarray(predicted_joints, np.float64))
    truth = root_aligned(np.asarray(true_vertices, np.float64), np.asarray(true_joints, np.float64))
    predicted_skeleton = root_aligned(np.asarray(predicted_joints, np.float64), np.asarray(predicted_joints))
    true_skeleton = root_aligned(np.asarray(true_joints, np.float64), np.asarray(true_joints))
    fit = procrustes_fit(predicted_skeleton, true_skeleton)
    up = true_skeleton[:, SHOULDERS].mean(axis=1) - mid_hip(true_skeleton)
    heading, tilt = split_rotation(fit.rotation, up / np.linalg.norm(up, axis=1, keepdims=True))

    def error(points: np.ndarray) -> np.ndarray:
        return np.linalg.norm(points - truth, axis=2).mean(axis=1)

    def rotated(rotations: np.ndarray) -> np.ndarray:
        return np.einsum("fij,fnj->fni", rotations, predicted)

    scale = fit.scale[:, None, None]
    mpve = {
        "none": error(predicted),
        "heading": error(rotated(heading)),
        "tilt": error(rotated(tilt)),
        "scale": error(scale * predicted),
        "rotation": error(rotated(fit.rotation)),
        "rotation_and_scale": error(scale * rotated(fit.rotation)),
    }

    def radius(points: np.ndarray) -> np.ndarray:
        return np.sqrt(np.mean(np.sum(points**2, axis=2), axis=1))

    return SequenceBreakdown(mpve, np.log(radius(predicted) / radius(truth)))


def summarise(sequences: list[SequenceBreakdown]) -> dict[str, float]:
    """Frame means in mm of every correction, and the size error's per-person bias against its noise."""
    if not sequences:
        raise ValueError("no sequence with a detected frame to break down")
    summary = {
        f"mpve_{name}": float(np.concatenate([s.mpve[name] for s in sequences]).mean() * METRES_TO_MM)
        for name in CORRECTIONS
    }
    summary["log_size_bias"] = float(np.mean([abs(s.log_size_ratio.mean()) for s in sequences]))
    summary["log_size_noise"] = float(np.mean([s.log_size_ratio.std() for s in sequences]))
    summary["frames"] = int(sum(len(s.log_size_ratio) for s in sequences))
    return summary
