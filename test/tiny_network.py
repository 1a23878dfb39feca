"""The narrow network the runtime and model tests share: every component present, small enough that
exporting, building backends and running it stays fast on two cores.  Import it as ``tiny_network``
(pytest puts this folder on the import path)."""

from __future__ import annotations

from pathlib import Path

import torch

from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import EncoderConfig, LifterConfig, NetworkConfig, RefinerConfig
from lihmr_ros.model.inputs import CropSpec
from lihmr_ros.model.network import LIHMRNet

TINY_NETWORK = NetworkConfig(
    window=4,
    crop=CropSpec(size=32),
    encoder=EncoderConfig(feature_dim=32, channels=(8, 16)),
    lifter=LifterConfig(width=32, depth=1),
    refiner=RefinerConfig(width=32, latent_tokens=8, latent_width=16, low_blocks=1, full_blocks=1, residual_rank=4),
)


def save_tiny_checkpoint(path: Path, config: NetworkConfig = TINY_NETWORK, seed: int = 0) -> Path:
    """An untrained (seeded) network of ``config`` saved as a runtime checkpoint at ``path``."""
    from lihmr_ros.body import load_template

    torch.manual_seed(seed)
    return save_checkpoint(path, LIHMRNet(config, load_template()))
