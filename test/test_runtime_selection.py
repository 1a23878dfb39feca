"""Backend selection, fallback and input checking against the real environment (lihmr_ros.runtime.factory).

This machine has no TensorRT and no GPU: ``auto`` must pick onnxruntime and
say why, an explicit ``tensorrt`` must fail at start-up with a clear error.
Tests whose premise differs on a machine that has TensorRT or CUDA are
skipped there with the reason.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from lihmr_ros.runtime import BACKEND_NAMES, BackendUnavailableError, create_backend
from lihmr_ros.runtime.bench import streaming_inputs
from tiny_network import save_tiny_checkpoint

HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None
HAS_CUDA = torch.cuda.is_available()
LOGGER_NAME = "test_runtime_selection"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("weights") / "tiny.safetensors")


@pytest.fixture(scope="module")
def ort_backend(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    backend = create_backend("onnxruntime", checkpoint, 2, device="cpu", cache_dir=tmp_path_factory.mktemp("cache"))
    yield backend
    backend.close()


@pytest.mark.skipif(HAS_TENSORRT and HAS_CUDA, reason="TensorRT and a GPU are present: auto picks tensorrt here")
def test_auto_picks_onnxruntime_and_logs_why(checkpoint: Path, tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        backend = create_backend("auto", checkpoint, 2, cache_dir=tmp_path, logger=logging.getLogger(LOGGER_NAME))
    backend.close()
    assert backend.name == "onnxruntime"
    chosen = [record.message for record in caplog.records if record.message.startswith("backend auto")]
    assert len(chosen) == 1
    assert "using onnxruntime" in chosen[0] and "tensorrt unavailable" in chosen[0]


@pytest.mark.skipif(HAS_TENSORRT, reason="tensorrt is installed here")
def test_explicit_tensorrt_is_a_clear_startup_error(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="backend 'tensorrt' is not available: the tensorrt Python"):
        create_backend("tensorrt", checkpoint, 2, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == [], "an unavailable backend must fail before exporting anything"


@pytest.mark.skipif(HAS_CUDA, reason="this torch build sees a GPU")
@pytest.mark.parametrize("name", ["torch", "onnxruntime"])
def test_explicit_cuda_without_gpu_is_a_clear_error(name: str, checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match=f"backend '{name}' is not available"):
        create_backend(name, checkpoint, 2, device="cuda", cache_dir=tmp_path)


@pytest.mark.parametrize("name", ["torch", "onnxruntime"])
def test_fp16_on_cpu_is_refused(name: str, checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="fp16"):
        create_backend(name, checkpoint, 2, device="cpu", cache_dir=tmp_path, precision="fp16")
    assert list(tmp_path.iterdir()) == [], "a refused request must fail before exporting anything"


def test_bad_settings_are_rejected(checkpoint: Path, tmp_path: Path) -> None:
    assert BACKEND_NAMES == ("auto", "tensorrt", "onnxruntime", "torch")
    with pytest.raises(ValueError, match="backend must be one of"):
        create_backend("openvino", checkpoint, 2, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="max_people"):
        create_backend("torch", checkpoint, 0, cache_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        create_backend("torch", tmp_path / "missing.safetensors", 2, cache_dir=tmp_path)
    not_a_checkpoint = tmp_path / "weights.safetensors"
    not_a_checkpoint.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="not a safetensors checkpoint"):
        create_backend("onnxruntime", not_a_checkpoint, 2, cache_dir=tmp_path / "cache")


def test_inputs_are_checked(ort_backend) -> None:
    inputs = streaming_inputs(ort_backend, 2)
    window = (inputs["features"], inputs["keypoints"], inputs["crop_info"])
    with pytest.raises(ValueError, match=r"crops must be \(N, 3, S, S\)"):
        ort_backend.encode(inputs["crops"][:, :, :16])
    with pytest.raises(ValueError, match="holds 3 persons.*1..2"):
        ort_backend.encode(np.concatenate([inputs["crops"], inputs["crops"][:1]]))
    with pytest.raises(ValueError, match="holds 0 persons"):
        ort_backend.encode(inputs["crops"][:0])
    with pytest.raises(ValueError, match="keypoints must be"):
        ort_backend.infer(window[0], window[1][:, :3], window[2])
    with pytest.raises(ValueError, match="same persons"):
        ort_backend.infer(window[0], window[1][:1], window[2])
    poisoned = window[2].copy()
    poisoned[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ort_backend.infer(window[0], window[1], poisoned)
    with pytest.raises(ValueError, match="floating point"):
        ort_backend.encode((inputs["crops"] * 255).astype(np.uint8))
    # float64 input is accepted and converted.
    assert ort_backend.encode(inputs["crops"].astype(np.float64)).dtype == np.float32


def test_closed_backend_refuses_calls(checkpoint: Path, tmp_path: Path) -> None:
    backend = create_backend("torch", checkpoint, 1, device="cpu", cache_dir=tmp_path)
    crops = streaming_inputs(backend, 1)["crops"]
    backend.close()
    backend.close()  # idempotent
    with pytest.raises(RuntimeError, match="torch backend was closed"):
        backend.encode(crops)
