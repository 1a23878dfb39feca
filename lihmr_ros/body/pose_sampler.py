"""Random, human-looking Anny poses for synthetic training data.

Anny has no pose prior and no joint limits, and its pose parameters are raw
per-bone 4x4 transforms, so uniformly random rotations give contortions.  This
module samples each major bone inside an anatomical range instead:

* Every posable bone gets three angles in a frame built from the reference
  skeleton: **forward** swings the bone's far end towards the front of the
  body, **outward** swings it away from the midline (lateral bending for spine
  and neck bones), **twist** turns it about its own axis.  Hinge joints (elbow)
  use the plane of the bend instead, so "forward" means "bend more".
* Ranges are written once per bone name for the left side and mirrored
  (reflection through the sagittal plane) for the right, so both sides are
  equally likely to do anything; left and right are still drawn independently.
* Each angle is drawn from a triangular distribution peaking at its most likely
  angle, then its deviation from there is scaled by a per-body "activity"
  factor, so calm poses are common and extreme ones rare.
* Independent legs often lift both thighs at once (a body "sitting on air");
  most of the time one leg is therefore picked as the standing leg and its
  angles are damped.
* Fingers, toes, eyes and twist-helper bones are left at the reference pose;
  the network never sees finger detail at the resolutions it works with.

Why ``local-ref``: Anny's default parameterisation expresses each delta in
world-aligned axes at the reference pose, carried along by the parent's
motion, so one frame per bone computed from the reference skeleton is valid
whatever the parents do.  Bone 0 is the global orientation about the root
head (at the origin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import numpy as np
import roma
import torch

if TYPE_CHECKING:
    from lihmr_ros.body.anny_model import AnnyBody
    from lihmr_ros.body.shape_sampler import AnnyShapeSampler

AxisRange = tuple[float, float, float]
"""(low, most likely, high) in degrees."""

ANNY_UP = np.array([0.0, 0.0, 1.0])
ANNY_FRONT = np.array([0.0, -1.0, 0.0])
SAGITTAL_MIRROR = np.diag([-1.0, 1.0, 1.0])
"""Reflection x -> -x in Anny axes (the body's left is +x)."""

SIDE_SUFFIXES = (".L", ".R")
LEG_BONES = ("upperleg01", "lowerleg01", "foot")


@dataclass(frozen=True)
class JointRange:
    """Angle ranges of one bone, in degrees, written for the left side or a central bone."""

    forward: AxisRange = (0.0, 0.0, 0.0)
    outward: AxisRange = (0.0, 0.0, 0.0)
    twist: AxisRange = (0.0, 0.0, 0.0)
    tip: str | None = None
    """Bone (base name) whose head sets this bone's axis; ``None`` for central bones (axis = up)."""
    hinge_parent: str | None = None
    """For hinge joints: the bone (base name) whose head, with this bone's and ``tip``'s, spans the bend plane."""

    def axes(self) -> tuple[AxisRange, AxisRange, AxisRange]:
        return (self.forward, self.outward, self.twist)


def _central(forward: AxisRange, sideways: float, twist: float) -> JointRange:
    return JointRange(forward=forward, outward=(-sideways, 0.0, sideways), twist=(-twist, 0.0, twist))


DEFAULT_JOINT_RANGES: Mapping[str, JointRange] = {
    # Trunk: spine05 sits at the hips and tilts the whole upper body; the
    # others split the spine's bend so the back curves instead of kinking.
    "spine05": _central((-10.0, 0.0, 25.0), 5.0, 5.0),
    "spine04": _central((-6.0, 0.0, 10.0), 5.0, 6.0),
    "spine03": _central((-6.0, 0.0, 10.0), 5.0, 6.0),
    "spine02": _central((-6.0, 0.0, 10.0), 5.0, 6.0),
    "spine01": _central((-6.0, 0.0, 10.0), 5.0, 6.0),
    "neck01": _central((-10.0, 0.0, 12.0), 8.0, 12.0),
    "neck02": _central((-10.0, 0.0, 12.0), 8.0, 12.0),
    "neck03": _central((-10.0, 0.0, 12.0), 8.0, 12.0),
    "head": _central((-15.0, 0.0, 20.0), 10.0, 25.0),
    # Arms. In the reference A-pose the upper arm hangs ~48 degrees below
    # horizontal and the elbow is already bent ~45 degrees forward.
    "clavicle": JointRange(forward=(-10.0, 0.0, 15.0), outward=(-8.0, 0.0, 20.0), tip="shoulder01"),
    "upperarm01": JointRange(
        forward=(-40.0, 0.0, 100.0), outward=(-42.0, -35.0, 110.0), twist=(-60.0, 0.0, 60.0), tip="lowerarm01"
    ),
    "lowerarm01": JointRange(forward=(-40.0, 0.0, 95.0), tip="wrist", hinge_parent="upperarm01"),
    "lowerarm02": JointRange(twist=(-60.0, 0.0, 60.0), tip="wrist"),
    "wrist": JointRange(forward=(-45.0, 0.0, 45.0), outward=(-20.0, 0.0, 20.0), tip="finger3-1"),
    # Legs: hip flexion forward, knee flexion backward (negative forward).
    "upperleg01": JointRange(
        forward=(-25.0, 0.0, 100.0), outward=(-15.0, 0.0, 40.0), twist=(-30.0, 0.0, 30.0), tip="lowerleg01"
    ),
    "lowerleg01": JointRange(forward=(-130.0, 0.0, 0.0), tip="foot"),
    "foot": JointRange(
        forward=(-35.0, 0.0, 20.0), outward=(-10.0, 0.0, 10.0), twist=(-10.0, 0.0, 10.0), tip="toe3-1"
    ),
}


def base_name(bone_label: str) -> str:
    """``upperarm01.L`` -> ``upperarm01``; central bones are returned unchanged."""
    for suffix in SIDE_SUFFIXES:
        if bone_label.endswith(suffix):
            return bone_label[: -len(suffix)]
    return bone_label


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    if norm < 1e-9:
        raise ValueError("degenerate bone frame: zero-length axis")
    return vector / norm


def bone_frame(joint: JointRange, label: str, heads: Mapping[str, np.ndarray]) -> np.ndarray:
    """(3, 3) rows = world axes of (forward, outward, twist) rotations for a left-side or central bone."""
    if joint.tip is None:
        twist_axis = ANNY_UP
    else:
        twist_axis = _unit(heads[_left(joint.tip)] - heads[label])
    if joint.hinge_parent is not None:
        upper = _unit(heads[label] - heads[_left(joint.hinge_parent)])
        forward_axis = _unit(np.cross(upper, twist_axis))
        outward_axis = np.cross(twist_axis, forward_axis)
        return np.stack([forward_axis, outward_axis, twist_axis])
    # Rotating about `outward_axis` (the front direction made orthogonal to the
    # bone) moves the tip away from the midline for left bones; rotating about
    # `forward_axis` moves the tip towards the front.
    outward_axis = _unit(ANNY_FRONT - np.dot(ANNY_FRONT, twist_axis) * twist_axis)
    forward_axis = np.cross(twist_axis, outward_axis)
    return np.stack([forward_axis, outward_axis, twist_axis])


def _left(name: str) -> str:
    return f"{name}.L"


def _axis_angle_matrices(axes: np.ndarray, angles_deg: np.ndarray) -> torch.Tensor:
    """Product R_forward @ R_outward @ R_twist for (n, 3) angles about the rows of ``axes``."""
    radians = torch.as_tensor(np.deg2rad(angles_deg), dtype=torch.float64)
    axes_t = torch.as_tensor(axes, dtype=torch.float64)
    rotations = [roma.rotvec_to_rotmat(radians[:, k, None] * axes_t[k]) for k in range(3)]
    return rotations[0] @ rotations[1] @ rotations[2]


class AnnyPoseSampler:
    """Samples (n, 104, 4, 4) ``local-ref`` poses for an :class:`AnnyBody`."""

    def __init__(
        self,
        body: "AnnyBody",
        joint_ranges: Mapping[str, JointRange] = DEFAULT_JOINT_RANGES,
        root_yaw_deg: tuple[float, float] = (-180.0, 180.0),
        root_tilt_deg: float = 10.0,
        activity: tuple[float, float] = (0.3, 1.0),
        standing_leg_probability: float = 0.7,
        standing_leg_scale: float = 0.25,
    ) -> None:
        """
        Args:
            body: the Anny body whose bones are posed (any topology: they share the rig).
            joint_ranges: per-bone ranges keyed by base name (see :data:`DEFAULT_JOINT_RANGES`).
            root_yaw_deg: range of the body's turn about the vertical axis.
            root_tilt_deg: maximum forward/backward and sideways lean of the whole body.
            activity: range of the per-body factor scaling every joint's deviation from its most likely angle.
            standing_leg_probability: chance that one random leg is a standing leg.
            standing_leg_scale: factor on the standing leg's angles (0 = straight, 1 = no damping).
        """
        if not 0.0 <= activity[0] <= activity[1]:
            raise ValueError(f"activity must satisfy 0 <= low <= high, got {activity}")
        if not (0.0 <= standing_leg_probability <= 1.0 and 0.0 <= standing_leg_scale <= 1.0):
            raise ValueError("standing_leg_probability and standing_leg_scale must lie in [0, 1]")
        self.body = body
        self.joint_ranges = dict(joint_ranges)
        self.root_yaw_deg = root_yaw_deg
        self.root_tilt_deg = root_tilt_deg
        self.activity = activity
        self.standing_leg_probability = standing_leg_probability
        self.standing_leg_scale = standing_leg_scale
        labels = body.bone_labels
        heads = dict(zip(labels, body.reference_bone_heads()))
        unknown = sorted(name for name in self.joint_ranges if name not in labels and _left(name) not in labels)
        if unknown:
            raise ValueError(f"joint ranges name bones Anny does not have: {unknown}")
        # One entry per posed bone, in model order (fixes the RNG draw order).
        self._posed: list[tuple[int, JointRange, np.ndarray, bool]] = []
        for index, label in enumerate(labels):
            joint = self.joint_ranges.get(base_name(label))
            if joint is None or index == 0:
                continue
            mirrored = label.endswith(".R")
            frame_label = _left(base_name(label)) if mirrored else label
            self._posed.append((index, joint, bone_frame(joint, frame_label, heads), mirrored))
        self._num_bones = len(labels)
        self._shape_sampler: "AnnyShapeSampler | None" = None

    @property
    def posed_bone_labels(self) -> tuple[str, ...]:
        """Bones that move; every other bone stays at the reference pose."""
        return tuple(self.body.bone_labels[index] for index, *_ in self._posed)

    def sample(self, rng: np.random.Generator, n: int) -> torch.Tensor:
        """``n`` random poses; the same generator state always gives the same poses."""
        rotations = np.tile(np.eye(3), (n, self._num_bones, 1, 1))
        rotations[:, 0] = self._root_rotations(rng, n)
        activity = rng.uniform(*self.activity, size=n)
        has_standing_leg = rng.uniform(size=n) < self.standing_leg_probability
        standing_side = np.where(rng.uniform(size=n) < 0.5, ".L", ".R")
        for index, joint, frame, mirrored in self._posed:
            label = self.body.bone_labels[index]
            scale = activity.copy()
            if base_name(label) in LEG_BONES:
                is_standing = has_standing_leg & (standing_side == label[-2:])
                scale[is_standing] *= self.standing_leg_scale
            modes = np.array([axis_range[1] for axis_range in joint.axes()])
            draws = np.stack([_draw_axis(rng, axis_range, n) for axis_range in joint.axes()], axis=1)
            angles = modes + (draws - modes) * scale[:, None]
            local = _axis_angle_matrices(frame, angles).numpy()
            rotations[:, index] = SAGITTAL_MIRROR @ local @ SAGITTAL_MIRROR if mirrored else local
        return self._transforms(rotations)

    def rotation_for(self, bone_label: str, angles_deg: tuple[float, float, float]) -> np.ndarray:
        """The (3, 3) delta rotation of one bone for (forward, outward, twist) angles; for tests and tools."""
        for index, _joint, frame, mirrored in self._posed:
            if self.body.bone_labels[index] == bone_label:
                local = _axis_angle_matrices(frame, np.asarray([angles_deg], dtype=np.float64)).numpy()[0]
                return SAGITTAL_MIRROR @ local @ SAGITTAL_MIRROR if mirrored else local
        raise KeyError(f"bone '{bone_label}' is not posed by this sampler")

    def sample_shapes(self, rng: np.random.Generator, n: int) -> torch.Tensor:
        """(n, 6) realistic phenotypes (see :class:`lihmr_ros.body.shape_sampler.AnnyShapeSampler`)."""
        if self._shape_sampler is None:
            from lihmr_ros.body.shape_sampler import AnnyShapeSampler

            self._shape_sampler = AnnyShapeSampler(self.body)
        return self._shape_sampler.sample(rng, n)

    def _root_rotations(self, rng: np.random.Generator, n: int) -> np.ndarray:
        yaw = rng.uniform(*self.root_yaw_deg, size=n)
        tilt = rng.uniform(-self.root_tilt_deg, self.root_tilt_deg, size=(n, 2))
        # Lean about the lateral (x) and frontal (y) axes, then turn about the vertical.
        axes = np.stack([ANNY_UP, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])])
        return _axis_angle_matrices(axes, np.concatenate([yaw[:, None], tilt], axis=1)).numpy()

    def _transforms(self, rotations: np.ndarray) -> torch.Tensor:
        n = rotations.shape[0]
        transforms = np.tile(np.eye(4), (n, self._num_bones, 1, 1))
        transforms[..., :3, :3] = rotations
        return torch.as_tensor(transforms, dtype=self.body.dtype)


def _draw_axis(rng: np.random.Generator, axis_range: AxisRange, n: int) -> np.ndarray:
    low, mode, high = axis_range
    if not low <= mode <= high:
        raise ValueError(f"axis range must satisfy low <= mode <= high, got {axis_range}")
    if high == low:
        return np.full(n, float(mode))
    return rng.triangular(low, mode, high, size=n)


def interpolate(pose_a: torch.Tensor, pose_b: torch.Tensor, alpha: float | torch.Tensor) -> torch.Tensor:
    """Blend two (..., 104, 4, 4) poses: per-bone geodesic slerp of rotations, linear translations.

    ``alpha`` is 0 for ``pose_a`` and 1 for ``pose_b``; a tensor of shape
    (B,) blends each batch item by its own amount, so a smooth sequence is
    ``interpolate(a.expand(T, ...), b.expand(T, ...), torch.linspace(0, 1, T))``.
    """
    if pose_a.shape != pose_b.shape or pose_a.shape[-2:] != (4, 4):
        raise ValueError(f"poses must share a (..., 4, 4) shape, got {tuple(pose_a.shape)} and {tuple(pose_b.shape)}")
    alpha = torch.as_tensor(alpha, dtype=pose_a.dtype, device=pose_a.device)
    if alpha.ndim > 1 or (alpha.ndim == 1 and pose_a.ndim < 4):
        raise ValueError(f"alpha must be a scalar or a (B,) tensor for (B, bones, 4, 4) poses, got {tuple(alpha.shape)}")
    # (B,) -> (B, 1, 1) so it broadcasts over bones and the 3 vector components.
    alpha = alpha.reshape(alpha.shape + (1,) * (3 - alpha.ndim)) if alpha.ndim else alpha
    rot_a, rot_b = pose_a[..., :3, :3], pose_b[..., :3, :3]
    relative = roma.rotmat_to_rotvec(rot_a.transpose(-1, -2) @ rot_b)
    blended = rot_a @ roma.rotvec_to_rotmat(relative * alpha)
    result = pose_a.clone()
    result[..., :3, :3] = blended
    result[..., :3, 3] = (1 - alpha) * pose_a[..., :3, 3] + alpha * pose_b[..., :3, 3]
    return result
