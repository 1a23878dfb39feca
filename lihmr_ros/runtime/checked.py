"""Input checking shared by every backend, so bad input fails the same way whatever engine runs.

Each engine fails differently on a wrong shape (an onnxruntime exception, a
TensorRT shape error in the log and garbage out, a PyTorch broadcast that
silently succeeds), so the checks run here, before any engine sees the data,
with errors that name the argument and the expected shape.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from lihmr_ros.model.inputs import NUM_KEYPOINTS
from lihmr_ros.runtime.backend import InferenceResult


class CheckedBackend(ABC):
    """Implements ``encode`` / ``infer`` of :class:`~lihmr_ros.runtime.backend.InferenceBackend` around checks.

    Subclasses set the interface attributes and implement :meth:`_encode`,
    :meth:`_infer` (which receive C-contiguous float32 arrays of valid shape
    with 1 <= persons <= ``max_people``) and :meth:`_release`.
    """

    name: str
    description: str
    window: int
    crop_size: int
    feature_dim: int
    max_people: int

    _closed = False

    def encode(self, crops: np.ndarray) -> np.ndarray:
        """(N, 3, S, S) float32 RGB crops in [0, 1] -> (N, D) float32 features."""
        self._check_open()
        size = self.crop_size
        crops = self._as_input("crops", crops, (3, size, size), "(N, 3, S, S) RGB crops")
        return self._encode(crops)

    def infer(self, features: np.ndarray, keypoints: np.ndarray, crop_info: np.ndarray) -> InferenceResult:
        """Stages 1 + 2 for B person windows (see the interface)."""
        self._check_open()
        window = self.window
        features = self._as_input("features", features, (window, self.feature_dim), "(B, T, D) window features")
        keypoints = self._as_input("keypoints", keypoints, (window, NUM_KEYPOINTS, 3), "(B, T, 17, 3) keypoints")
        crop_info = self._as_input("crop_info", crop_info, (window, 3), "(B, T, 3) crop info")
        batches = {len(features), len(keypoints), len(crop_info)}
        if len(batches) != 1:
            raise ValueError(
                f"features, keypoints and crop_info must hold the same persons, got batches "
                f"{len(features)}, {len(keypoints)}, {len(crop_info)}"
            )
        return self._infer(features, keypoints, crop_info)

    def close(self) -> None:
        """Release sessions, engines and device memory; later calls raise instead of crashing in the engine."""
        if not self._closed:
            self._closed = True
            self._release()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the {self.name} backend was closed")

    def _as_input(self, name: str, array: np.ndarray, trailing: tuple[int, ...], meaning: str) -> np.ndarray:
        array = np.asarray(array)
        if array.ndim != len(trailing) + 1 or tuple(array.shape[1:]) != trailing:
            raise ValueError(
                f"{self.name} backend: {name} must be {meaning} of shape (persons, {', '.join(map(str, trailing))}), "
                f"got {array.shape}"
            )
        persons = array.shape[0]
        if not 1 <= persons <= self.max_people:
            raise ValueError(
                f"{self.name} backend: {name} holds {persons} persons; this backend was created for "
                f"1..{self.max_people} (raise max_people)"
            )
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"{self.name} backend: {name} must be floating point, got {array.dtype}")
        array = np.ascontiguousarray(array, dtype=np.float32)
        if not np.isfinite(array).all():
            raise ValueError(f"{self.name} backend: {name} contains NaN or infinite values")
        return array

    @abstractmethod
    def _encode(self, crops: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _infer(self, features: np.ndarray, keypoints: np.ndarray, crop_info: np.ndarray) -> InferenceResult: ...

    @abstractmethod
    def _release(self) -> None: ...
