"""Metric body size from the floor: people stand on it, and a robot knows where it is.

From one image a body's absolute size is ambiguous: a child near the camera and
an adult farther away project alike, and the network can only guess size from
proportions and its training prior (it regresses towards the mean person). A
robot, however, knows its camera's height above the floor and its pitch. If
the person stands on that floor, the ray through their lowest point must end on
it, and that fixes the scale.

Scaling a placed body about the camera centre by ``s`` moves every point along
its own ray, so the reprojection the placement solved for is unchanged; only
size and distance change together. The ``s`` that puts the body's lowest vertex
on the floor is ``camera_height / drop`` where ``drop`` is how far that vertex
lies below the camera (measured along the floor normal).

How far to trust the floor depends on the geometry. An error of ``delta``
radians in the camera's pitch tilts the floor, and at a point seen at a
grazing angle ``theta`` (between its ray and the floor) that shifts the scale
by about ``delta / tan(theta)``: a 1 degree error is 7 % for a person 5 m from
a camera 1.2 m up. A few centimetres of error in the predicted feet weigh
``foot / camera_height``. Each frame's floor scale is therefore fused with the
network's own size (scale 1) by inverse variance in log space: near people
seen from above follow the floor, far people on a grazing ray keep more of
the network's guess.

A single frame's estimate is only as good as the predicted feet, and a
person's size does not change while the network's guess of it wobbles from
frame to frame, so :class:`GroundScaler` turns each frame's estimate into the
person's true skeleton size (frame scale x predicted limb length), keeps each
track's recent values and scales every frame to their median: a jump or a
mispredicted foot is an outlier, and the body keeps one size over time. A
frame contributes only when an ankle is detected (a foot out of frame is
extrapolated, not seen), and none does when the camera sits near foot level.
People who are not on the floor (stairs, feet up on a chair) break the
assumption; the clamp limits the damage.

Frames: the camera optical frame (x right, y down, z forward), metres.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lihmr_ros.body.coco import COCO17_SKELETON

BODY_EDGES: tuple[tuple[int, int], ...] = COCO17_SKELETON[:12]
"""Limb and torso edges of the COCO skeleton (the face edges are short and noisy): their summed length
is the pose-independent body size the scaler keeps constant per track."""
_EDGE_STARTS, _EDGE_ENDS = (list(ends) for ends in zip(*BODY_EDGES))

ANKLES: tuple[int, int] = (15, 16)
"""COCO-17 indices of the left and right ankle."""

LEVEL_UP = np.array([0.0, -1.0, 0.0])
"""Up in the optical frame of a level camera (y points down); also the up of a y-down world."""


def look_rotation(pitch: float, roll: float) -> np.ndarray:
    """World-to-camera rotation of a camera facing +z, pitched down by ``pitch`` and rolled by ``roll`` (radians)."""
    cp, sp = np.cos(pitch), np.sin(pitch)
    pitch_rows = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    cr, sr = np.cos(roll), np.sin(roll)
    roll_rows = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return roll_rows @ pitch_rows


@dataclass(frozen=True)
class GroundPlane:
    """The floor, seen from the camera: an upward unit normal and the camera's height above it."""

    normal: np.ndarray
    """(3,) unit vector in the camera optical frame pointing away from the floor (up)."""
    camera_height: float
    """Metres from the floor up to the camera centre (> 0)."""

    def __post_init__(self) -> None:
        normal = np.asarray(self.normal, dtype=np.float64).reshape(-1)
        if normal.shape != (3,) or not np.all(np.isfinite(normal)):
            raise ValueError(f"the floor normal must be 3 finite numbers, got {np.asarray(self.normal).tolist()}")
        length = float(np.linalg.norm(normal))
        if abs(length - 1.0) > 1e-3:
            raise ValueError(f"the floor normal must be a unit vector, got length {length:.4f}")
        if not (np.isfinite(self.camera_height) and self.camera_height > 0.0):
            raise ValueError(f"the camera height above the floor must be positive metres, got {self.camera_height}")
        object.__setattr__(self, "normal", normal / length)
        object.__setattr__(self, "camera_height", float(self.camera_height))

    @classmethod
    def from_camera_pose(cls, height_m: float, pitch_deg: float, roll_deg: float = 0.0) -> "GroundPlane":
        """The floor under a camera ``height_m`` above it, pitched down by ``pitch_deg`` (negative: up)
        and rolled by ``roll_deg`` about its optical axis (positive: upright people lean right in the image)."""
        return cls(look_rotation(np.radians(pitch_deg), np.radians(roll_deg)) @ LEVEL_UP, height_m)

    @classmethod
    def from_floor_pose(cls, rotation: np.ndarray, translation: np.ndarray) -> "GroundPlane":
        """The floor of a frame whose z axis points up and whose z = 0 plane is the floor (a robot's
        ``base_footprint``), given that frame's pose in the camera optical frame (as a TF lookup of the floor
        frame into the camera frame returns it): ``rotation`` (3, 3) and ``translation`` (3,)."""
        rotation = np.asarray(rotation, dtype=np.float64)
        translation = np.asarray(translation, dtype=np.float64).reshape(-1)
        if rotation.shape != (3, 3) or translation.shape != (3,):
            raise ValueError(
                f"need a (3, 3) rotation and a (3,) translation, got {rotation.shape}, {translation.shape}"
            )
        normal = rotation[:, 2]
        height = -float(normal @ translation)
        if not height > 0.0:
            raise ValueError(
                f"the camera is {height:.3f} m above that floor frame: it must be above it (wrong frame, or the "
                "frame's z axis does not point up)"
            )
        return cls(normal, height)

    def heights(self, points: np.ndarray) -> np.ndarray:
        """Signed heights above the floor of (..., 3) camera-frame points, metres."""
        return np.asarray(points, dtype=np.float64) @ self.normal + self.camera_height

    def to_json(self) -> dict[str, object]:
        """The form ``camera.json`` of the evaluation layout stores under ``"ground"``."""
        return {"normal": [float(value) for value in self.normal], "camera_height": self.camera_height}

    @classmethod
    def from_json(cls, value: object) -> "GroundPlane":
        """Inverse of :meth:`to_json` (raises ValueError naming what is wrong)."""
        if not isinstance(value, dict) or set(value) != {"normal", "camera_height"}:
            raise ValueError(f'"ground" must be {{"normal": [x, y, z], "camera_height": metres}}, got {value!r}')
        return cls(np.asarray(value["normal"], dtype=np.float64), float(value["camera_height"]))


def rotation_from_quaternion(x: float, y: float, z: float, w: float) -> np.ndarray:
    """(3, 3) rotation of a unit quaternion in ROS order (x, y, z, w); normalised first, as TF's are not exact."""
    q = np.array([x, y, z, w], dtype=np.float64)
    length = float(np.linalg.norm(q))
    if not np.isfinite(length) or length < 1e-9:
        raise ValueError(f"not a rotation quaternion: {q.tolist()}")
    x, y, z, w = q / length
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def skeleton_size(joints: np.ndarray) -> float:
    """Summed length of the :data:`BODY_EDGES` of (17, 3) joints, metres."""
    joints = np.asarray(joints, dtype=np.float64)
    return float(np.linalg.norm(joints[_EDGE_STARTS] - joints[_EDGE_ENDS], axis=1).sum())


@dataclass(frozen=True)
class FloorContact:
    """Where a placed body meets the floor."""

    scale: float
    """Factor that scales the body about the camera until its lowest point touches the floor."""
    grazing_angle: float
    """Radians between the ray to that lowest point and the floor (small: far away, or a low camera)."""


def floor_contact(vertices: np.ndarray, plane: GroundPlane) -> FloorContact | None:
    """The floor contact of placed ``vertices`` (V, 3); None when no vertex lies below the camera (the floor
    is not under the body)."""
    vertices = np.asarray(vertices, dtype=np.float64)
    heights = vertices @ plane.normal
    lowest = int(np.argmin(heights))
    drop = -float(heights[lowest])
    if drop <= 0.0:
        return None
    distance = float(np.linalg.norm(vertices[lowest]))
    return FloorContact(plane.camera_height / drop, float(np.arcsin(min(drop / distance, 1.0))))


@dataclass(frozen=True)
class GroundScaleConfig:
    """Settings of :class:`GroundScaler`."""

    history: int = 30
    """Most recent per-frame size estimates of a track whose median is applied (1: each frame on its own)."""
    min_camera_height: float = 0.5
    """Metres; below it the floor does not set sizes at all: with the camera near foot level a few
    centimetres of error in the predicted feet become a large error in the ratio."""
    min_ankle_confidence: float = 0.5
    """A frame counts only if an ankle keypoint is at least this confident (the foot is seen)."""
    min_scale: float = 0.6
    max_scale: float = 1.6
    """Estimates outside this range (a person off the floor, a wrong floor) are clamped to it."""
    pitch_uncertainty_deg: float = 1.0
    """How well the camera's pitch (the floor's tilt) is known, degrees (one standard deviation)."""
    foot_uncertainty_m: float = 0.04
    """How far the predicted lowest point of a standing person may be from the floor, metres."""
    network_size_uncertainty: float = 0.08
    """Relative error of the network's own size guess (the model card's size error, as a deviation)."""

    def __post_init__(self) -> None:
        if self.history < 1:
            raise ValueError(f"history must be >= 1 frame, got {self.history}")
        if self.min_camera_height < 0.0:
            raise ValueError(f"min_camera_height must be >= 0 metres, got {self.min_camera_height}")
        if not 0.0 <= self.min_ankle_confidence <= 1.0:
            raise ValueError(f"min_ankle_confidence must lie in [0, 1], got {self.min_ankle_confidence}")
        if not 0.0 < self.min_scale <= 1.0 <= self.max_scale:
            raise ValueError(f"need 0 < min_scale <= 1 <= max_scale, got {self.min_scale}, {self.max_scale}")
        if self.pitch_uncertainty_deg < 0.0 or self.foot_uncertainty_m < 0.0:
            raise ValueError(
                "pitch_uncertainty_deg and foot_uncertainty_m must be >= 0, got "
                f"{self.pitch_uncertainty_deg}, {self.foot_uncertainty_m}"
            )
        if not self.network_size_uncertainty > 0.0:
            raise ValueError(f"network_size_uncertainty must be positive, got {self.network_size_uncertainty}")

    def at_limit(self, scale: float) -> bool:
        """Whether an applied ``scale`` sits at the clamp (within 1 %: frames clamped earlier in a track's
        history come back through its median at nearly the bound): the floor and the body disagree by more
        than the clamp allows, which on a robot usually means a wrong ``camera_height`` or pitch."""
        return scale > 0.0 and not self.min_scale * 1.01 < scale < self.max_scale * 0.99

    def count_floor_sized(self, scales: Iterable[float]) -> tuple[int, int]:
        """(people the floor sized, of them held at the clamp) among one frame's applied scales (0: not sized
        by the floor); what the node's diagnostics and ``lihmr bag process``'s report count."""
        applied = [scale for scale in scales if scale > 0.0]
        return len(applied), sum(self.at_limit(scale) for scale in applied)

    def floor_weight(self, contact: FloorContact, camera_height: float) -> float:
        """Share in [0, 1] of the floor's log-scale against the network's size (inverse-variance weights)."""
        pitch = np.radians(self.pitch_uncertainty_deg) / np.tan(max(contact.grazing_angle, 1e-6))
        floor_variance = pitch**2 + (self.foot_uncertainty_m / camera_height) ** 2
        network_variance = self.network_size_uncertainty**2
        return float(network_variance / (network_variance + floor_variance))


class GroundScaler:
    """Per-track floor-contact size: the median of each track's recent usable estimates, each the floor's
    scale fused with the network's size by their uncertainties. The floor is given per frame (a camera on a
    moving head sees it move); the implied sizes are metres and stay valid across such moves."""

    def __init__(self, config: GroundScaleConfig = GroundScaleConfig()) -> None:
        self.config = config
        self._sizes: dict[int, deque[float]] = {}
        """Per track: the true skeleton sizes (metres) its recent usable frames imply."""

    def usable(self, plane: GroundPlane) -> bool:
        """False when the camera sits too low for the floor to set sizes (see ``min_camera_height``)."""
        return plane.camera_height >= self.config.min_camera_height

    def update(
        self, track_id: int, plane: GroundPlane, vertices: np.ndarray, joints: np.ndarray, keypoints: np.ndarray
    ) -> float | None:
        """Add this frame's estimate of ``track_id`` on ``plane`` (placed ``vertices`` (V, 3) and ``joints``
        (17, 3), its (17, 3) keypoints with confidence) when usable, and return the factor to scale this
        frame's body by (None while the track has no estimate: keep the network's size)."""
        history = self._sizes.setdefault(track_id, deque(maxlen=self.config.history))
        size = skeleton_size(joints)
        estimate = self._frame_estimate(plane, vertices, keypoints)
        if estimate is not None:
            history.append(estimate * size)
        if not history or size <= 0.0:
            return None
        scale = float(np.median(history)) / size
        return float(np.clip(scale, self.config.min_scale, self.config.max_scale))

    def discard(self, track_ids: Iterable[int]) -> None:
        """Forget tracks that ended."""
        for track_id in track_ids:
            self._sizes.pop(track_id, None)

    def _frame_estimate(self, plane: GroundPlane, vertices: np.ndarray, keypoints: np.ndarray) -> float | None:
        if not self.usable(plane):
            return None
        if float(np.max(np.asarray(keypoints)[list(ANKLES), 2])) < self.config.min_ankle_confidence:
            return None
        contact = floor_contact(vertices, plane)
        if contact is None:
            return None
        weight = self.config.floor_weight(contact, plane.camera_height)
        scale = float(np.exp(weight * np.log(contact.scale)))
        return float(np.clip(scale, self.config.min_scale, self.config.max_scale))
