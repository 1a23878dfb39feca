"""Mesh-recovery error metrics in millimetres (numpy, no torch).

Definitions follow the usual HMR benchmarks so numbers compare with the
literature, with the root being this package's mid-hip (mean of COCO joints
11 and 12):

* **MPJPE / MPVE**: mean Euclidean joint / vertex error after moving each
  body's own mid-hip to the origin; translation errors are the placement
  stage's business and are not mixed into pose accuracy.
* **PA-MPJPE / PA-MPVE**: after the similarity transform (rotation,
  translation, scale) that best fits the prediction to the ground truth,
  per frame; what is left is articulation and shape error.
* **Acceleration error**: mean norm of the difference between predicted and
  true second differences of the root-aligned joints (mm/frame^2), only over
  triples of consecutive frames that all have a prediction and ground truth,
  because a gap would fake a jump.
* **Orientation and size errors**, the two global parts that MPJPE/MPVE hold
  and PA-MPJPE removes (a robot acting on the body cares which way it faces and
  how big it is): the angle of the joints' Procrustes rotation (degrees; median
  and 90th percentile over frames) and the mean absolute relative error of the
  body's size, |predicted / true - 1|, with size measured by the Procrustes scale;
  and the median predicted / true size, whose sign the mean error hides: above 1
  bodies come out too big, below 1 too small.
* **Root error**: mean distance between the predicted and the true mid-hip in
  the camera frame (mm), i.e. where the placement put the person, which is what
  collision avoidance and hand-over act on.  Only meaningful for placed
  predictions (``lihmr eval``); root-relative predictions measure nothing here.

Frames whose ground truth holds NaN (person not visible) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lihmr_ros.body.coco import mid_hip

METRES_TO_MM = 1000.0


def root_aligned(points: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """``points`` (..., N, 3) moved so that the mid-hip of ``joints`` (..., 17, 3) is at the origin."""
    return points - mid_hip(joints)[..., None, :]


@dataclass(frozen=True)
class SimilarityFit:
    """Per-frame similarity transforms mapping predicted points onto target points: scale * R @ (p - mu_p) + mu_t."""

    scale: np.ndarray
    """(F,) scale factors (true size / predicted size)."""
    rotation: np.ndarray
    """(F, 3, 3) proper rotations (no reflection)."""
    predicted_mean: np.ndarray
    """(F, 1, 3) centroid of the predicted points."""
    target_mean: np.ndarray
    """(F, 1, 3) centroid of the target points."""

    def apply(self, predicted: np.ndarray) -> np.ndarray:
        """(F, N, 3) predicted points mapped onto the targets they were fitted to."""
        centred = np.asarray(predicted, dtype=np.float64) - self.predicted_mean
        return self.scale[:, None, None] * np.einsum("fij,fnj->fni", self.rotation, centred) + self.target_mean

    def rotation_degrees(self) -> np.ndarray:
        """(F,) angle of each rotation: how far the predicted global orientation is off."""
        cosine = (np.trace(self.rotation, axis1=1, axis2=2) - 1.0) / 2.0
        return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def procrustes_fit(predicted: np.ndarray, target: np.ndarray) -> SimilarityFit:
    """Per-frame similarity transform that best fits ``predicted`` (F, N, 3) to ``target``.

    Umeyama's closed form: centre both point sets, take the SVD of their
    cross-covariance, fix a reflection by flipping the smallest singular
    direction, and scale by the ratio of explained to predicted variance.
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if predicted.shape != target.shape or predicted.ndim != 3 or predicted.shape[-1] != 3:
        raise ValueError(f"procrustes needs two (F, N, 3) arrays of equal shape, got {predicted.shape}, {target.shape}")
    predicted_mean = predicted.mean(axis=1, keepdims=True)
    target_mean = target.mean(axis=1, keepdims=True)
    p, t = predicted - predicted_mean, target - target_mean
    covariance = np.einsum("fni,fnj->fij", t, p)  # (F, 3, 3), target x predicted
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(u @ vt))
    correction = np.ones_like(singular)
    correction[:, -1] = sign
    rotation = u @ (correction[:, :, None] * vt)
    variance = np.maximum((p**2).sum(axis=(1, 2)), 1e-12)
    scale = (singular * correction).sum(axis=1) / variance
    return SimilarityFit(scale, rotation, predicted_mean, target_mean)


def procrustes_aligned(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``predicted`` (F, N, 3) mapped by the per-frame similarity transform that best fits ``target``."""
    return procrustes_fit(predicted, target).apply(predicted)


def point_errors_mm(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(F, N) Euclidean distances in millimetres."""
    return METRES_TO_MM * np.linalg.norm(np.asarray(predicted) - np.asarray(target), axis=-1)


def acceleration_errors_mm(predicted_joints: np.ndarray, target_joints: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(M,) per-triple acceleration errors (mm/frame^2) of root-aligned joints over consecutive usable frames.

    ``predicted_joints`` / ``target_joints`` are (F, 17, 3) over ALL frames of a
    sequence in time order (rows of unusable frames are ignored), ``usable``
    is (F,) bool.
    """
    usable = np.asarray(usable, dtype=bool)
    if usable.shape[0] < 3:
        return np.zeros(0)
    centre = usable[1:-1] & usable[:-2] & usable[2:]
    if not centre.any():
        return np.zeros(0)
    predicted = np.where(usable[:, None, None], root_aligned(predicted_joints, predicted_joints), 0.0)
    target = np.where(usable[:, None, None], root_aligned(target_joints, target_joints), 0.0)
    predicted_accel = predicted[2:] - 2.0 * predicted[1:-1] + predicted[:-2]
    target_accel = target[2:] - 2.0 * target[1:-1] + target[:-2]
    return point_errors_mm(predicted_accel[centre], target_accel[centre]).mean(axis=-1)


@dataclass
class MetricAccumulator:
    """Pools per-frame errors over sequences; every metric is a mean over frames (or frame triples).

    Pooling per frame (not per sequence) keeps long and short sequences
    weighted by what they contain, as benchmark tables do.
    """

    visible_frames: int = 0
    detected_frames: int = 0

    def __post_init__(self) -> None:
        self._joint_errors: list[np.ndarray] = []
        self._pa_joint_errors: list[np.ndarray] = []
        self._vertex_errors: list[np.ndarray] = []
        self._pa_vertex_errors: list[np.ndarray] = []
        self._accel_errors: list[np.ndarray] = []
        self._orientation_errors: list[np.ndarray] = []
        self._size_ratios: list[np.ndarray] = []
        self._root_errors: list[np.ndarray] = []

    def add_sequence(
        self,
        predicted_joints: np.ndarray,
        target_joints: np.ndarray,
        detected: np.ndarray,
        predicted_vertices: np.ndarray | None = None,
        target_vertices: np.ndarray | None = None,
    ) -> None:
        """One sequence, all frames in time order.

        ``predicted_joints`` / ``target_joints`` (F, 17, 3) metres; ``detected``
        (F,) bool says which predicted rows are real (others may hold
        anything); target rows holding NaN are frames without a visible
        person.  Vertices (F, V, 3) are optional (MPVE stays undefined
        without them).
        """
        target_joints = np.asarray(target_joints, dtype=np.float64)
        predicted_joints = np.asarray(predicted_joints, dtype=np.float64)
        detected = np.asarray(detected, dtype=bool)
        frames = target_joints.shape[0]
        if predicted_joints.shape != target_joints.shape or detected.shape != (frames,):
            raise ValueError(
                f"predicted joints {predicted_joints.shape}, target joints {target_joints.shape} and detected "
                f"{detected.shape} must describe the same frames"
            )
        visible = np.isfinite(target_joints).all(axis=(1, 2))
        if target_vertices is not None:
            visible &= np.isfinite(target_vertices).all(axis=(1, 2))
        usable = visible & detected
        if usable.any() and not np.isfinite(predicted_joints[usable]).all():
            raise ValueError("predicted joints hold NaN or inf on frames marked as detected")
        self.visible_frames += int(visible.sum())
        self.detected_frames += int(usable.sum())
        if not usable.any():
            return
        predicted = root_aligned(predicted_joints[usable], predicted_joints[usable])
        target = root_aligned(target_joints[usable], target_joints[usable])
        fit = procrustes_fit(predicted, target)
        self._joint_errors.append(point_errors_mm(predicted, target).mean(axis=1))
        self._pa_joint_errors.append(point_errors_mm(fit.apply(predicted), target).mean(axis=1))
        self._orientation_errors.append(fit.rotation_degrees())
        self._size_ratios.append(1.0 / np.maximum(fit.scale, 1e-12))
        self._root_errors.append(
            point_errors_mm(mid_hip(predicted_joints[usable]), mid_hip(target_joints[usable]))
        )
        self._accel_errors.append(acceleration_errors_mm(predicted_joints, target_joints, usable))
        if predicted_vertices is not None and target_vertices is not None:
            self._add_vertices(predicted_vertices, target_vertices, predicted_joints, target_joints, usable)

    def _add_vertices(
        self,
        predicted_vertices: np.ndarray,
        target_vertices: np.ndarray,
        predicted_joints: np.ndarray,
        target_joints: np.ndarray,
        usable: np.ndarray,
    ) -> None:
        if np.shape(predicted_vertices) != np.shape(target_vertices):
            raise ValueError(
                f"predicted vertices {np.shape(predicted_vertices)} and ground-truth vertices "
                f"{np.shape(target_vertices)} differ: the network's body model topology must match the ground truth"
            )
        predicted = root_aligned(np.asarray(predicted_vertices, dtype=np.float64)[usable], predicted_joints[usable])
        target = root_aligned(np.asarray(target_vertices, dtype=np.float64)[usable], target_joints[usable])
        self._vertex_errors.append(point_errors_mm(predicted, target).mean(axis=1))
        self._pa_vertex_errors.append(point_errors_mm(procrustes_aligned(predicted, target), target).mean(axis=1))

    def summary(self) -> dict[str, float | int]:
        """``mpjpe``, ``pa_mpjpe``, ``mpve``, ``pa_mpve``, ``accel``, ``orientation_deg``,
        ``orientation_deg_p90``, ``size_error``, ``size_ratio_median``, ``root_error`` (NaN when undefined),
        ``detected_fraction`` and ``frames`` (frames with a visible person)."""
        size_ratios = _pooled(self._size_ratios)
        return {
            "mpjpe": _mean(self._joint_errors),
            "pa_mpjpe": _mean(self._pa_joint_errors),
            "mpve": _mean(self._vertex_errors),
            "pa_mpve": _mean(self._pa_vertex_errors),
            "accel": _mean(self._accel_errors),
            "orientation_deg": _percentile(self._orientation_errors, 50),
            "orientation_deg_p90": _percentile(self._orientation_errors, 90),
            "size_error": float(np.abs(size_ratios - 1.0).mean()) if size_ratios.size else float("nan"),
            "size_ratio_median": float(np.median(size_ratios)) if size_ratios.size else float("nan"),
            "root_error": _mean(self._root_errors),
            "detected_fraction": self.detected_frames / self.visible_frames if self.visible_frames else float("nan"),
            "frames": self.visible_frames,
        }


def _pooled(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def _mean(parts: list[np.ndarray]) -> float:
    values = _pooled(parts)
    return float(values.mean()) if values.size else float("nan")


def _percentile(parts: list[np.ndarray], percent: float) -> float:
    values = _pooled(parts)
    return float(np.percentile(values, percent)) if values.size else float("nan")
