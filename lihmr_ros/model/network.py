"""The whole LIHMR network: image encoder, stage 1 (frequency + lifter), stage 2 (refiner).

The three parts are separate modules on purpose: in streaming the encoder runs
once per new frame on the newest crop while stages 1 and 2 run over the window
of cached features, and each part exports to its own ONNX graph.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.encoder import ImageEncoder
from lihmr_ros.model.frequency import LatentFrequencyExtractor
from lihmr_ros.model.lifter import NUM_JOINTS, SpatioTemporalLifter
from lihmr_ros.model.refiner import MeshRefiner


class LiftedWindow(NamedTuple):
    """Stage-1 outputs."""

    joints3d: torch.Tensor
    """(B, T, 17, 3) root-relative 3D joints for every frame of the window."""
    target_hybrid: torch.Tensor
    """(B, D) hybrid feature of the target frame."""
    target_tokens: torch.Tensor
    """(B, 17, C) lifter joint tokens of the target frame."""


class NetworkOutput(NamedTuple):
    """Everything the network predicts for a batch of person windows (metres, camera axes)."""

    vertices: torch.Tensor
    """(B, Vf, 3) full mesh of the target frame, root-relative."""
    joints: torch.Tensor
    """(B, 17, 3) COCO-17 joints regressed from ``vertices``."""
    coarse_vertices: torch.Tensor
    """(B, Vc, 3) coarse mesh of the target frame."""
    shape: torch.Tensor
    """(B, P) shape parameters in [0, 1]."""
    lifted_joints: torch.Tensor
    """(B, T, 17, 3) stage-1 joints of every frame (training losses)."""


class LiftingStage(nn.Module):
    """Stage 1: per-frame features + 2D keypoints of a window -> 3D joints and target-frame tokens."""

    def __init__(self, config: NetworkConfig, rest_joints: np.ndarray) -> None:
        super().__init__()
        self.target_index = config.target_index
        self.image_features = config.image_features
        self.frequency = LatentFrequencyExtractor(
            config.window, config.encoder.feature_dim, config.frequency, config.lifter.mlp_ratio
        )
        self.lifter = SpatioTemporalLifter(config.window, config.encoder.feature_dim, config.lifter, rest_joints)

    def forward(self, features: torch.Tensor, keypoints: torch.Tensor, crop_info: torch.Tensor) -> LiftedWindow:
        if not self.image_features:
            features = torch.zeros_like(features)
        hybrid = self.frequency(features)
        joints3d, tokens = self.lifter(keypoints, crop_info, hybrid)
        return LiftedWindow(joints3d, hybrid[:, self.target_index], tokens[:, self.target_index])


class LIHMRNet(nn.Module):
    """Two-stage human mesh recovery network built around one :class:`MeshTemplate`."""

    def __init__(self, config: NetworkConfig, template: MeshTemplate) -> None:
        super().__init__()
        self.config = config
        self.template_fingerprint = template.fingerprint()
        self.encoder = ImageEncoder(config.encoder)
        self.lifting = LiftingStage(config, template.rest_joints)
        self.refiner = MeshRefiner(template, config.lifter.width, config.encoder.feature_dim, config.refiner)

    def encode_crops(self, crops: torch.Tensor) -> torch.Tensor:
        """Stage 0, per frame: crops (N, 3, S, S) in [0, 1] -> features (N, D)."""
        size = self.config.crop.size
        if crops.ndim != 4 or tuple(crops.shape[1:]) != (3, size, size):
            raise ValueError(f"crops must be (N, 3, {size}, {size}) RGB in [0, 1], got {tuple(crops.shape)}")
        return self.encoder(crops)

    def forward_features(
        self, features: torch.Tensor, keypoints: torch.Tensor, crop_info: torch.Tensor
    ) -> NetworkOutput:
        """Stages 1 + 2 from cached per-frame features (B, T, D), keypoints (B, T, 17, 3), crop_info (B, T, 3)."""
        self._check_window(features, keypoints, crop_info)
        lifted = self.lifting(features, keypoints, crop_info)
        target_joints = lifted.joints3d[:, self.config.target_index]
        mesh = self.refiner(lifted.target_tokens, target_joints, lifted.target_hybrid)
        return NetworkOutput(mesh.vertices, mesh.joints, mesh.coarse_vertices, mesh.shape, lifted.joints3d)

    def forward(self, crops: torch.Tensor, keypoints: torch.Tensor, crop_info: torch.Tensor) -> NetworkOutput:
        """All stages from crops (B, T, 3, S, S), keypoints (B, T, 17, 3), crop_info (B, T, 3)."""
        if crops.ndim != 5:
            raise ValueError(f"crops must be (B, T, 3, S, S), got {tuple(crops.shape)}")
        features = self.encode_crops(crops.flatten(0, 1)).unflatten(0, crops.shape[:2])
        return self.forward_features(features, keypoints, crop_info)

    def _check_window(self, features: torch.Tensor, keypoints: torch.Tensor, crop_info: torch.Tensor) -> None:
        batch, window, dim = features.shape[0], self.config.window, self.config.encoder.feature_dim
        expected = {
            "features": (features, (batch, window, dim)),
            "keypoints": (keypoints, (batch, window, NUM_JOINTS, 3)),
            "crop_info": (crop_info, (batch, window, 3)),
        }
        for name, (tensor, shape) in expected.items():
            if tuple(tensor.shape) != shape:
                raise ValueError(
                    f"{name} must have shape {shape} (batch, window={window}, ...), got {tuple(tensor.shape)}"
                )


def window_indices(num_frames: int, window: int, target_index: int) -> np.ndarray:
    """(N, T) frame indices of the window around each frame, edge-padded at the sequence ends.

    Frame t sits at position ``target_index`` of its window: ``T - 1`` gives
    the causal window [t-T+1 .. t], ``T // 2`` the centred one.
    """
    if num_frames < 1:
        raise ValueError("a sequence needs at least one frame")
    offsets = np.arange(window) - target_index
    return np.clip(np.arange(num_frames)[:, None] + offsets[None, :], 0, num_frames - 1)


@torch.no_grad()
def predict_sequence(
    network: LIHMRNet,
    crops: torch.Tensor,
    keypoints: torch.Tensor,
    crop_info: torch.Tensor,
    batch_size: int = 32,
) -> NetworkOutput:
    """Run the network over one person's whole sequence, one output per frame.

    crops (N, 3, S, S), keypoints (N, 17, 3), crop_info (N, 3).  Each frame's
    feature is computed once; frame t is then refined from its window as the
    config's mode dictates (causal: frames t-T+1..t; center: t-T//2..t+T-1-T//2),
    repeating the first / last frame beyond the ends.  Outputs are stacked over
    frames (``lifted_joints`` is the window of each frame).  Put the network in
    eval mode first: in train mode BatchNorm would mix the frames of a batch.
    """
    features = torch.cat([network.encode_crops(chunk) for chunk in crops.split(batch_size)])
    return predict_sequence_features(network, features, keypoints, crop_info, batch_size)


@torch.no_grad()
def predict_sequence_features(
    network: LIHMRNet,
    features: torch.Tensor,
    keypoints: torch.Tensor,
    crop_info: torch.Tensor,
    batch_size: int = 32,
) -> NetworkOutput:
    """:func:`predict_sequence` from per-frame features (N, D) already computed by the encoder."""
    num_frames = features.shape[0]
    if keypoints.shape[0] != num_frames or crop_info.shape[0] != num_frames:
        raise ValueError(
            f"crops (features), keypoints and crop_info need one entry per frame, got "
            f"{num_frames}, {keypoints.shape[0]}, {crop_info.shape[0]}"
        )
    index = torch.as_tensor(
        window_indices(num_frames, network.config.window, network.config.target_index), device=features.device
    )
    results = [
        network.forward_features(features[rows], keypoints[rows], crop_info[rows]) for rows in index.split(batch_size)
    ]
    return NetworkOutput(*(torch.cat(parts) for parts in zip(*results)))
