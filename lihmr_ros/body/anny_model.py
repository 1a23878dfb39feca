"""Anny (NAVER, Apache-2.0 code, CC0 assets) as a :class:`BodyModel`.

Anny is the default body model because it ships with the package offline and
may be redistributed.  This wrapper fixes three things the raw library leaves
to the caller:

* **Cache location.** ``anny`` builds an ~800 MB cache on its first model
  construction (~50 s).  We default ``ANNY_CACHE_DIR`` to
  ``${XDG_CACHE_HOME:-~/.cache}/lihmr/anny`` before importing it, so the cache
  is built once per machine and shared by every lihmr tool; a value the user
  set is respected.
* **Axes.** Anny is Z-up with the body facing -Y.  Outputs here are in camera
  optical axes via (x, y, z)_anny -> (x, -z, y)_cam: a reference-pose body
  stands upright (head towards -y) and faces the camera (front towards -z).
* **Joints.** Anny's bundled COCO regressor only accepts the full mesh; for the
  coarse retopologies it is transferred to the nearest coarse vertex.

Pose parameters stay in Anny's native format: (B, 104, 4, 4) ``local-ref``
transforms, i.e. per-bone rotations relative to the parent, expressed in Anny's
world-aligned axes, identity meaning the reference pose (see
``pose_sampler.py``).  Shape parameters are the 6 phenotypes in [0, 1], in
:attr:`AnnyBody.shape_labels` order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from lihmr_ros.body.base import BodyModel, BodyOutput, check_regressor
from lihmr_ros.body.coco import NUM_COCO17

if TYPE_CHECKING:
    import anny

FULL_TOPOLOGY = "anny"
COARSE_TOPOLOGIES: tuple[str, ...] = ("notoes_collapse10pc", "notoes_collapse5pc", "notoes_collapse3pc")
ANNY_TOPOLOGIES: tuple[str, ...] = (FULL_TOPOLOGY, *COARSE_TOPOLOGIES)
NUM_BONES = 104

ANNY_TO_CAMERA = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]], dtype=np.float64)
"""Rotation taking Anny axes (Z up, facing -Y) to camera optical axes: ``p_cam = ANNY_TO_CAMERA @ p_anny``."""


def default_anny_cache_dir() -> Path:
    """Where lihmr keeps Anny's model cache unless ``ANNY_CACHE_DIR`` says otherwise."""
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "lihmr" / "anny"


def import_anny():
    """Import ``anny`` with lihmr's cache directory and a quiet Warp runtime.

    Anny reads ``ANNY_CACHE_DIR`` at import time, so the default must be set
    before the first import; if some other code imported it earlier, its cache
    path is corrected through anny's own setter.
    """
    user_set = "ANNY_CACHE_DIR" in os.environ
    cache_dir = Path(os.environ["ANNY_CACHE_DIR"]) if user_set else default_anny_cache_dir()
    os.environ.setdefault("ANNY_CACHE_DIR", str(cache_dir))
    try:
        import warp

        # Warp (Anny's skinning kernels) otherwise prints a banner, a missing-CUDA
        # warning and a kernel-load line into every lihmr command's output.
        warp.config.log_level = warp.LOG_ERROR
    except ImportError:
        pass
    import anny
    import anny.paths

    anny.paths.set_anny_cache_path(cache_dir)
    return anny


class AnnyBody(BodyModel):
    """Anny at one topology: the full 13,718-vertex mesh or a bundled coarse retopology."""

    name = "anny"

    def __init__(
        self,
        topology: str = FULL_TOPOLOGY,
        *,
        full_body: "AnnyBody | None" = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        """Load the model (0.3-1 s once the cache exists).

        ``full_body`` (a full-topology ``AnnyBody``) is only used by coarse
        topologies, to transfer the COCO regressor without loading the full
        mesh a second time.
        """
        if topology not in ANNY_TOPOLOGIES:
            raise ValueError(f"unknown Anny topology '{topology}'; choose one of {', '.join(ANNY_TOPOLOGIES)}")
        anny = import_anny()
        self.topology = topology
        self.model: anny.Anny = anny.Anny(topology=topology).to(device=device, dtype=dtype)
        self.model.eval()
        self.bone_labels: tuple[str, ...] = tuple(self.model.bone_labels)
        self.bone_parents: tuple[int, ...] = tuple(int(p) for p in self.model.bone_parents)
        self.shape_labels: tuple[str, ...] = tuple(self.model.phenotype_labels)
        self._faces = self.model.faces.detach().cpu().numpy().astype(np.int64)
        self._to_camera = torch.as_tensor(ANNY_TO_CAMERA, dtype=dtype, device=device)
        if topology == FULL_TOPOLOGY:
            regressor = anny.KeypointsRegressor.coco(self.model).regression_weights[:NUM_COCO17]
            self._regressor = regressor.detach().cpu().numpy().astype(np.float32)
        else:
            if full_body is None:
                full_body = AnnyBody(FULL_TOPOLOGY, device=device, dtype=dtype)
            if full_body.topology != FULL_TOPOLOGY:
                raise ValueError(f"full_body must use the '{FULL_TOPOLOGY}' topology, got '{full_body.topology}'")
            self._regressor = transfer_regressor_to_nearest(
                full_body.joint_regressor,
                full_body.reference_vertices(),
                self.reference_vertices(),
            )
        check_regressor(self._regressor, self.model.template_vertices.shape[0])

    @property
    def num_shape_params(self) -> int:
        return len(self.shape_labels)

    @property
    def dtype(self) -> torch.dtype:
        return self.model.dtype

    @property
    def device(self) -> torch.device:
        return self.model.device

    def neutral_pose(self, batch_size: int = 1) -> torch.Tensor:
        """Identity ``local-ref`` transforms: Anny's reference A-pose with the root at the origin."""
        return torch.eye(4, dtype=self.dtype, device=self.device).expand(batch_size, NUM_BONES, 4, 4).clone()

    def neutral_shape(self, batch_size: int = 1) -> torch.Tensor:
        """A typical adult (see :func:`lihmr_ros.body.shape_sampler.typical_adult_phenotypes`)."""
        from lihmr_ros.body.shape_sampler import typical_adult_phenotypes

        values = torch.as_tensor(typical_adult_phenotypes(self), dtype=self.dtype, device=self.device)
        return values.expand(batch_size, -1).clone()

    def forward(self, pose: torch.Tensor, shape: torch.Tensor) -> BodyOutput:
        """Pose a batch: pose (B, 104, 4, 4) local-ref transforms, shape (B, 6) phenotypes in [0, 1]."""
        vertices = self._posed_vertices(pose, shape)
        return BodyOutput(vertices=vertices, joints=self.regress_joints(vertices))

    def reference_vertices(self, shape: torch.Tensor | None = None) -> np.ndarray:
        """(V, 3) vertices of the identity pose, camera axes, for one body (default: typical adult)."""
        shape = self.neutral_shape() if shape is None else shape.reshape(1, -1)
        return self._posed_vertices(self.neutral_pose(), shape)[0].cpu().numpy()

    def _posed_vertices(self, pose: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
        self._check_inputs(pose, shape)
        with torch.no_grad():
            output = self.model(pose_parameters=pose.to(self.dtype), phenotype_kwargs=shape.to(self.dtype))
        return output["vertices"] @ self._to_camera.T

    def reference_bone_heads(self, shape: torch.Tensor | None = None) -> np.ndarray:
        """(104, 3) bone head positions of the identity pose in Anny's own axes.

        Pose parameters live in Anny's axes, so tools that build per-bone
        rotation frames (the pose sampler) need the skeleton there too.
        """
        shape = self.neutral_shape() if shape is None else shape.reshape(1, -1)
        with torch.no_grad():
            output = self.model(pose_parameters=self.neutral_pose(), phenotype_kwargs=shape.to(self.dtype))
        return output["bone_poses"][0, :, :3, 3].cpu().numpy().astype(np.float64)

    def _check_inputs(self, pose: torch.Tensor, shape: torch.Tensor) -> None:
        if pose.ndim != 4 or pose.shape[1:] != (NUM_BONES, 4, 4):
            raise ValueError(f"Anny pose must be (B, {NUM_BONES}, 4, 4) local-ref transforms, got {tuple(pose.shape)}")
        if shape.ndim != 2 or shape.shape[1] != self.num_shape_params:
            raise ValueError(
                f"Anny shape must be (B, {self.num_shape_params}) phenotypes {self.shape_labels}, got {tuple(shape.shape)}"
            )
        if shape.shape[0] not in (1, pose.shape[0]) and pose.shape[0] != 1:
            raise ValueError(f"pose batch {pose.shape[0]} and shape batch {shape.shape[0]} do not match")


def transfer_regressor_to_nearest(
    full_regressor: np.ndarray, full_vertices: np.ndarray, coarse_vertices: np.ndarray
) -> np.ndarray:
    """Move each full-mesh regressor weight onto the nearest coarse vertex.

    Both meshes must be in the same pose and frame.  Rows keep summing to 1
    because weights are only moved, never created or dropped.
    """
    from scipy.spatial import cKDTree

    _, nearest = cKDTree(coarse_vertices).query(full_vertices)
    coarse = np.zeros((full_regressor.shape[0], coarse_vertices.shape[0]), dtype=np.float64)
    for joint in range(full_regressor.shape[0]):
        np.add.at(coarse[joint], nearest, full_regressor[joint].astype(np.float64))
    return coarse.astype(np.float32)
