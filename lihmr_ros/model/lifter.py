"""MixSTE-style spatio-temporal lifter: 2D keypoint windows + hybrid features -> 3D joints.

Every joint of every frame is one token.  Blocks alternate attention over the
17 joints of a frame (body structure) and attention over the T frames of a
joint (its trajectory), which costs far less than attention over all 17 x T
tokens at once while still connecting every pair within two layers.  The
hybrid image feature of a frame is added to all its joint tokens: it carries
what 2D keypoints cannot (depth ordering, body shape, occluded limbs).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lihmr_ros.body.template import NUM_COCO_JOINTS as NUM_JOINTS
from lihmr_ros.model.config import LifterConfig
from lihmr_ros.model.layers import SelfAttentionLayer

LEFT_HIP, RIGHT_HIP = 11, 12


def subtract_root(points: torch.Tensor, joints: torch.Tensor) -> torch.Tensor:
    """Make ``points`` (..., N, 3) relative to the mid-hip of ``joints`` (..., 17, 3)."""
    root = 0.5 * (joints[..., LEFT_HIP : LEFT_HIP + 1, :] + joints[..., RIGHT_HIP : RIGHT_HIP + 1, :])
    return points - root


def keypoint_inputs(keypoints: torch.Tensor, crop_info: torch.Tensor) -> torch.Tensor:
    """Per-joint inputs (B, T, 17, 5): crop-normalised (x, y, confidence) and the keypoint
    in the camera's normalised image plane, a product of keypoint and crop_info that a
    linear embedding could not form itself.  crop_info is embedded separately per frame."""
    box = crop_info.unsqueeze(2)
    camera_plane = box[..., :2] + keypoints[..., :2] * (0.5 * box[..., 2:3])
    return torch.cat([keypoints, camera_plane], dim=-1)


class SpatioTemporalLifter(nn.Module):
    """Returns root-relative 3D joints (B, T, 17, 3) and the final joint tokens (B, T, 17, C)."""

    def __init__(self, window: int, feature_dim: int, config: LifterConfig, rest_joints: np.ndarray) -> None:
        super().__init__()
        width = config.width
        self.width = width
        self.keypoint_embedding = nn.Linear(5, width)
        self.crop_embedding = nn.Linear(3, width)
        self.feature_projection = nn.Linear(feature_dim, width)
        self.spatial_position = nn.Parameter(torch.zeros(NUM_JOINTS, width))
        self.temporal_position = nn.Parameter(torch.zeros(window, 1, width))
        self.window = window
        self.spatial_layers = nn.ModuleList(
            SelfAttentionLayer(width, config.heads, config.mlp_ratio, tokens=NUM_JOINTS) for _ in range(config.depth)
        )
        self.temporal_layers = nn.ModuleList(
            SelfAttentionLayer(width, config.heads, config.mlp_ratio, tokens=window) for _ in range(config.depth)
        )
        self.output_norm = nn.LayerNorm(width)
        # Joints are predicted as corrections to a learned per-joint prior that starts
        # at the template's rest pose, with a small-init head, so an untrained network
        # already outputs a plausible body instead of joints scattered over ~0.5 m.
        # No head bias: a shift shared by all joints cancels in the root subtraction.
        self.joint_head = nn.Linear(width, 3, bias=False)
        self.joint_prior = nn.Parameter(torch.as_tensor(rest_joints, dtype=torch.float32).clone())
        nn.init.normal_(self.joint_head.weight, std=1e-3)
        nn.init.trunc_normal_(self.spatial_position, std=0.02)
        nn.init.trunc_normal_(self.temporal_position, std=0.02)

    def forward(
        self, keypoints: torch.Tensor, crop_info: torch.Tensor, hybrid: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        window, width = self.window, self.width
        tokens = (
            self.keypoint_embedding(keypoint_inputs(keypoints, crop_info))
            + self.crop_embedding(crop_info).unsqueeze(2)
            + self.feature_projection(hybrid).unsqueeze(2)
            + self.spatial_position
            + self.temporal_position
        )
        # Reshapes use -1 only for the person batch, so they export with constant shapes.
        for spatial, temporal in zip(self.spatial_layers, self.temporal_layers):
            tokens = spatial(tokens.reshape(-1, NUM_JOINTS, width)).reshape(-1, window, NUM_JOINTS, width)
            by_joint = tokens.transpose(1, 2).reshape(-1, window, width)
            tokens = temporal(by_joint).reshape(-1, NUM_JOINTS, window, width).transpose(1, 2)
        tokens = self.output_norm(tokens)
        joints = self.joint_head(tokens) + self.joint_prior
        return subtract_root(joints, joints), tokens
