"""Mesh-pose interaction: joint tokens and coarse-vertex tokens exchange information.

Two interchangeable variants with one interface,
``forward(joints (B, 17, C), vertices (B, Vc, C), condition (B, C))
-> (vertices (B, Vc, C), summary (B, 2C))``.  Refined joints are not returned:
the output joints are regressed from the mesh, the joint tokens' last state
reaches the output through ``summary`` (shape and mesh residual heads):

* ``LowDimInteraction`` (the paper's contribution, the default): the Vc vertex
  tokens are first reduced to K latent tokens by a learned linear map over the
  vertex axis and to a narrow channel width; the pose branch (joints attend to
  the latent mesh) and the mesh branch (latent mesh attends to the joints, then
  to itself) run in parallel from the same state; the result is expanded back
  to Vc vertices.  Its attention cost no longer grows with Vc squared.
* ``FullInteraction`` (PMCE-like baseline): sequential joint<->vertex
  cross-attention then self-attention over all Vc + 17 tokens at full width.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lihmr_ros.body.template import NUM_COCO_JOINTS as NUM_JOINTS
from lihmr_ros.model.config import RefinerConfig
from lihmr_ros.model.layers import CrossAttentionLayer, SelfAttentionLayer


class ParallelInteractionBlock(nn.Module):
    """One low-dimensional block: the pose and mesh branches read the same input state."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, latent_tokens: int) -> None:
        super().__init__()
        self.pose_branch = CrossAttentionLayer(width, heads, mlp_ratio, NUM_JOINTS, latent_tokens)
        self.mesh_cross = CrossAttentionLayer(width, heads, mlp_ratio, latent_tokens, NUM_JOINTS)
        self.mesh_self = SelfAttentionLayer(width, heads, mlp_ratio, latent_tokens)

    def forward(self, joints: torch.Tensor, mesh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        new_joints = self.pose_branch(joints, mesh)
        new_mesh = self.mesh_self(self.mesh_cross(mesh, joints))
        return new_joints, new_mesh


def region_pooling(vertices: np.ndarray, regions: int) -> tuple[np.ndarray, np.ndarray]:
    """Split the rest-pose vertices (V, 3) into ``regions`` compact regions.

    Returns ``reduce`` (regions, V), averaging the vertices of each region, and
    ``expand`` (V, regions), copying each region back to its vertices.  Used to
    initialise the learned vertex-axis maps: random maps would give latent tokens
    that are all nearly the mean of the mesh, so attention over them could not
    tell body parts apart at the start of training.  Region centres are chosen
    by farthest-point sampling (deterministic), vertices join the nearest centre.
    """
    count = vertices.shape[0]
    if not 1 <= regions <= count:
        raise ValueError(f"latent_tokens must be between 1 and the coarse vertex count {count}, got {regions}")
    centres = [0]
    distance = np.linalg.norm(vertices - vertices[0], axis=1)
    while len(centres) < regions:
        centres.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(vertices - vertices[centres[-1]], axis=1))
    assignment = np.argmin(np.linalg.norm(vertices[:, None] - vertices[centres][None], axis=2), axis=1)
    expand = np.zeros((count, regions), dtype=np.float32)
    expand[np.arange(count), assignment] = 1.0
    reduce = expand.T / np.maximum(expand.sum(axis=0), 1.0)[:, None]  # duplicate centres leave a region empty
    return reduce, expand


class LowDimInteraction(nn.Module):
    """Interaction in a reduced (K tokens x narrow width) space, branches in parallel."""

    def __init__(self, coarse_vertices: np.ndarray, config: RefinerConfig) -> None:
        super().__init__()
        width, latent = config.width, config.latent_width
        reduce, expand = region_pooling(np.asarray(coarse_vertices, dtype=np.float64), config.latent_tokens)
        self.reduce_vertices = nn.Parameter(torch.as_tensor(reduce, dtype=torch.float32))
        self.expand_vertices = nn.Parameter(torch.as_tensor(expand, dtype=torch.float32))
        self.joints_down = nn.Linear(width, latent)
        self.mesh_down = nn.Linear(width, latent)
        self.condition_down = nn.Linear(width, latent)
        self.blocks = nn.ModuleList(
            ParallelInteractionBlock(latent, config.heads, config.mlp_ratio, config.latent_tokens)
            for _ in range(config.low_blocks)
        )
        self.mesh_up = nn.Linear(latent, width)
        self.summary = nn.Linear(2 * latent, 2 * width)

    def forward(
        self, joints: torch.Tensor, vertices: torch.Tensor, condition: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        condition = self.condition_down(condition).unsqueeze(1)
        latent_joints = self.joints_down(joints) + condition
        latent_mesh = self.mesh_down(self.reduce_vertices @ vertices) + condition
        for block in self.blocks:
            latent_joints, latent_mesh = block(latent_joints, latent_mesh)
        summary = self.summary(torch.cat([latent_joints.mean(dim=1), latent_mesh.mean(dim=1)], dim=-1))
        vertices = vertices + self.mesh_up(self.expand_vertices @ latent_mesh)
        return vertices, summary


class SequentialInteractionBlock(nn.Module):
    """One full-size block: vertices<-joints, joints<-vertices, then self-attention over all."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, num_vertices: int) -> None:
        super().__init__()
        self.vertices_from_joints = CrossAttentionLayer(width, heads, mlp_ratio, num_vertices, NUM_JOINTS)
        self.joints_from_vertices = CrossAttentionLayer(width, heads, mlp_ratio, NUM_JOINTS, num_vertices)
        self.joint_mesh_self = SelfAttentionLayer(width, heads, mlp_ratio, NUM_JOINTS + num_vertices)

    def forward(self, joints: torch.Tensor, vertices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        vertices = self.vertices_from_joints(vertices, joints)
        joints = self.joints_from_vertices(joints, vertices)
        mixed = self.joint_mesh_self(torch.cat([joints, vertices], dim=1))
        return mixed[:, :NUM_JOINTS], mixed[:, NUM_JOINTS:]


class FullInteraction(nn.Module):
    """PMCE-like interaction over all Vc + 17 tokens at full width; the cost baseline."""

    def __init__(self, num_vertices: int, config: RefinerConfig) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            SequentialInteractionBlock(config.width, config.heads, config.mlp_ratio, num_vertices)
            for _ in range(config.full_blocks)
        )

    def forward(
        self, joints: torch.Tensor, vertices: torch.Tensor, condition: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        condition = condition.unsqueeze(1)
        joints, vertices = joints + condition, vertices + condition
        for block in self.blocks:
            joints, vertices = block(joints, vertices)
        summary = torch.cat([joints.mean(dim=1), vertices.mean(dim=1)], dim=-1)
        return vertices, summary


def build_interaction(coarse_vertices: np.ndarray, config: RefinerConfig) -> nn.Module:
    """The interaction variant named by ``config.interaction`` for the (Vc, 3) rest coarse vertices."""
    if config.interaction == "low":
        return LowDimInteraction(coarse_vertices, config)
    if config.interaction == "full":
        return FullInteraction(len(coarse_vertices), config)
    raise ValueError(f"unknown interaction {config.interaction!r}; expected 'low' or 'full'")
