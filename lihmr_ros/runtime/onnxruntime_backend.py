"""onnxruntime backend: the exported graphs on CPU, or on the GPU through CUDA / TensorRT execution providers.

Stages 1 and 2 run as the fused ``temporal.onnx`` (one call per window):
measured on the 2-core dev CPU, fused was 3-8 % faster than ``stage1.onnx``
then ``stage2.onnx`` (medians 6.6 vs 7.0 ms at 1 person, 19.3 vs 21.1 ms at 4
persons, 2 threads; docs/benchmarks.md), with identical outputs, and it saves
a host round trip of the intermediate tensors on a GPU provider.

CPU sessions come from :func:`lihmr_ros.model.ort_session.open_session` so
the runtime runs exactly what ``lihmr bench model`` measures.  GPU providers
are used when the installed onnxruntime build has them (``onnxruntime-gpu``);
the stock CPU wheel has neither, which is what ``auto`` finds here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

from lihmr_ros.model.ort_session import open_session
from lihmr_ros.runtime.backend import BackendUnavailableError, InferenceResult
from lihmr_ros.runtime.cache import Logger
from lihmr_ros.runtime.checked import CheckedBackend
from lihmr_ros.runtime.onnx_graphs import OnnxGraphs

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
PRECISIONS = ("auto", "fp32", "fp16")
STREAM_GRAPHS = ("encoder", "temporal")
TEMPORAL_OUTPUTS = ("vertices", "joints", "shape")


def select_providers(device: str, available: list[str]) -> list[str]:
    """Execution providers for ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``) from those installed."""
    gpu = [provider for provider in GPU_PROVIDERS if provider in available]
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "auto":
        return [*gpu, "CPUExecutionProvider"]
    if device == "cuda" or device.startswith("cuda:"):
        if not gpu:
            raise BackendUnavailableError(
                f"onnxruntime {onnxruntime.__version__} has no GPU execution provider (installed: "
                f"{', '.join(available)}); install onnxruntime-gpu or use device 'cpu'"
            )
        return [*gpu, "CPUExecutionProvider"]
    raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")


def resolve_providers(device: str, precision: str) -> list[str]:
    """Providers for ``device`` and ``precision``; unusable requests fail here, before any export work."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    providers = select_providers(device, onnxruntime.get_available_providers())
    if precision == "fp16" and "TensorrtExecutionProvider" not in providers:
        raise BackendUnavailableError(
            "onnxruntime runs the fp32 graphs; precision 'fp16' needs its TensorRT execution provider "
            "(use 'fp32'/'auto', or backend 'tensorrt'/'torch')"
        )
    return providers


class OnnxRuntimeBackend(CheckedBackend):
    """``encoder.onnx`` + ``temporal.onnx`` in onnxruntime sessions."""

    name = "onnxruntime"

    def __init__(
        self,
        graphs: OnnxGraphs,
        max_people: int,
        logger: Logger,
        device: str = "auto",
        precision: str = "auto",
        threads: int = 2,
        tensorrt_cache_dir: Path | None = None,
    ) -> None:
        if max_people < 1:
            raise ValueError(f"max_people must be >= 1, got {max_people}")
        providers = resolve_providers(device, precision)
        config = graphs.network_config
        self.window = config.window
        self.crop_size = config.crop.size
        self.feature_dim = config.encoder.feature_dim
        self.max_people = max_people
        if providers == ["CPUExecutionProvider"]:
            self._sessions = {name: open_session(graphs.path(name), threads) for name in STREAM_GRAPHS}
            where = f"CPU, {threads} threads"
        else:
            device_id = int(device.split(":")[1]) if device.startswith("cuda:") else 0
            if tensorrt_cache_dir is not None and "TensorrtExecutionProvider" in providers:
                tensorrt_cache_dir.mkdir(parents=True, exist_ok=True)
            self._sessions = {
                name: _gpu_session(
                    graphs.path(name),
                    providers,
                    _provider_options(providers, graphs, name, max_people, device_id, precision, tensorrt_cache_dir),
                )
                for name in STREAM_GRAPHS
            }
            where = ", ".join(self._sessions["temporal"].get_providers())
        logger.info(f"onnxruntime backend: graphs from {graphs.directory}, providers {where}")
        self.description = f"onnxruntime {onnxruntime.__version__} ({where}), fused temporal graph"

    def _encode(self, crops: np.ndarray) -> np.ndarray:
        return self._sessions["encoder"].run(["features"], {"crops": crops})[0]

    def _infer(self, features: np.ndarray, keypoints: np.ndarray, crop_info: np.ndarray) -> InferenceResult:
        feeds = {"features": features, "keypoints": keypoints, "crop_info": crop_info}
        vertices, joints, shape = self._sessions["temporal"].run(list(TEMPORAL_OUTPUTS), feeds)
        return InferenceResult(vertices=vertices, joints3d=joints, shape=shape)

    def _release(self) -> None:
        self._sessions.clear()


def _provider_options(
    providers: list[str],
    graphs: OnnxGraphs,
    graph: str,
    max_people: int,
    device_id: int,
    precision: str,
    tensorrt_cache_dir: Path | None,
) -> list[dict[str, Any]]:
    """Per-provider options of one graph: GPU index; for TensorRT also fp16, engine cache, 1..max_people profile."""
    options: list[dict[str, Any]] = []
    for provider in providers:
        if provider == "TensorrtExecutionProvider":
            def profile(persons: int) -> str:
                shapes = graphs.input_shapes(graph, persons)
                return ",".join(f"{name}:{'x'.join(map(str, shape))}" for name, shape in shapes.items())

            trt: dict[str, Any] = {
                "device_id": device_id,
                "trt_fp16_enable": precision != "fp32",
                "trt_profile_min_shapes": profile(1),
                "trt_profile_opt_shapes": profile(1),
                "trt_profile_max_shapes": profile(max_people),
            }
            if tensorrt_cache_dir is not None:
                trt.update(
                    trt_engine_cache_enable=True,
                    trt_engine_cache_path=str(tensorrt_cache_dir),
                    trt_timing_cache_enable=True,
                    trt_timing_cache_path=str(tensorrt_cache_dir),
                )
            options.append(trt)
        elif provider == "CUDAExecutionProvider":
            options.append({"device_id": device_id})
        else:
            options.append({})
    return options


def _gpu_session(path: Path, providers: list[str], options: list[dict[str, Any]]) -> onnxruntime.InferenceSession:
    session_options = onnxruntime.SessionOptions()
    session_options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session_options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), session_options, providers=providers, provider_options=options)
