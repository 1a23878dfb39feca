"""PyTorch backend: the network module itself, on CPU or CUDA, fp32 or fp16.

Always available (torch is a hard dependency), so it is the last fallback of
``auto``.  On CUDA the streaming calls have fixed shapes per person count, so
each (call, persons) pair is captured once as a CUDA graph and replayed: the
network is a long chain of small kernels and launching them one by one from
Python costs more than running them.  A call that cannot be captured runs
eagerly from then on, with a warning.  On CPU nothing is captured; the calls
run under ``torch.inference_mode`` with the configured thread count.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.runtime.backend import BackendUnavailableError, InferenceResult
from lihmr_ros.runtime.cache import Logger
from lihmr_ros.runtime.checked import CheckedBackend

PRECISIONS = ("auto", "fp32", "fp16")
CUDA_GRAPH_WARMUP_CALLS = 3
"""Eager calls on a side stream before capture, so cuDNN/cuBLAS pick and allocate their kernels first."""


def resolve_torch_device(device: str) -> torch.device:
    """``auto`` -> CUDA when this torch build sees a GPU, else CPU; explicit CUDA must exist."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailableError(
            f"device {device!r} requested but this torch build ({torch.__version__}) sees no CUDA GPU; "
            "use device 'cpu' or 'auto'"
        )
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    return resolved


def resolve_precision(precision: str, on_cuda: bool) -> torch.dtype:
    """``auto`` -> fp16 on CUDA, fp32 on CPU; fp16 on CPU is refused (slow and poorly supported there)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp16" and not on_cuda:
        raise BackendUnavailableError("precision 'fp16' needs a CUDA device; use 'fp32' or 'auto' on CPU")
    if precision == "fp16" or (precision == "auto" and on_cuda):
        return torch.float16
    return torch.float32


class CapturedCall:
    """One CUDA-graph capture of ``function`` for fixed input shapes; replays write into fixed outputs."""

    def __init__(self, function: Callable[..., object], example_inputs: Sequence[torch.Tensor]) -> None:
        self._inputs = tuple(tensor.clone() for tensor in example_inputs)
        side_stream = torch.cuda.Stream()
        side_stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side_stream):
            for _ in range(CUDA_GRAPH_WARMUP_CALLS):
                function(*self._inputs)
        torch.cuda.current_stream().wait_stream(side_stream)
        self._graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._graph):
            self._outputs = function(*self._inputs)

    def __call__(self, *inputs: torch.Tensor) -> object:
        """Copy ``inputs`` into the captured buffers and replay; the result is overwritten by the next call."""
        for static, new in zip(self._inputs, inputs):
            static.copy_(new)
        self._graph.replay()
        return self._outputs


class TorchBackend(CheckedBackend):
    """Runs :class:`LIHMRNet` directly."""

    name = "torch"

    def __init__(
        self,
        network: LIHMRNet,
        max_people: int,
        logger: Logger,
        device: str = "auto",
        precision: str = "auto",
        threads: int = 2,
        cuda_graphs: bool = True,
    ) -> None:
        if max_people < 1 or threads < 1:
            raise ValueError(f"max_people and threads must be >= 1, got {max_people} and {threads}")
        self._device = resolve_torch_device(device)
        on_cuda = self._device.type == "cuda"
        self._dtype = resolve_precision(precision, on_cuda)
        self._logger = logger
        self._use_graphs = cuda_graphs and on_cuda
        self._captured: dict[tuple[str, int], CapturedCall] = {}
        if not on_cuda:
            # Process-wide setting; the node runs one network, so it is the network's thread budget.
            torch.set_num_threads(threads)
        self._network = network.eval().to(device=self._device, dtype=self._dtype)
        config = network.config
        self.window = config.window
        self.crop_size = config.crop.size
        self.feature_dim = config.encoder.feature_dim
        self.max_people = max_people
        where = torch.cuda.get_device_name(self._device) if on_cuda else f"CPU, {threads} threads"
        graphs = ", CUDA graphs" if self._use_graphs else ""
        precision_name = "fp16" if self._dtype == torch.float16 else "fp32"
        self.description = f"torch {torch.__version__} on {where} ({precision_name}{graphs})"

    def _encode(self, crops: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            features = self._call("encode", self._network.encode_crops, (self._tensor(crops),))
            return features.float().cpu().numpy()

    def _infer(self, features: np.ndarray, keypoints: np.ndarray, crop_info: np.ndarray) -> InferenceResult:
        with torch.inference_mode():
            inputs = tuple(self._tensor(array) for array in (features, keypoints, crop_info))
            output = self._call("infer", self._network.forward_features, inputs)
            return InferenceResult(
                vertices=output.vertices.float().cpu().numpy(),
                joints3d=output.joints.float().cpu().numpy(),
                shape=output.shape.float().cpu().numpy(),
            )

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(device=self._device, dtype=self._dtype)

    def _call(self, kind: str, function: Callable[..., object], inputs: tuple[torch.Tensor, ...]) -> object:
        if not self._use_graphs:
            return function(*inputs)
        key = (kind, inputs[0].shape[0])
        captured = self._captured.get(key)
        if captured is None:
            try:
                captured = CapturedCall(function, inputs)
            except RuntimeError as error:
                self._logger.warning(f"torch backend: CUDA graph capture failed ({error}); running eagerly")
                self._use_graphs = False
                return function(*inputs)
            self._captured[key] = captured
        return captured(*inputs)

    def _release(self) -> None:
        self._captured.clear()
        self._network = None  # type: ignore[assignment]
        if self._device.type == "cuda":
            torch.cuda.empty_cache()
