"""Smooth whole-body motion for one synthetic sequence.

The temporal stages of the network learn from how joints move between
frames, so sequences need real dynamics rather than independent random
poses: random key poses from the body module's joint-limited sampler are
slerped into each other with eased timing, and the body travels along a
path in the world.  Half of the sequences (by default) are walks: the legs
and arms follow a procedural gait whose step length matches the walking
speed (hip swing from the leg length), so feet roughly stay planted, while
the trunk, head and arms keep their key-pose variation.  The others shift,
turn and drift in place.

World frame used here and by :mod:`lihmr_ros.synth.camera`: y points down
(gravity), the floor is the plane y = 0, headings turn about y.  A body with
heading 0 faces -z, like Anny's reference pose in camera axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import roma
import torch

from lihmr_ros.body.pose_sampler import AnnyPoseSampler, base_name, interpolate
from lihmr_ros.synth.config import MotionSettings

_GAIT_LEG_BONES = ("upperleg01", "lowerleg01", "foot")
_GAIT_ARM_BONES = ("upperarm01", "lowerarm01")
_WALK_BASE_ACTIVITY = 0.4
"""Key poses under a walk are damped: big random limb angles fight the gait."""


@dataclass(frozen=True)
class SequenceMotion:
    """Per-frame body pose and world placement of one sequence."""

    poses: torch.Tensor
    """(F, 104, 4, 4) Anny ``local-ref`` poses (bone 0: lean only, heading is applied separately)."""
    heading: np.ndarray
    """(F,) heading in radians about the world's down axis."""
    ground_position: np.ndarray
    """(F, 2) world (x, z) of the root's floor projection, relative to the mid-sequence frame."""
    walking: bool


def heading_rotation(heading: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations about the world y (down) axis; heading 0 keeps a body facing -z."""
    heading = np.asarray(heading, dtype=np.float64)
    cos, sin = np.cos(heading), np.sin(heading)
    zeros, ones = np.zeros_like(heading), np.ones_like(heading)
    return np.stack(
        [
            np.stack([cos, zeros, sin], axis=-1),
            np.stack([zeros, ones, zeros], axis=-1),
            np.stack([-sin, zeros, cos], axis=-1),
        ],
        axis=-2,
    )


def facing_direction(heading: np.ndarray) -> np.ndarray:
    """(..., 2) world (x, z) unit vector a body with ``heading`` faces."""
    heading = np.asarray(heading, dtype=np.float64)
    return np.stack([-np.sin(heading), -np.cos(heading)], axis=-1)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    return x * x * (3.0 - 2.0 * x)


def _key_times(rng: np.random.Generator, duration: float, interval: tuple[float, float]) -> np.ndarray:
    """Key pose times from 0 until past ``duration``, spaced by random intervals."""
    times = [0.0]
    while times[-1] < duration:
        times.append(times[-1] + float(rng.uniform(*interval)))
    return np.asarray(times)


def _interpolate_keys(keys: torch.Tensor, key_times: np.ndarray, times: np.ndarray) -> torch.Tensor:
    """Eased per-bone slerp between consecutive key poses at ``times``."""
    segment = np.clip(np.searchsorted(key_times, times, side="right") - 1, 0, len(key_times) - 2)
    local = (times - key_times[segment]) / (key_times[segment + 1] - key_times[segment])
    alpha = torch.as_tensor(_smoothstep(np.clip(local, 0.0, 1.0)), dtype=keys.dtype)
    start = torch.as_tensor(segment)
    return interpolate(keys[start], keys[start + 1], alpha)


class MotionSampler:
    """Draws :class:`SequenceMotion` values for one body model's rig."""

    def __init__(self, pose_sampler: AnnyPoseSampler, settings: MotionSettings) -> None:
        self.pose_sampler = pose_sampler
        self.settings = settings
        labels = pose_sampler.body.bone_labels
        self._bone_index = {label: index for index, label in enumerate(labels)}
        self._relaxed = self._relaxed_pose()

    def _relaxed_pose(self) -> torch.Tensor:
        """(104, 4, 4) pose with every posed bone at the most likely angles of its range (arms hanging)."""
        relaxed = torch.eye(4, dtype=self.pose_sampler.body.dtype).repeat(len(self._bone_index), 1, 1)
        for label in self.pose_sampler.posed_bone_labels:
            joint = self.pose_sampler.joint_ranges[base_name(label)]
            modes = tuple(axis_range[1] for axis_range in joint.axes())
            relaxed[self._bone_index[label], :3, :3] = torch.as_tensor(self.pose_sampler.rotation_for(label, modes))
        return relaxed

    def sample(self, rng: np.random.Generator, frames: int, leg_length_m: float) -> SequenceMotion:
        """One sequence of ``frames`` frames for a body whose hip-to-ankle length is ``leg_length_m``."""
        settings = self.settings
        times = np.arange(frames) / settings.fps
        duration = float(times[-1])
        walking = bool(rng.random() < settings.walk_probability)
        key_times = _key_times(rng, duration, settings.key_pose_interval_s)
        keys = self.pose_sampler.sample(rng, len(key_times))
        if walking:
            keys = self._damp(keys, _WALK_BASE_ACTIVITY)
        poses = _interpolate_keys(keys, key_times, times)

        turn_rates = np.deg2rad(rng.uniform(*settings.turn_rate_deg_s, size=len(key_times)))
        turn_rates *= rng.choice([-1.0, 1.0], size=len(key_times))
        if not walking:
            turn_rates *= 0.5
        heading = rng.uniform(-np.pi, np.pi) + _integrate(np.interp(times, key_times, turn_rates), settings.fps)

        if walking:
            speed = float(rng.uniform(*settings.walk_speed_mps))
            velocity = speed * facing_direction(heading)
            poses = self._apply_gait(rng, poses, times, speed, leg_length_m)
        else:
            speed = float(rng.uniform(*settings.drift_speed_mps))
            direction = rng.uniform(-np.pi, np.pi) + heading
            velocity = speed * facing_direction(direction)
        path = np.stack([_integrate(velocity[:, 0], settings.fps), _integrate(velocity[:, 1], settings.fps)], axis=1)
        path -= path[frames // 2]
        return SequenceMotion(poses=poses, heading=heading, ground_position=path, walking=walking)

    def _forward_rotations(self, label: str, degrees: np.ndarray) -> torch.Tensor:
        """(n, 3, 3) rotations of ``label`` by ``degrees`` about its "forward" axis (vectorised ``rotation_for``).

        A rotation about one fixed axis is linear in its angle as a rotation
        vector, so the sampler's one-degree rotation scaled by each angle is
        exactly what ``rotation_for(label, (angle, 0, 0))`` returns.
        """
        one_degree = torch.as_tensor(self.pose_sampler.rotation_for(label, (1.0, 0.0, 0.0)), dtype=torch.float64)
        axis = roma.rotmat_to_rotvec(one_degree)
        return roma.rotvec_to_rotmat(torch.as_tensor(degrees, dtype=torch.float64)[:, None] * axis)

    def _damp(self, poses: torch.Tensor, factor: float) -> torch.Tensor:
        """Move every bone except the root lean ``factor`` of the way from the relaxed pose to its pose."""
        damped = interpolate(self._relaxed.expand_as(poses), poses, factor)
        damped[:, 0] = poses[:, 0]
        return damped

    def _apply_gait(
        self, rng: np.random.Generator, poses: torch.Tensor, times: np.ndarray, speed: float, leg_length: float
    ) -> torch.Tensor:
        """Replace the legs by a walking cycle and add the matching arm swing."""
        steps_per_second = float(rng.uniform(1.6, 2.1)) * min(1.0, 0.55 + 0.35 * speed)
        step_length = speed / steps_per_second
        hip_amplitude = np.degrees(np.arcsin(np.clip(step_length / (2.0 * leg_length), 0.0, 0.6)))
        knee_amplitude = 25.0 + 30.0 * min(speed / 1.5, 1.2)
        arm_amplitude = float(rng.uniform(0.4, 1.0)) * hip_amplitude
        phase = 2.0 * np.pi * 0.5 * steps_per_second * times + rng.uniform(0.0, 2.0 * np.pi)
        poses = poses.clone()
        for side, offset in ((".L", 0.0), (".R", np.pi)):
            leg_phase = phase + offset
            swing = np.clip(np.cos(leg_phase), 0.0, None) ** 2  # knee flexes while the leg swings forward
            forward_angles = {
                "upperleg01": hip_amplitude * np.sin(leg_phase),
                "lowerleg01": -(5.0 + knee_amplitude * swing),
                "foot": 8.0 * np.sin(leg_phase - 0.8),
                "upperarm01": -arm_amplitude * np.sin(leg_phase),
                "lowerarm01": 10.0 + 0.5 * arm_amplitude * (1.0 - np.sin(leg_phase)),
            }
            for bone, degrees in forward_angles.items():
                label = bone + side
                index = self._bone_index[label]
                gait = self._forward_rotations(label, degrees).to(poses.dtype)
                if bone in _GAIT_LEG_BONES:
                    poses[:, index, :3, :3] = gait
                else:
                    poses[:, index, :3, :3] = gait @ poses[:, index, :3, :3]
        return poses


def _integrate(rate: np.ndarray, fps: float) -> np.ndarray:
    """Cumulative integral of a per-frame rate, 0 at the first frame (trapezoid rule)."""
    increments = 0.5 * (rate[1:] + rate[:-1]) / fps
    return np.concatenate([[0.0], np.cumsum(increments)])
