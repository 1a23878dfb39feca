"""Random pinhole cameras placed the way a robot sees people.

A robot's camera sits 0.3-2 m above the floor, levels roughly with the
horizon and looks at people who walk anywhere in its field of view, often
cut by the image border.  Cameras here are drawn the same way: intrinsics
from a horizontal field of view and an image size, the camera at a random
height, the person at a random distance and bearing (up to and past the
image edge), and the pitch aimed at a random height on the body plus jitter.

World frame as in :mod:`lihmr_ros.synth.motion`: y down, floor at y = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lihmr_ros.geometry.ground import LEVEL_UP, GroundPlane, look_rotation
from lihmr_ros.synth.config import CameraSettings


@dataclass(frozen=True)
class Camera:
    """Intrinsics, image size and pose of one sequence's (static) camera."""

    intrinsics: np.ndarray
    """(3, 3) K, OpenCV pixel convention."""
    width: int
    height: int
    world_to_camera: np.ndarray
    """(3, 3) rotation taking world directions to camera optical axes."""
    position: np.ndarray
    """(3,) camera centre in the world."""

    def to_camera(self, points_world: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> camera frame."""
        return (np.asarray(points_world, dtype=np.float64) - self.position) @ self.world_to_camera.T

    def ground_plane(self) -> GroundPlane:
        """The floor (world y = 0, y down) in this camera's frame, as a robot would know it from its mount."""
        return GroundPlane(self.world_to_camera @ LEVEL_UP, float(-self.position[1]))

    @property
    def horizontal_fov_deg(self) -> float:
        return float(np.degrees(2.0 * np.arctan(0.5 * self.width / self.intrinsics[0, 0])))


def project(points_camera: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """(..., 3) camera-frame points -> (..., 2) pixels; points at or behind the camera become NaN."""
    points = np.asarray(points_camera, dtype=np.float64)
    depth = points[..., 2:3]
    safe_depth = np.where(depth > 1e-6, depth, np.nan)
    normalised = points[..., :2] / safe_depth
    k = np.asarray(intrinsics, dtype=np.float64)
    u = k[0, 0] * normalised[..., 0] + k[0, 1] * normalised[..., 1] + k[0, 2]
    v = k[1, 1] * normalised[..., 1] + k[1, 2]
    return np.stack([u, v], axis=-1)


def intrinsics_from_fov(width: int, height: int, horizontal_fov_deg: float, principal_offset: np.ndarray) -> np.ndarray:
    """Square-pixel K with the principal point at the image centre plus ``principal_offset`` pixels."""
    focal = 0.5 * width / np.tan(0.5 * np.radians(horizontal_fov_deg))
    return np.array(
        [
            [focal, 0.0, 0.5 * (width - 1) + principal_offset[0]],
            [0.0, focal, 0.5 * (height - 1) + principal_offset[1]],
            [0.0, 0.0, 1.0],
        ]
    )


@dataclass(frozen=True)
class Placement:
    """Where the person's path sits relative to the camera."""

    camera: Camera
    path_offset: np.ndarray
    """(2,) world (x, z) added to the motion's ground path (its mid-sequence point lands here)."""


class CameraSampler:
    """Draws a camera and the person's place in front of it."""

    def __init__(self, settings: CameraSettings) -> None:
        self.settings = settings

    def sample(self, rng: np.random.Generator, body_height_m: float) -> Placement:
        settings = self.settings
        width, height = settings.image_sizes[int(rng.integers(len(settings.image_sizes)))]
        fov = float(rng.uniform(*settings.horizontal_fov_deg))
        offset = rng.uniform(-1.0, 1.0, size=2) * settings.principal_point_jitter * np.array([width, height])
        intrinsics = intrinsics_from_fov(width, height, fov, offset)

        distance = float(rng.uniform(*settings.distance_m))
        half_fov = 0.5 * np.radians(fov)
        bearing = float(rng.uniform(-1.0, 1.0)) * settings.lateral_spread * half_fov
        camera_height = float(rng.uniform(*settings.height_m))
        aim_height = float(rng.uniform(*settings.aim_height)) * body_height_m
        pitch = np.arctan2(camera_height - aim_height, distance)
        pitch += np.radians(rng.uniform(-1.0, 1.0) * settings.tilt_jitter_deg)
        roll = np.radians(rng.uniform(-1.0, 1.0) * settings.roll_deg)
        camera = Camera(
            intrinsics=intrinsics,
            width=int(width),
            height=int(height),
            world_to_camera=look_rotation(pitch, roll),
            position=np.array([0.0, -camera_height, 0.0]),
        )
        path_offset = distance * np.array([np.sin(bearing), np.cos(bearing)])
        return Placement(camera=camera, path_offset=path_offset)
