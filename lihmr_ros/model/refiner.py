"""Stage 2: refine the target frame into a full-resolution mesh.

Joint tokens come from the lifter; every coarse template vertex starts at its
nearest joint's predicted position plus its rest-pose offset to that joint
(as in PMCE), with a token built from the same information.  After the
mesh-pose interaction a per-vertex head corrects the coarse vertices, a fixed
template map upsamples them to the full mesh, and a low-rank learned residual
adds detail the coarse mesh cannot carry.  The residual is low-rank on purpose:
PMCE's full-resolution heads alone are ~50M parameters; here the low-dimensional
idea reaches the heads too (rank x Vf x 3 parameters, zero at initialisation
so training starts from the plain upsampled coarse mesh).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.model.config import RefinerConfig
from lihmr_ros.model.interaction import build_interaction
from lihmr_ros.model.lifter import subtract_root


class RefinedMesh(NamedTuple):
    """Stage-2 outputs for the target frame, root-relative (mid-hip at the origin), metres."""

    vertices: torch.Tensor
    """(B, Vf, 3) full-resolution mesh."""
    joints: torch.Tensor
    """(B, 17, 3) COCO-17 joints regressed from ``vertices``."""
    coarse_vertices: torch.Tensor
    """(B, Vc, 3) coarse mesh before upsampling (for coarse supervision)."""
    shape: torch.Tensor
    """(B, P) body shape parameters in [0, 1] (Anny phenotypes)."""


class MeshRefiner(nn.Module):
    """(lifter tokens, lifted joints, hybrid feature) of the target frame -> :class:`RefinedMesh`."""

    def __init__(self, template: MeshTemplate, lifter_width: int, feature_dim: int, config: RefinerConfig) -> None:
        super().__init__()
        template.validate()
        nearest = np.asarray(template.coarse_nearest_joint, dtype=np.int64)
        rest_offsets = template.coarse_vertices - template.rest_joints[nearest]
        self._register_constant("nearest_joint", nearest, torch.int64)
        self._register_constant("rest_offsets", rest_offsets, torch.float32)
        # Inference and exported graphs upsample as one gather of K * Vf coarse rows
        # (neighbour-major), an element-wise weight of the same shape and a sum over K:
        # ONNX and TensorRT have no sparse product, and in onnxruntime this took 0.7 ms
        # against 1.7 ms for K separate gathers or for gathering along the last axis
        # (Vf=13718, K=8, one core).
        neighbours = template.upsample_index.shape[1]
        weight = np.repeat(template.upsample_weight.T.reshape(-1, 1), 3, axis=1)
        self._register_constant("upsample_index", template.upsample_index.T.reshape(-1), torch.int64)
        self._register_constant("upsample_weight", weight, torch.float32)
        # Training multiplies by the same map as a sparse (Vf, Vc) matrix instead:
        # forward + backward for a 64-frame batch took 24 ms against 184 ms for the
        # gather (one CPU core), and a training step upsamples three meshes.
        rows = np.repeat(np.arange(template.num_full_vertices), neighbours)
        matrix = torch.sparse_coo_tensor(
            torch.as_tensor(np.stack([rows, template.upsample_index.reshape(-1)])),
            torch.as_tensor(template.upsample_weight.reshape(-1), dtype=torch.float32),
            (template.num_full_vertices, template.num_coarse_vertices),
            check_invariants=True,
        )
        self.register_buffer("upsample_matrix", matrix.coalesce(), persistent=False)
        self._register_constant("joint_regressor", template.joint_regressor, torch.float32)
        self.upsample_shape = (neighbours, template.num_full_vertices * 3)

        width = config.width
        self.joints_from_tokens = nn.Linear(lifter_width, width)
        self.joints_from_position = nn.Linear(3, width)
        self.condition = nn.Linear(feature_dim, width)
        self.vertex_offset_embedding = nn.Sequential(nn.Linear(3, width), nn.GELU(), nn.Linear(width, width))
        self.vertex_from_position = nn.Linear(3, width)
        self.interaction = build_interaction(template.coarse_vertices, config)
        # The last layer has no bias: a shift shared by all vertices cancels in the root subtraction.
        # Small-init output: coarse vertices start at their anchor joint + rest offset.
        self.vertex_head = nn.Sequential(
            nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(), nn.Linear(width, 3, bias=False)
        )
        nn.init.normal_(self.vertex_head[-1].weight, std=1e-3)
        self.residual_coefficients = nn.Linear(2 * width, config.residual_rank)
        self.residual_basis = nn.Parameter(torch.zeros(config.residual_rank, 3 * template.num_full_vertices))
        self.shape_head = nn.Linear(2 * width, config.shape_params)

    def _register_constant(self, name: str, array: np.ndarray, dtype: torch.dtype) -> None:
        # Template arrays are not saved with the weights: they come from the
        # template file, and the checkpoint's template fingerprint proves they match.
        self.register_buffer(name, torch.as_tensor(np.ascontiguousarray(array), dtype=dtype), persistent=False)

    def upsample(self, coarse: torch.Tensor) -> torch.Tensor:
        """Fixed template map (B, Vc, 3) -> (B, Vf, 3): full = sum_k w_k * coarse[idx_k].

        In training mode a sparse matrix product (fast backward); in eval mode and
        while tracing for export the gather that the runtime backends run.  The two
        agree to float32 rounding.
        """
        batch, num_coarse, _ = coarse.shape
        if self.training and not torch.jit.is_tracing():
            columns = coarse.transpose(0, 1).reshape(num_coarse, batch * 3)
            return torch.sparse.mm(self.upsample_matrix, columns).reshape(-1, batch, 3).transpose(0, 1)
        gathered = torch.index_select(coarse, 1, self.upsample_index) * self.upsample_weight
        return gathered.reshape(-1, *self.upsample_shape).sum(dim=1).reshape(batch, -1, 3)

    def forward(self, lifter_tokens: torch.Tensor, joints3d: torch.Tensor, hybrid: torch.Tensor) -> RefinedMesh:
        """lifter_tokens (B, 17, Cl), joints3d (B, 17, 3) root-relative, hybrid (B, D)."""
        condition = self.condition(hybrid)
        joint_tokens = (
            self.joints_from_tokens(lifter_tokens) + self.joints_from_position(joints3d) + condition.unsqueeze(1)
        )
        anchors = torch.index_select(joints3d, 1, self.nearest_joint)
        vertex_tokens = (
            self.vertex_offset_embedding(self.rest_offsets)
            + torch.index_select(joint_tokens, 1, self.nearest_joint)
            + self.vertex_from_position(anchors)
        )
        vertex_tokens, summary = self.interaction(joint_tokens, vertex_tokens, condition)
        coarse = anchors + self.rest_offsets + self.vertex_head(vertex_tokens)
        residual = (self.residual_coefficients(summary) @ self.residual_basis).unflatten(-1, (-1, 3))
        full = self.upsample(coarse) + residual
        joints = self.joint_regressor @ full
        return RefinedMesh(
            vertices=subtract_root(full, joints),
            joints=subtract_root(joints, joints),
            coarse_vertices=subtract_root(coarse, joints),
            shape=torch.sigmoid(self.shape_head(summary)),
        )
