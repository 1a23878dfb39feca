"""Pinhole camera intrinsics, from ``sensor_msgs/CameraInfo`` or assumed when there is none.

Metric 3D placement needs the focal length.  A calibrated camera publishes it
in ``CameraInfo.k``; without one the node can still place people with an
*assumed* camera (focal length = image width, i.e. a ~53 degree horizontal
field of view, typical of webcams and robot RGB cameras, principal point at
the image centre).  Positions are then right in direction but their distance
is only as good as that guess, which :attr:`CameraIntrinsics.is_assumed`
records so outputs can be flagged ``root_is_metric=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


MIN_FOCAL_PER_PIXEL = 1e-3
MAX_FOCAL_PER_PIXEL = 1e4
"""Accepted focal lengths of a calibration, as multiples of its image width (fx) or height (fy)."""


@dataclass(frozen=True)
class CameraIntrinsics:
    """Focal lengths and principal point in pixels, for images of ``width`` x ``height``."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    is_assumed: bool = False
    """True when no calibration was available (see :meth:`assumed`)."""

    def __post_init__(self) -> None:
        values = (self.fx, self.fy, self.cx, self.cy)
        if not all(np.isfinite(values)):
            raise ValueError(f"intrinsics must be finite, got fx={self.fx} fy={self.fy} cx={self.cx} cy={self.cy}")
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(
                f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}; an all-zero CameraInfo.k means "
                "the camera is uncalibrated: use CameraIntrinsics.assumed(width, height) instead"
            )
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"image size must be positive, got {self.width}x{self.height}")

    @classmethod
    def from_matrix(cls, k: Sequence[float] | np.ndarray, width: int, height: int) -> CameraIntrinsics:
        """From a 3x3 camera matrix given as 9 row-major numbers (``CameraInfo.k``) or a (3, 3) array."""
        matrix = np.asarray(k, dtype=np.float64).reshape(-1)
        if matrix.shape != (9,):
            raise ValueError(f"camera matrix must have 9 values (row-major 3x3), got {matrix.shape[0]}")
        intrinsics = cls(
            fx=float(matrix[0]), fy=float(matrix[4]), cx=float(matrix[2]), cy=float(matrix[5]),
            width=int(width), height=int(height),
        )
        intrinsics.check_plausible()
        return intrinsics

    def check_plausible(self) -> None:
        """Refuse calibrations no real camera has, measured against the image size they were made for.

        Finite, positive values can still be absurd (a focal length of 1e308
        pixels, a principal point a million images away): accepted, they turn
        into infinities once scaled to the stream's resolution and then fail
        every frame.  The bounds are far outside any fisheye or telephoto lens,
        and ratios to the image size do not change when a stream is resized.
        """
        for name, focal, size in (("fx", self.fx, self.width), ("fy", self.fy, self.height)):
            if not MIN_FOCAL_PER_PIXEL * size <= focal <= MAX_FOCAL_PER_PIXEL * size:
                raise ValueError(
                    f"{name}={focal} px is implausible for a {self.width}x{self.height} image (expected "
                    f"{MIN_FOCAL_PER_PIXEL:g} to {MAX_FOCAL_PER_PIXEL:g} times the image size); check the calibration"
                )
        for name, centre, size in (("cx", self.cx, self.width), ("cy", self.cy, self.height)):
            if abs(centre) > MAX_FOCAL_PER_PIXEL * size:
                raise ValueError(
                    f"principal point {name}={centre} px lies implausibly far outside a {self.width}x{self.height} "
                    "image; check the calibration"
                )

    @classmethod
    def from_camera_info(cls, camera_info: Any) -> CameraIntrinsics:
        """From any object with ``k``, ``width`` and ``height`` (a ``sensor_msgs/CameraInfo``)."""
        return cls.from_matrix(camera_info.k, camera_info.width, camera_info.height)

    @classmethod
    def assumed(cls, width: int, height: int) -> CameraIntrinsics:
        """The stand-in camera used without calibration: fx = fy = width, centred principal point."""
        return cls(
            fx=float(width), fy=float(width), cx=(width - 1) / 2.0, cy=(height - 1) / 2.0,
            width=int(width), height=int(height), is_assumed=True,
        )

    @property
    def matrix(self) -> np.ndarray:
        """(3, 3) float64 camera matrix K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def resized(self, width: int, height: int) -> CameraIntrinsics:
        """The same camera for images scaled to ``width`` x ``height`` (e.g. a downscaled stream).

        Pixel centres map as ``x' = (x + 0.5) * s - 0.5``, so the principal point shifts with them.
        """
        scale_x, scale_y = width / self.width, height / self.height
        return CameraIntrinsics(
            fx=self.fx * scale_x, fy=self.fy * scale_y,
            cx=(self.cx + 0.5) * scale_x - 0.5, cy=(self.cy + 0.5) * scale_y - 0.5,
            width=int(width), height=int(height), is_assumed=self.is_assumed,
        )

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points (z forward, metres) -> (..., 2) pixels."""
        points = np.asarray(points, dtype=np.float64)
        z = points[..., 2]
        return np.stack([self.fx * points[..., 0] / z + self.cx, self.fy * points[..., 1] / z + self.cy], axis=-1)
