"""The one interface every body model (Anny, SMPL, SMPL-X) implements.

Template building, synthetic data and evaluation only need a mesh topology, a
COCO-17 joint regressor and a batched forward pass; hiding each library behind
this interface keeps those callers free of library-specific pose formats and
coordinate frames.  All outputs are in camera optical axes (x right, y down,
z forward), metres.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch

from lihmr_ros.body.coco import COCO17_NAMES, COCO17_SKELETON, NUM_COCO17


@dataclass(frozen=True)
class BodyOutput:
    """Result of one batched forward pass, in camera axes."""

    vertices: torch.Tensor
    """(B, V, 3) mesh vertices, metres."""
    joints: torch.Tensor
    """(B, 17, 3) COCO-17 joints regressed from ``vertices``."""


class BodyModel(ABC):
    """A parametric body: fixed topology, pose/shape parameters in, mesh and COCO-17 joints out."""

    name: str
    """Short identifier stored in templates (``anny``, ``smpl``, ``smplx``)."""

    joint_names: tuple[str, ...] = COCO17_NAMES
    skeleton_edges: tuple[tuple[int, int], ...] = COCO17_SKELETON

    _faces: np.ndarray
    _regressor: np.ndarray
    """Both set by each model's constructor (checked there with :func:`check_regressor`)."""

    @property
    def faces(self) -> np.ndarray:
        """(F, 3) int64 triangles."""
        return self._faces

    @property
    def joint_regressor(self) -> np.ndarray:
        """(17, V) float32 COCO-17 regressor; each row sums to 1."""
        return self._regressor

    @property
    @abstractmethod
    def num_shape_params(self) -> int:
        """Length of the shape vector accepted by :meth:`forward`."""

    @property
    def num_vertices(self) -> int:
        return int(self.joint_regressor.shape[1])

    @abstractmethod
    def neutral_pose(self, batch_size: int = 1) -> torch.Tensor:
        """Pose parameters of the model's reference pose, batched."""

    @abstractmethod
    def neutral_shape(self, batch_size: int = 1) -> torch.Tensor:
        """Shape parameters of the model's default body, batched."""

    @abstractmethod
    def forward(self, pose: torch.Tensor, shape: torch.Tensor) -> BodyOutput:
        """Pose the body; the pose format is model specific (see each implementation)."""

    def regress_joints(self, vertices: torch.Tensor) -> torch.Tensor:
        """(B, V, 3) vertices -> (B, 17, 3) COCO-17 joints."""
        # The numpy regressor is converted once per dtype/device: forward passes run in loops.
        cache = self.__dict__.setdefault("_regressor_tensors", {})
        key = (vertices.dtype, vertices.device)
        if key not in cache:
            cache[key] = torch.as_tensor(self.joint_regressor, dtype=vertices.dtype, device=vertices.device)
        return torch.einsum("jv,bvc->bjc", cache[key], vertices)


def check_regressor(regressor: np.ndarray, num_vertices: int) -> None:
    """Reject a joint regressor that would silently produce wrong joints."""
    if regressor.shape != (NUM_COCO17, num_vertices):
        raise ValueError(f"joint regressor must be (17, {num_vertices}), got {regressor.shape}")
    row_sums = regressor.sum(axis=1)
    if not np.allclose(row_sums, 1.0, atol=1e-4):
        raise ValueError(f"joint regressor rows must sum to 1, got {np.round(row_sums, 4).tolist()}")
