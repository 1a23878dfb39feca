"""Inference backends (PyTorch, onnxruntime, TensorRT) behind one interface.

ROS-free: the node, offline replay and ``lihmr bench`` all go through
:func:`create_backend` and the :class:`InferenceBackend` it returns.  Heavy
libraries (torch, onnxruntime, tensorrt) are imported only when a backend
that needs them is created.
"""

from lihmr_ros.runtime.backend import BACKEND_NAMES, BackendUnavailableError, InferenceBackend, InferenceResult
from lihmr_ros.runtime.cache import default_cache_root
from lihmr_ros.runtime.factory import create_backend

__all__ = [
    "BACKEND_NAMES",
    "BackendUnavailableError",
    "InferenceBackend",
    "InferenceResult",
    "create_backend",
    "default_cache_root",
]
