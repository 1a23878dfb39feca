"""Run a backend over any number of persons in chunks of at most ``max_people``.

Backends accept a bounded batch (TensorRT builds its optimisation profile for
1..max_people); a frame may hold more people than that, e.g. from an external
keypoint source.  Chunking here keeps the pipeline correct for any count
while every call stays inside what the engine was built for.
"""

from __future__ import annotations

import numpy as np

from lihmr_ros.runtime.backend import InferenceBackend, InferenceResult


def _chunks(count: int, size: int) -> list[slice]:
    if size < 1:
        raise ValueError(f"backend max_people must be >= 1, got {size}")
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def encode_in_chunks(backend: InferenceBackend, crops: np.ndarray) -> np.ndarray:
    """(N, 3, S, S) crops -> (N, D) features, at most ``backend.max_people`` crops per call."""
    if len(crops) == 0:
        return np.zeros((0, backend.feature_dim), dtype=np.float32)
    return np.concatenate([backend.encode(crops[part]) for part in _chunks(len(crops), backend.max_people)])


def infer_in_chunks(
    backend: InferenceBackend, features: np.ndarray, keypoints: np.ndarray, crop_info: np.ndarray
) -> InferenceResult:
    """Stages 1 + 2 for B windows, at most ``backend.max_people`` windows per call, results concatenated."""
    parts = [
        backend.infer(features[part], keypoints[part], crop_info[part])
        for part in _chunks(len(features), backend.max_people)
    ]
    return InferenceResult(
        vertices=np.concatenate([p.vertices for p in parts]),
        joints3d=np.concatenate([p.joints3d for p in parts]),
        shape=np.concatenate([p.shape for p in parts]),
    )
