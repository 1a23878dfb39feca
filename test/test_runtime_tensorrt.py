"""TensorRT backend: operator coverage on CPU; engine build, parity and cache where TensorRT and a GPU exist.

TensorRT cannot be installed on the development machines, so the GPU tests
are skipped there with the reason; they are never replaced by fakes.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from lihmr_ros.model.tensorrt_ops import graph_op_types, unsupported_by_tensorrt
from lihmr_ros.runtime import BackendUnavailableError, create_backend
from lihmr_ros.runtime.bench import streaming_inputs
from lihmr_ros.runtime.onnx_graphs import ensure_onnx_graphs
from lihmr_ros.runtime.tensorrt_backend import STREAM_GRAPHS, check_tensorrt_available
from tiny_network import save_tiny_checkpoint

HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None
HAS_CUDA = torch.cuda.is_available()
needs_tensorrt_gpu = pytest.mark.skipif(
    not (HAS_TENSORRT and HAS_CUDA),
    reason=f"needs TensorRT and a CUDA GPU (tensorrt installed: {HAS_TENSORRT}, CUDA: {HAS_CUDA})",
)
FP32_TOLERANCE_M = 1e-3
"""TensorRT FP32 vs onnxruntime (TF32 matmuls may be chosen on Ampere and later)."""
FP16_TOLERANCE_M = 2e-2
"""TensorRT FP16 vs onnxruntime on an untrained network (FP16 keeps ~3 significant digits)."""
LOGGER = logging.getLogger("test_runtime_tensorrt")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("weights") / "tiny.safetensors")


def test_graphs_the_engines_are_built_from_use_only_tensorrt_operators(checkpoint: Path, tmp_path: Path) -> None:
    graphs = ensure_onnx_graphs(checkpoint, tmp_path, LOGGER)
    characteristic_ops = {"encoder": {"Conv"}, "temporal": {"MatMul", "Softmax", "LayerNormalization"}}
    for graph in STREAM_GRAPHS:
        assert characteristic_ops[graph] <= graph_op_types(graphs.path(graph)), graph
        assert unsupported_by_tensorrt(graphs.path(graph)) == set(), graph


def test_tensorrt_needs_a_gpu_device() -> None:
    with pytest.raises(BackendUnavailableError, match="tensorrt|CUDA GPU"):
        check_tensorrt_available("cpu")


@pytest.mark.skipif(HAS_TENSORRT, reason="tensorrt is installed here")
def test_missing_tensorrt_names_the_package_to_install() -> None:
    with pytest.raises(BackendUnavailableError, match="tensorrt Python package is not installed.*TensorRT >= 10"):
        check_tensorrt_available("auto")


@needs_tensorrt_gpu
@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_tensorrt_matches_onnxruntime_and_reuses_its_engines(
    checkpoint: Path, tmp_path: Path, precision: str, caplog
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    reference = create_backend("onnxruntime", checkpoint, 3, device="cpu", cache_dir=tmp_path, logger=LOGGER)
    engine = create_backend("tensorrt", checkpoint, 3, cache_dir=tmp_path, logger=LOGGER, precision=precision)
    tolerance = FP16_TOLERANCE_M if "fp16" in engine.description else FP32_TOLERANCE_M
    for persons in (1, 3):
        inputs = streaming_inputs(reference, persons, seed=persons)
        window = (inputs["features"], inputs["keypoints"], inputs["crop_info"])
        assert np.abs(engine.encode(inputs["crops"]) - reference.encode(inputs["crops"])).max() < tolerance * 10
        expected, actual = reference.infer(*window), engine.infer(*window)
        assert actual.vertices.shape == expected.vertices.shape
        assert np.abs(actual.vertices - expected.vertices).max() < tolerance
        assert np.abs(actual.joints3d - expected.joints3d).max() < tolerance
    engine.close()
    reference.close()

    caplog.clear()
    create_backend("tensorrt", checkpoint, 3, cache_dir=tmp_path, logger=LOGGER, precision=precision).close()
    assert "TensorRT engine temporal: reusing" in "\n".join(r.message for r in caplog.records)

    engine_file = next(tmp_path.glob("*/tensorrt/temporal.engine"))
    engine_file.write_bytes(engine_file.read_bytes()[:1000])
    caplog.clear()
    create_backend("tensorrt", checkpoint, 3, cache_dir=tmp_path, logger=LOGGER, precision=precision).close()
    assert "truncated" in "\n".join(r.message for r in caplog.records)
    assert engine_file.stat().st_size > 1000


@needs_tensorrt_gpu
def test_tensorrt_rejects_more_people_than_its_profile(checkpoint: Path, tmp_path: Path) -> None:
    engine = create_backend("tensorrt", checkpoint, 2, cache_dir=tmp_path, logger=LOGGER)
    inputs = streaming_inputs(engine, 2)
    with pytest.raises(ValueError, match="1..2"):
        engine.encode(np.concatenate([inputs["crops"], inputs["crops"]]))
    engine.close()
