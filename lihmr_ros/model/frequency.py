"""Latent-frequency extractor: split per-frame features into temporal bands and mix them.

Stage 1 of the paper: a discrete wavelet transform along time separates the
slowly varying part of a window of image features (low band: overall shape,
global alignment) from the fast part (high band: local motion and detail).
The low band is mixed globally with self-attention, the high band locally with
a temporal convolution, and the inverse transform returns a "hybrid" feature
per frame.

The Haar transform is expressed as fixed matrix products built once for the
window length, not as FFT/DFT ops: TensorRT's ONNX parser has no ``DFT`` and
a (T/2 x T) matrix product is both exact and cheaper at these sizes.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from lihmr_ros.model.config import FrequencyConfig
from lihmr_ros.model.layers import SelfAttentionLayer


def haar_matrices(window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One-level orthonormal Haar DWT along time for ``window`` frames, padding folded in.

    Returns ``(analysis_low, analysis_high, synthesis_low, synthesis_high)``
    with shapes (H, T), (H, T), (T, H), (T, H), H = ceil(T / 2), such that
    ``low = A_l @ x``, ``high = A_h @ x`` and ``x == S_l @ low + S_h @ high``.
    An odd window is padded by repeating its last frame before the transform
    and the reconstruction is cropped back to T frames afterwards.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    half = math.ceil(window / 2)
    padded = 2 * half
    pad = np.zeros((padded, window))
    pad[np.arange(window), np.arange(window)] = 1.0
    pad[window:, window - 1] = 1.0  # edge replication of the last frame
    crop = np.eye(window, padded)
    low = np.zeros((half, padded))
    high = np.zeros((half, padded))
    for band in range(half):
        low[band, 2 * band : 2 * band + 2] = (1.0, 1.0)
        high[band, 2 * band : 2 * band + 2] = (1.0, -1.0)
    low /= math.sqrt(2.0)
    high /= math.sqrt(2.0)
    return low @ pad, high @ pad, crop @ low.T, crop @ high.T


class LatentFrequencyExtractor(nn.Module):
    """(B, T, D) per-frame features -> (B, T, D) hybrid features.

    With ``config.split`` off (the paper's "without frequency split" ablation)
    the same kind of attention layer mixes all T frames directly, with no
    band separation and no high-band convolution.
    """

    def __init__(self, window: int, feature_dim: int, config: FrequencyConfig, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        self.split = config.split
        if not self.split:
            self.frame_position = nn.Parameter(torch.zeros(window, feature_dim))
            self.frame_mixer = SelfAttentionLayer(feature_dim, config.heads, mlp_ratio, tokens=window)
            nn.init.trunc_normal_(self.frame_position, std=0.02)
            return
        analysis_low, analysis_high, synthesis_low, synthesis_high = haar_matrices(window)
        for name, matrix in (
            ("analysis_low", analysis_low),
            ("analysis_high", analysis_high),
            ("synthesis_low", synthesis_low),
            ("synthesis_high", synthesis_high),
        ):
            self.register_buffer(name, torch.as_tensor(matrix, dtype=torch.float32), persistent=False)
        bands = analysis_low.shape[0]
        self.low_position = nn.Parameter(torch.zeros(bands, feature_dim))
        self.low_mixer = SelfAttentionLayer(feature_dim, config.heads, mlp_ratio, tokens=bands)
        self.high_norm = nn.LayerNorm(feature_dim)
        self.high_mixer = nn.Sequential(
            nn.Conv1d(feature_dim, feature_dim, config.kernel_size, padding=config.kernel_size // 2),
            nn.GELU(),
            nn.Conv1d(feature_dim, feature_dim, 1),
        )
        nn.init.trunc_normal_(self.low_position, std=0.02)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if not self.split:
            return self.frame_mixer(features + self.frame_position)
        low = self.analysis_low @ features
        high = self.analysis_high @ features
        low = self.low_mixer(low + self.low_position)
        high = high + self.high_mixer(self.high_norm(high).transpose(1, 2)).transpose(1, 2)
        return self.synthesis_low @ low + self.synthesis_high @ high
