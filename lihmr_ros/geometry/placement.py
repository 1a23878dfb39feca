"""Where a person is: the camera-frame translation of a root-relative 3D body.

The network predicts joints relative to the root (mid-hip); the 2D keypoints
say where the body appears in the image.  With the intrinsics K, the root
translation ``t`` is the one for which ``K (J + t)`` reprojects onto the
keypoints:

1. **Linear start.**  For each joint ``u = fx (X + tx) / (Z + tz) + cx`` is
   linear in ``t`` once multiplied out: ``fx tx - (u - cx) tz = (u - cx) Z - fx X``
   (same for ``v``).  A confidence-weighted least-squares solve of these
   2N equations is the classic weak-to-full perspective fit.
2. **Gauss-Newton refinement** of the true reprojection error in pixels (the
   linear form weights joints by their depth), with Huber weights so a few
   wrong keypoints cannot drag the body, stopping when the step is below
   a micrometre.
3. **Box prior fallback** when fewer than ``min_joints`` keypoints are
   confident (heavy occlusion): the distance comes from how large the person's
   box is compared with the body's size, the direction from the box centre.

Keypoints below ``min_confidence`` are ignored; the others are weighted by
their confidence.  Everything is in the camera optical frame (x right,
y down, z forward), metres and pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lihmr_ros.body.coco import NUM_COCO17
from lihmr_ros.geometry.intrinsics import CameraIntrinsics


class PlacementError(ValueError):
    """The inputs cannot place the body (too few keypoints and no box, degenerate geometry...)."""


@dataclass(frozen=True)
class PlacementConfig:
    """Settings of :func:`place_root`."""

    min_confidence: float = 0.3
    """Keypoints below this confidence are not used."""
    min_joints: int = 4
    """Fewest confident keypoints for the keypoint fit (3 unknowns, 2 equations each; 4 gives redundancy)."""
    iterations: int = 10
    """Most Gauss-Newton steps (it typically converges in 3-4)."""
    huber_fraction: float = 0.05
    """Residuals beyond this fraction of the keypoints' spread (in px) are down-weighted."""
    min_depth: float = 0.05
    """Metres; a solution putting a joint nearer than this (or behind the camera) is rejected."""
    box_to_joint_span: float = 1.1
    """Box prior: person box size / 2D span of the COCO joints.  A detector box covers the head top and
    the soles, which the joints (eyes, ankles) stop short of; use 1.0 for boxes tight around keypoints."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must lie in [0, 1], got {self.min_confidence}")
        if self.min_joints < 2:
            raise ValueError(f"min_joints must be >= 2 (3 unknowns, 2 equations per joint), got {self.min_joints}")
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")
        if not self.huber_fraction > 0.0:
            raise ValueError(f"huber_fraction must be positive, got {self.huber_fraction}")
        if not self.box_to_joint_span > 0.0:
            raise ValueError(f"box_to_joint_span must be positive, got {self.box_to_joint_span}")


@dataclass(frozen=True)
class RootPlacement:
    """The solved root translation and how far it can be trusted."""

    translation: np.ndarray
    """(3,) float64 root position in the camera frame, metres."""
    root_is_metric: bool
    """False when the intrinsics were assumed: direction is right, distance is a guess."""
    method: str
    """``"keypoints"`` (reprojection fit) or ``"box_prior"`` (size fallback)."""
    num_joints: int
    """Confident keypoints that took part."""
    reprojection_rms_px: float
    """RMS reprojection error over the confident keypoints; NaN when there are none."""


def _check_inputs(joints: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    joints = np.asarray(joints, dtype=np.float64)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if joints.shape != (NUM_COCO17, 3):
        raise PlacementError(f"joints must be ({NUM_COCO17}, 3) root-relative metres, got {joints.shape}")
    if keypoints.shape != (NUM_COCO17, 3):
        raise PlacementError(f"keypoints must be ({NUM_COCO17}, 3) as (x px, y px, confidence), got {keypoints.shape}")
    if not np.all(np.isfinite(joints)):
        raise PlacementError("joints contain NaN or infinity")
    if not np.all(np.isfinite(keypoints)):
        raise PlacementError("keypoints contain NaN or infinity; give unseen joints confidence 0 instead")
    return joints, keypoints


def _linear_solve(joints: np.ndarray, uv: np.ndarray, weights: np.ndarray, camera: CameraIntrinsics) -> np.ndarray:
    du, dv = uv[:, 0] - camera.cx, uv[:, 1] - camera.cy
    zeros = np.zeros_like(du)
    rows_u = np.stack([np.full_like(du, camera.fx), zeros, -du], axis=1)
    rows_v = np.stack([zeros, np.full_like(dv, camera.fy), -dv], axis=1)
    rhs_u = du * joints[:, 2] - camera.fx * joints[:, 0]
    rhs_v = dv * joints[:, 2] - camera.fy * joints[:, 1]
    root_weights = np.sqrt(np.concatenate([weights, weights]))
    matrix = np.concatenate([rows_u, rows_v]) * root_weights[:, None]
    rhs = np.concatenate([rhs_u, rhs_v]) * root_weights
    solution, _, rank, _ = np.linalg.lstsq(matrix, rhs, rcond=None)
    if rank < 3:
        raise PlacementError("the confident keypoints do not constrain the translation (they coincide)")
    return solution


def _reprojection_residuals(
    joints: np.ndarray, uv: np.ndarray, translation: np.ndarray, camera: CameraIntrinsics
) -> np.ndarray:
    return camera.project(joints + translation) - uv


def _refine(
    joints: np.ndarray,
    uv: np.ndarray,
    weights: np.ndarray,
    translation: np.ndarray,
    camera: CameraIntrinsics,
    config: PlacementConfig,
) -> np.ndarray:
    spread = float(np.hypot(*(uv.max(axis=0) - uv.min(axis=0))))
    huber_px = max(config.huber_fraction * spread, 1.0)
    for _ in range(config.iterations):
        points = joints + translation
        depth = points[:, 2]
        if np.any(depth <= config.min_depth):
            raise PlacementError("the fit puts the body behind or at the camera: keypoints and joints disagree")
        residuals = camera.project(points) - uv
        norms = np.linalg.norm(residuals, axis=1)
        robust = np.where(norms <= huber_px, 1.0, huber_px / np.maximum(norms, 1e-12))
        w = weights * robust
        jac_u = np.stack([camera.fx / depth, np.zeros_like(depth), -camera.fx * points[:, 0] / depth**2], axis=1)
        jac_v = np.stack([np.zeros_like(depth), camera.fy / depth, -camera.fy * points[:, 1] / depth**2], axis=1)
        hessian = (jac_u.T * w) @ jac_u + (jac_v.T * w) @ jac_v
        gradient = (jac_u.T * w) @ residuals[:, 0] + (jac_v.T * w) @ residuals[:, 1]
        step = np.linalg.solve(hessian, -gradient)
        translation = translation + step
        if np.linalg.norm(step) < 1e-6:
            break
    return translation


def _box_prior(joints: np.ndarray, box: np.ndarray, camera: CameraIntrinsics, config: PlacementConfig) -> np.ndarray:
    box = np.asarray(box, dtype=np.float64).reshape(-1)
    if box.shape != (4,) or not np.all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
        raise PlacementError(f"box must be finite (x0, y0, x1, y1) with positive size, got {box.tolist()}")
    lower, upper = joints.min(axis=0), joints.max(axis=0)
    span_m = float(np.hypot(*(upper - lower)[:2])) * config.box_to_joint_span
    if span_m <= 0.0:
        raise PlacementError("the joints have no extent in the image plane; cannot size them against the box")
    # The box diagonal in normalised image coordinates (metres per metre of depth).
    span_normalised = float(np.hypot((box[2] - box[0]) / camera.fx, (box[3] - box[1]) / camera.fy))
    body_centre = 0.5 * (lower + upper)
    centre_depth = span_m / span_normalised
    box_centre_x = (0.5 * (box[0] + box[2]) - camera.cx) / camera.fx
    box_centre_y = (0.5 * (box[1] + box[3]) - camera.cy) / camera.fy
    return np.array(
        [
            box_centre_x * centre_depth - body_centre[0],
            box_centre_y * centre_depth - body_centre[1],
            centre_depth - body_centre[2],
        ]
    )


def _rms(joints: np.ndarray, uv: np.ndarray, translation: np.ndarray, camera: CameraIntrinsics) -> float:
    if len(uv) == 0:
        return float("nan")
    residuals = _reprojection_residuals(joints, uv, translation, camera)
    return float(np.sqrt(np.mean(np.sum(residuals**2, axis=1))))


def place_root(
    joints: np.ndarray,
    keypoints: np.ndarray,
    camera: CameraIntrinsics,
    box: np.ndarray | None = None,
    config: PlacementConfig = PlacementConfig(),
) -> RootPlacement:
    """Solve the root translation of one person.

    ``joints``: (17, 3) root-relative COCO-17 joints in camera axes (metres).
    ``keypoints``: (17, 3) the same person's ``(x px, y px, confidence)``.
    ``box``: the person's ``(x0, y0, x1, y1)`` box in pixels, used only when
    too few keypoints are confident (without it that case raises
    :class:`PlacementError`).
    """
    joints, keypoints = _check_inputs(joints, keypoints)
    confident = keypoints[:, 2] >= config.min_confidence
    used_joints, uv, weights = joints[confident], keypoints[confident, :2], keypoints[confident, 2]
    count = int(confident.sum())
    if count >= config.min_joints:
        try:
            translation = _linear_solve(used_joints, uv, weights, camera)
            translation = _refine(used_joints, uv, weights, translation, camera, config)
        except (PlacementError, np.linalg.LinAlgError) as error:
            if box is None:
                raise PlacementError(f"keypoint fit failed ({error}) and no box was given to fall back on") from error
        else:
            return RootPlacement(
                translation=translation,
                root_is_metric=not camera.is_assumed,
                method="keypoints",
                num_joints=count,
                reprojection_rms_px=_rms(used_joints, uv, translation, camera),
            )
    elif box is None:
        raise PlacementError(
            f"only {count} keypoints have confidence >= {config.min_confidence} (need {config.min_joints}); "
            "pass the person's box to place them by its size instead"
        )
    translation = _box_prior(joints, box, camera, config)
    return RootPlacement(
        translation=translation,
        root_is_metric=not camera.is_assumed,
        method="box_prior",
        num_joints=count,
        reprojection_rms_px=_rms(used_joints, uv, translation, camera),
    )
