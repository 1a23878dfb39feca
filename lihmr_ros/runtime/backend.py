"""The interface every inference backend (torch, onnxruntime, tensorrt) implements.

The streaming pipeline talks only to this interface, so the node, offline bag
replay and the benchmarks run the same code whichever engine executes the
network.  The two calls mirror how streaming works: ``encode`` runs the image
encoder on the newest crop of each person (features of earlier frames are
cached per track), ``infer`` runs stages 1 and 2 over each person's window of
cached features.  Arrays are numpy float32 in and out, batched over persons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

BACKEND_NAMES: tuple[str, ...] = ("auto", "tensorrt", "onnxruntime", "torch")
"""Values of the ``backend`` setting; ``auto`` tries the others in this order."""


class BackendUnavailableError(RuntimeError):
    """An explicitly requested backend cannot run here (missing library, no GPU, bad engine)."""


@dataclass(frozen=True)
class InferenceResult:
    """Network outputs for B persons, camera axes, metres, root-relative (mid-hip at origin)."""

    vertices: np.ndarray
    """(B, Vf, 3) float32 full-resolution mesh of each person's target frame."""
    joints3d: np.ndarray
    """(B, 17, 3) float32 COCO-17 joints regressed from ``vertices``."""
    shape: np.ndarray
    """(B, P) float32 body-model shape parameters (Anny phenotypes in [0, 1])."""


class InferenceBackend(Protocol):
    """One loaded network, ready to run; created by ``lihmr_ros.runtime.create_backend``."""

    name: str
    """``torch``, ``onnxruntime`` or ``tensorrt``: what actually runs (logged and in diagnostics)."""
    description: str
    """Human-readable detail: device, precision, providers, engine file."""
    window: int
    """T, frames per person window the network was built for."""
    crop_size: int
    """S, side of the square person crop in pixels."""
    feature_dim: int
    """D, length of one frame's image feature."""
    max_people: int
    """Largest person batch ``encode``/``infer`` accept (TensorRT profiles are built for it)."""

    def encode(self, crops: np.ndarray) -> np.ndarray:
        """(N, 3, S, S) float32 RGB crops in [0, 1] -> (N, D) float32 features."""
        ...

    def infer(self, features: np.ndarray, keypoints: np.ndarray, crop_info: np.ndarray) -> InferenceResult:
        """Stages 1 + 2 for B person windows.

        ``features`` (B, T, D), ``keypoints`` (B, T, 17, 3) crop-normalised with
        confidence, ``crop_info`` (B, T, 3); see ``lihmr_ros.model.inputs``.
        """
        ...

    def close(self) -> None:
        """Release sessions, engines and device memory."""
        ...
