"""Per-frame image encoder: a person crop -> one D-dimensional feature.

No pretrained backbone can be shipped or downloaded here, so this is a small
residual CNN trained from scratch.  It is the only part of the network that
sees pixels and, in streaming, it runs once per new frame on the newest crop
only (earlier frames' features are cached), so it is sized for a few
milliseconds on a CPU: each stage halves the resolution right away and works
at low channel counts.  BatchNorm folds into the convolutions at export.
"""

from __future__ import annotations

import torch
from torch import nn

from lihmr_ros.model.config import EncoderConfig


def _conv_bn(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
    )


class DownsamplingBlock(nn.Module):
    """Stride-2 residual block: conv(s2)-BN-ReLU-conv-BN plus a strided 1x1 shortcut."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            _conv_bn(in_channels, out_channels, stride=2),
            nn.ReLU(inplace=True),
            _conv_bn(out_channels, out_channels, stride=1),
        )
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.main(x) + self.shortcut(x))


class ImageEncoder(nn.Module):
    """(N, 3, S, S) RGB crops in [0, 1] -> (N, D) features."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        channels = config.channels
        self.stem = nn.Sequential(_conv_bn(3, channels[0], stride=2), nn.ReLU(inplace=True))
        self.stages = nn.Sequential(
            *(DownsamplingBlock(c_in, c_out) for c_in, c_out in zip(channels[:-1], channels[1:]))
        )
        self.project = nn.Sequential(nn.Linear(channels[-1], config.feature_dim), nn.LayerNorm(config.feature_dim))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        # Centre the [0, 1] input so the first BatchNorm does not have to learn a large shift.
        x = self.stages(self.stem(crops * 2.0 - 1.0))
        return self.project(x.mean(dim=(2, 3)))
