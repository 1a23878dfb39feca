"""Full-resolution mesh targets for a batch of target frames.

Shards store the coarse mesh and the Anny parameters, not the 13,718-vertex
mesh (see ``lihmr_ros.synth.dataset``).  Two ways back to the full mesh:

* ``anny`` (default): one batched Anny forward of the B target frames.
  Exact.  Measured on the (busy) 2-core development machine: 0.14-0.25 s
  for B = 32, against 13-20 s for a whole B = 32 step of the default
  network, i.e. 1-2 % of a CPU step.  On a GPU, where the network step is
  far shorter, this CPU pass can dominate; ``upsampled`` is then the
  cheaper choice (with 3pc data).
* ``upsampled``: the stored coarse ground truth through the template's fixed
  upsampling, done on the training device (on a GPU a numpy upsampling of a
  256-window batch would take longer than the network step).  Free, but
  1.5 mm mean / 6 mm p95 / 21 mm max away from the true mesh, and it lies
  exactly in the span of the upsampling, so the network's full-resolution
  residual would learn nothing.  Only possible when the data's coarse
  topology is the template's, and the only choice for pre-encoded data
  (:mod:`lihmr_ros.training.encoded`), which keeps no Anny parameters.

The coarse ground truth is usable as it is only when the data was generated
with the template's coarse topology; otherwise the coarse output is
supervised through the full mesh (see :mod:`lihmr_ros.training.losses`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.training.windows import WindowBatch


class MeshTargets:
    """Builds root-relative full meshes of a batch's target frames, camera frame, metres."""

    def __init__(
        self,
        mode: str,
        template: MeshTemplate,
        data_topology: str,
        data_coarse_vertices: int,
        upsample: Callable[[torch.Tensor], torch.Tensor],
        data_has_anny_parameters: bool = True,
    ) -> None:
        """``upsample``: the network's fixed coarse -> full map on tensors (the template's, on the device);
        ``data_has_anny_parameters``: False for pre-encoded data, which only ``upsampled`` can serve."""
        self.mode = mode
        self.upsample = upsample
        self.template = template
        self.coarse_matches = (
            data_topology == template.coarse_topology and data_coarse_vertices == template.num_coarse_vertices
        )
        if mode == "upsampled" and not self.coarse_matches:
            raise ValueError(
                f"full_mesh_targets 'upsampled' needs data generated with the template's coarse topology "
                f"{template.coarse_topology!r} ({template.num_coarse_vertices} vertices), but the data has "
                f"{data_topology!r} ({data_coarse_vertices} vertices); use 'anny' or regenerate the data with "
                f"body.coarse_topology: {template.coarse_topology}"
            )
        if mode not in ("anny", "upsampled"):
            raise ValueError(f"full mesh targets must be 'anny' or 'upsampled', got {mode!r}")
        if mode == "anny" and not data_has_anny_parameters:
            raise ValueError(
                "full_mesh_targets 'anny' rebuilds meshes from Anny parameters, which this data set (pre-encoded) "
                "does not keep; use data.full_mesh_targets: upsampled"
            )
        self._reconstructor = None
        if mode == "anny":
            from lihmr_ros.synth.dataset import VertexReconstructor

            self._reconstructor = VertexReconstructor()

    def full_vertices(self, batch: WindowBatch, device: torch.device) -> torch.Tensor:
        """(B, Vf, 3) float32 true full meshes of the target frames, root (mid-hip) at the origin."""
        if self._reconstructor is None:
            coarse = torch.as_tensor(batch.target_coarse_vertices, dtype=torch.float32, device=device)
            return self.upsample(coarse)
        vertices, _ = self._reconstructor(
            batch.target_pose_quaternions,
            batch.phenotypes,
            batch.target_global_rotation,
            np.zeros((batch.size, 3), dtype=np.float32),
        )
        return torch.as_tensor(vertices, device=device)
