"""TensorRT backend: cached engines of ``encoder.onnx`` and the fused ``temporal.onnx`` on a CUDA GPU.

Stages 1 + 2 run as one engine (the fused graph): TensorRT fuses across the
stage boundary and a window costs one enqueue instead of two; onnxruntime
measured the fused graph faster on CPU too (docs/benchmarks.md).

Device memory is torch CUDA tensors (torch is always installed, and on a
Jetson its CUDA build is the one JetPack provides), allocated once for
``max_people`` persons together with pinned host staging buffers; each call
copies the persons' inputs in, sets the input shapes, enqueues with
``execute_async_v3`` on the backend's own CUDA stream and copies the wanted
outputs back, all asynchronously, then synchronises once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lihmr_ros.model.tensorrt_ops import unsupported_by_tensorrt
from lihmr_ros.runtime.backend import BackendUnavailableError, InferenceResult
from lihmr_ros.runtime.cache import Logger, read_verified
from lihmr_ros.runtime.checked import CheckedBackend
from lihmr_ros.runtime.onnx_graphs import OnnxGraphs
from lihmr_ros.runtime.tensorrt_engine import (
    GpuIdentity,
    build_serialized_engine,
    deserialize_or_rebuild,
    engine_key,
    import_tensorrt,
    load_or_build,
    store,
    tensorrt_logger,
    timing_cache_key,
)

STREAM_GRAPHS = ("encoder", "temporal")
PRECISIONS = ("auto", "fp32", "fp16")
TEMPORAL_OUTPUTS = ("vertices", "joints", "shape")


class EngineRunner:
    """One deserialised engine with its execution context and buffers for up to ``max_people`` persons."""

    def __init__(self, trt: Any, engine: Any, max_people: int, device: Any, stream: Any) -> None:
        import torch

        self._engine = engine
        self._context = engine.create_execution_context()
        if self._context is None:
            raise BackendUnavailableError("TensorRT could not create an execution context (out of GPU memory?)")
        self._stream = stream
        self._device_buffers: dict[str, torch.Tensor] = {}
        self._host_buffers: dict[str, torch.Tensor] = {}
        self.input_names: list[str] = []
        self.output_names: list[str] = []
        for index in range(engine.num_io_tensors):
            name = engine.get_tensor_name(index)
            if engine.get_tensor_dtype(name) != trt.float32:
                raise BackendUnavailableError(f"engine tensor {name!r} is {engine.get_tensor_dtype(name)}, not float32")
            trailing = tuple(engine.get_tensor_shape(name))[1:]
            if any(size < 0 for size in trailing):
                raise BackendUnavailableError(f"engine tensor {name!r} has dynamic non-batch dimensions {trailing}")
            shape = (max_people, *trailing)
            self._device_buffers[name] = torch.empty(shape, dtype=torch.float32, device=device)
            self._host_buffers[name] = torch.empty(shape, dtype=torch.float32, pin_memory=True)
            self._context.set_tensor_address(name, self._device_buffers[name].data_ptr())
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            (self.input_names if is_input else self.output_names).append(name)

    def run(self, feeds: dict[str, np.ndarray], wanted: Sequence[str]) -> list[np.ndarray]:
        """Run for the persons in ``feeds`` (all the same batch); returns copies of the ``wanted`` outputs."""
        import torch

        persons = next(iter(feeds.values())).shape[0]
        with torch.cuda.stream(self._stream):
            for name in self.input_names:
                host = self._host_buffers[name][:persons]
                host.numpy()[...] = feeds[name]
                self._device_buffers[name][:persons].copy_(host, non_blocking=True)
                if not self._context.set_input_shape(name, tuple(feeds[name].shape)):
                    raise ValueError(f"TensorRT rejected input shape {feeds[name].shape} for {name!r}")
            if not self._context.execute_async_v3(self._stream.cuda_stream):
                raise RuntimeError("TensorRT execute_async_v3 failed (see the TensorRT log)")
            for name in wanted:
                self._host_buffers[name][:persons].copy_(self._device_buffers[name][:persons], non_blocking=True)
        self._stream.synchronize()
        return [self._host_buffers[name][:persons].numpy().copy() for name in wanted]

    def close(self) -> None:
        self._device_buffers.clear()
        self._host_buffers.clear()
        self._context = None
        self._engine = None


class TensorRTBackend(CheckedBackend):
    """Encoder and fused stages 1 + 2 as TensorRT engines."""

    name = "tensorrt"

    def __init__(
        self,
        graphs: OnnxGraphs,
        engine_dir: Path | None,
        timing_cache_dir: Path | None,
        max_people: int,
        logger: Logger,
        device: str = "auto",
        precision: str = "auto",
    ) -> None:
        if max_people < 1:
            raise ValueError(f"max_people must be >= 1, got {max_people}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        trt = import_tensorrt()
        cuda_device = cuda_device_for(device)
        import torch

        major, minor = torch.cuda.get_device_capability(cuda_device)
        gpu = GpuIdentity(torch.cuda.get_device_name(cuda_device), (major, minor))
        fp16 = _use_fp16(trt, precision, gpu)
        timing_cache_path = None
        if timing_cache_dir is not None:
            timing_cache_path = timing_cache_dir / f"tensorrt-{trt.__version__}-{gpu.slug}.timing"
        for graph in STREAM_GRAPHS:
            unsupported = unsupported_by_tensorrt(graphs.path(graph))
            if unsupported:
                raise BackendUnavailableError(
                    f"{graphs.path(graph)} uses operators TensorRT's ONNX parser does not support: "
                    f"{', '.join(sorted(unsupported))}"
                )
        config = graphs.network_config
        self.window = config.window
        self.crop_size = config.crop.size
        self.feature_dim = config.encoder.feature_dim
        self.max_people = max_people
        self._device = cuda_device
        with torch.cuda.device(cuda_device):
            # Kept for the backend's lifetime: TensorRT requires the runtime to outlive its engines.
            self._runtime = trt.Runtime(tensorrt_logger(trt))
            self._stream = torch.cuda.Stream()
            self._runners = {}
            for graph in STREAM_GRAPHS:
                engine = _load_engine(
                    trt, self._runtime, graphs, graph, engine_dir, timing_cache_path, gpu, fp16, max_people, logger
                )
                self._runners[graph] = EngineRunner(trt, engine, max_people, cuda_device, self._stream)
        precision_name = "fp16" if fp16 else "fp32"
        where = engine_dir if engine_dir is not None else "memory only"
        self.description = (
            f"TensorRT {trt.__version__} on {gpu.name} (sm{gpu.compute_capability[0]}{gpu.compute_capability[1]}, "
            f"{precision_name}, 1..{max_people} persons), engines in {where}"
        )

    def _encode(self, crops: np.ndarray) -> np.ndarray:
        import torch

        with torch.cuda.device(self._device):
            return self._runners["encoder"].run({"crops": crops}, ["features"])[0]

    def _infer(self, features: np.ndarray, keypoints: np.ndarray, crop_info: np.ndarray) -> InferenceResult:
        import torch

        feeds = {"features": features, "keypoints": keypoints, "crop_info": crop_info}
        with torch.cuda.device(self._device):
            vertices, joints, shape = self._runners["temporal"].run(feeds, TEMPORAL_OUTPUTS)
        return InferenceResult(vertices=vertices, joints3d=joints, shape=shape)

    def _release(self) -> None:
        import torch

        for runner in self._runners.values():
            runner.close()
        self._runners.clear()
        self._runtime = None
        torch.cuda.empty_cache()


def check_tensorrt_available(device: str) -> None:
    """Raise :class:`BackendUnavailableError` unless TensorRT >= 10 and a CUDA GPU are usable for ``device``.

    Cheap (no export, no build), so ``auto`` can skip TensorRT before paying for anything.
    """
    import_tensorrt()
    cuda_device_for(device)


def cuda_device_for(device: str) -> Any:
    """The torch CUDA device TensorRT runs on; CPU or a torch without CUDA is unavailable, not a crash."""
    if device == "cpu":
        raise BackendUnavailableError("the tensorrt backend runs on a CUDA GPU, but device 'cpu' was requested")
    import torch

    if not torch.cuda.is_available():
        raise BackendUnavailableError(
            f"the tensorrt backend needs a CUDA GPU visible to torch (its device buffers are torch CUDA tensors); "
            f"torch {torch.__version__} sees none"
        )
    if device == "auto":
        return torch.device("cuda", torch.cuda.current_device())
    if device != "cuda" and not device.startswith("cuda:"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    resolved = torch.device(device)
    return torch.device("cuda", resolved.index if resolved.index is not None else torch.cuda.current_device())


def _use_fp16(trt: Any, precision: str, gpu: GpuIdentity) -> bool:
    """``auto``: FP16 when the GPU runs it at full rate and this TensorRT still has the FP16 builder flag."""
    has_flag = hasattr(trt.BuilderFlag, "FP16")
    if precision == "fp16" and not (has_flag and gpu.has_fast_fp16):
        why = f"TensorRT {trt.__version__} has no FP16 builder flag" if not has_flag else f"{gpu.slug} lacks fast FP16"
        raise BackendUnavailableError(f"precision 'fp16' requested but {why}; use 'auto' or 'fp32'")
    return precision != "fp32" and has_flag and gpu.has_fast_fp16


def _load_engine(
    trt: Any,
    runtime: Any,
    graphs: OnnxGraphs,
    graph: str,
    engine_dir: Path | None,
    timing_cache_path: Path | None,
    gpu: GpuIdentity,
    fp16: bool,
    max_people: int,
    logger: Logger,
) -> Any:
    """Cached or freshly built engine of one graph, deserialised."""
    onnx_path = graphs.path(graph)
    key = engine_key(graphs.file_sha256(graph), trt.__version__, gpu, fp16, max_people)
    timing_key = timing_cache_key(trt.__version__, gpu)
    largest = graphs.input_shapes(graph, max_people)
    # min = opt = one person: the latency that matters most on a robot is the single-person frame.
    profile = {name: (shape, shape, largest[name]) for name, shape in graphs.input_shapes(graph, 1).items()}

    def build() -> bytes:
        timing = read_verified(timing_cache_path, timing_key)[0] if timing_cache_path is not None else None
        engine, new_timing = build_serialized_engine(trt, onnx_path, profile, fp16, timing or b"")
        if timing_cache_path is not None:
            store(timing_cache_path, new_timing, timing_key, logger, "TensorRT timing cache")
        return engine

    artifact = engine_dir / f"{graph}.engine" if engine_dir is not None else None
    data = load_or_build(artifact, key, build, logger, f"TensorRT engine {graph}")
    return deserialize_or_rebuild(trt, runtime, data, artifact, key, build, logger)
