"""TensorRT engines built from our ONNX graphs, cached on disk under a key that says when to rebuild.

An engine is only valid for the graph, the TensorRT version and the GPU it was
built on, so its key is: the ONNX file's SHA-256, ``tensorrt.__version__``,
the GPU name and compute capability, plus the build settings that change the
engine (FP16, the 1..max_people optimisation profile).  On start the cached
engine is read, hashed and compared with its record
(:func:`lihmr_ros.runtime.cache.read_verified`); only then does TensorRT
deserialise it.  A changed key or a damaged file rebuilds the engine (a
minute or more on a Jetson), and TensorRT refusing a file that passed the
checks rebuilds it once as well.

Builds use a timing cache shared by all engines of one TensorRT version and
GPU, so rebuilding after new weights skips most kernel timing.

Written against TensorRT 10's Python API (tensor-name based I/O); ``tensorrt``
is imported only when this backend is asked for.  Not executed on the
development machines, which have neither TensorRT nor a GPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from lihmr_ros.runtime.backend import BackendUnavailableError
from lihmr_ros.runtime.cache import Logger, read_verified, store_artifact

ENGINE_FORMAT = "lihmr-trt-engine-1"
TIMING_CACHE_FORMAT = "lihmr-trt-timing-1"
MIN_TENSORRT_MAJOR = 10
WORKSPACE_BYTES = 1 << 30
"""Builder scratch memory limit; 1 GiB leaves room for the rest of a Jetson's shared memory."""
FAST_FP16_CAPABILITIES = {(5, 3), (6, 0), (6, 2)}
"""Pre-Volta compute capabilities with full-rate FP16 (Jetson Nano/TX1, P100, TX2); all of 7.0+ have it."""


def import_tensorrt() -> Any:
    """The ``tensorrt`` module, or :class:`BackendUnavailableError` saying what to install."""
    try:
        import tensorrt
    except ImportError as error:
        raise BackendUnavailableError(
            f"the tensorrt Python package is not installed ({error}); install TensorRT >= "
            f"{MIN_TENSORRT_MAJOR} (JetPack 6 on Jetson, `pip install tensorrt` on x86 with CUDA 12) or use "
            "backend 'onnxruntime' / 'auto'"
        ) from error
    major = int(tensorrt.__version__.split(".")[0])
    if major < MIN_TENSORRT_MAJOR:
        raise BackendUnavailableError(
            f"TensorRT {tensorrt.__version__} is too old: the tensorrt backend uses the tensor-name API of "
            f"TensorRT >= {MIN_TENSORRT_MAJOR}"
        )
    return tensorrt


@lru_cache(maxsize=1)
def tensorrt_logger(trt: Any) -> Any:
    """One process-wide TensorRT logger (TensorRT expects a single long-lived instance)."""
    return trt.Logger(trt.Logger.WARNING)


@dataclass(frozen=True)
class GpuIdentity:
    """What an engine is specific to on the hardware side."""

    name: str
    compute_capability: tuple[int, int]

    @property
    def has_fast_fp16(self) -> bool:
        """Checked from the compute capability (TensorRT's own query is deprecated since 10.5)."""
        return self.compute_capability[0] >= 7 or self.compute_capability in FAST_FP16_CAPABILITIES

    @property
    def slug(self) -> str:
        """File-name-safe identity, e.g. ``NVIDIA-Jetson-AGX-Orin-sm87``."""
        name = re.sub(r"[^A-Za-z0-9]+", "-", self.name).strip("-")
        return f"{name}-sm{self.compute_capability[0]}{self.compute_capability[1]}"


def engine_key(onnx_sha256: str, tensorrt_version: str, gpu: GpuIdentity, fp16: bool, max_people: int) -> dict:
    """Everything an engine depends on; any change means rebuild."""
    return {
        "format": ENGINE_FORMAT,
        "onnx_sha256": onnx_sha256,
        "tensorrt_version": tensorrt_version,
        "gpu_name": gpu.name,
        "compute_capability": f"{gpu.compute_capability[0]}.{gpu.compute_capability[1]}",
        "fp16": fp16,
        "max_people": max_people,
    }


def timing_cache_key(tensorrt_version: str, gpu: GpuIdentity) -> dict:
    return {
        "format": TIMING_CACHE_FORMAT,
        "tensorrt_version": tensorrt_version,
        "gpu_name": gpu.name,
        "compute_capability": f"{gpu.compute_capability[0]}.{gpu.compute_capability[1]}",
    }


def load_or_build(
    artifact: Path | None, key: dict, build: Callable[[], bytes], logger: Logger, what: str
) -> bytes:
    """The cached bytes of ``artifact`` when valid for ``key``, else ``build()`` stored for next time.

    ``artifact`` None means no persistent cache (always build).  A cache that
    cannot be written is logged, not fatal: the freshly built bytes still run.
    """
    if artifact is not None:
        data, reason = read_verified(artifact, key)
        if data is not None:
            logger.info(f"{what}: reusing {artifact}")
            return data
        logger.info(f"{what}: building ({artifact.name}: {reason})")
    else:
        logger.info(f"{what}: building (no persistent cache)")
    data = build()
    if artifact is not None:
        store(artifact, data, key, logger, what)
    return data


def store(artifact: Path, data: bytes, key: dict, logger: Logger, what: str) -> None:
    """Cache ``data``; a failure to write is a warning (the caller already holds the bytes)."""
    try:
        store_artifact(artifact, data, key)
    except OSError as error:
        logger.warning(f"{what}: could not cache {artifact} ({error}); it will be rebuilt on the next start")


def build_serialized_engine(
    trt: Any,
    onnx_path: Path,
    profile_shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]],
    fp16: bool,
    timing_cache: bytes,
) -> tuple[bytes, bytes]:
    """Parse ``onnx_path`` and build a serialised engine; returns (engine, updated timing cache).

    ``profile_shapes`` maps each input name to its (min, opt, max) shapes.
    With ``fp16``, layer normalisations are kept in FP32 (their variance
    overflows half precision on large activations); everything else may run in
    FP16 where TensorRT finds it faster.
    """
    logger = tensorrt_logger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(index)) for index in range(parser.num_errors))
        raise BackendUnavailableError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
        for index in range(network.num_layers):
            layer = network.get_layer(index)
            if layer.type == trt.LayerType.NORMALIZATION:
                layer.precision = trt.float32
    profile = builder.create_optimization_profile()
    for index in range(network.num_inputs):
        name = network.get_input(index).name
        if name not in profile_shapes:
            raise BackendUnavailableError(f"{onnx_path} has input {name!r} with no optimisation profile shapes")
        profile.set_shape(name, *profile_shapes[name])
    config.add_optimization_profile(profile)
    cache = config.create_timing_cache(timing_cache)
    config.set_timing_cache(cache, False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BackendUnavailableError(f"TensorRT failed to build an engine from {onnx_path} (see its log above)")
    return bytes(serialized), bytes(cache.serialize())


def deserialize_or_rebuild(
    trt: Any, runtime: Any, data: bytes, artifact: Path | None, key: dict, build: Callable[[], bytes], logger: Logger
) -> Any:
    """Deserialise ``data``; if TensorRT refuses it despite a matching record, rebuild once and retry."""
    engine = runtime.deserialize_cuda_engine(data)
    if engine is not None:
        return engine
    logger.warning(f"TensorRT rejected the engine {artifact or '(in memory)'}; rebuilding it")
    data = build()
    if artifact is not None:
        store(artifact, data, key, logger, "TensorRT engine")
    engine = runtime.deserialize_cuda_engine(data)
    if engine is None:
        raise BackendUnavailableError(f"TensorRT {trt.__version__} cannot deserialise an engine it just built")
    return engine
