"""onnxruntime and torch backends compute the same network (lihmr_ros.runtime).

Runs on the shipped default weights when they exist, otherwise on a
default-architecture checkpoint written here with ``save_checkpoint`` (the
shipped weights come from training, another issue).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from lihmr_ros.model.checkpoint import DEFAULT_CHECKPOINT, save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.runtime import InferenceResult, create_backend
from lihmr_ros.runtime.bench import streaming_inputs

TOLERANCE_M = 1e-4
"""Max |onnxruntime - torch| accepted on vertices and joints (0.1 mm; measured ~4e-7 m)."""
TOLERANCE_SHAPE = 1e-4
"""Max difference on the [0, 1] shape parameters."""
TOLERANCE_FEATURE = 1e-4
"""Max difference on encoder features (measured ~4e-7)."""
MAX_PEOPLE = 3
LOGGER = logging.getLogger("test_runtime_parity")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if DEFAULT_CHECKPOINT.is_file():
        return DEFAULT_CHECKPOINT
    from lihmr_ros.body import load_template

    torch.manual_seed(0)
    network = LIHMRNet(NetworkConfig(), load_template())
    return save_checkpoint(tmp_path_factory.mktemp("weights") / "default-architecture.safetensors", network)


@pytest.fixture(scope="module")
def backends(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("engines")
    created = {
        name: create_backend(name, checkpoint, MAX_PEOPLE, device="cpu", cache_dir=cache, logger=LOGGER)
        for name in ("torch", "onnxruntime")
    }
    yield created
    for backend in created.values():
        backend.close()


@pytest.mark.parametrize("persons", [1, MAX_PEOPLE])
def test_onnxruntime_matches_torch(backends, persons: int) -> None:
    torch_backend, ort_backend = backends["torch"], backends["onnxruntime"]
    inputs = streaming_inputs(torch_backend, persons, seed=persons)
    features_torch = torch_backend.encode(inputs["crops"])
    features_ort = ort_backend.encode(inputs["crops"])
    assert features_ort.shape == (persons, torch_backend.feature_dim)
    assert np.abs(features_ort - features_torch).max() < TOLERANCE_FEATURE

    window = (inputs["features"], inputs["keypoints"], inputs["crop_info"])
    expected: InferenceResult = torch_backend.infer(*window)
    actual: InferenceResult = ort_backend.infer(*window)
    for field in ("vertices", "joints3d", "shape"):
        ours, theirs = getattr(actual, field), getattr(expected, field)
        assert ours.shape == theirs.shape and ours.dtype == np.float32, field
    assert actual.vertices.shape[0] == persons and actual.vertices.shape[2] == 3
    assert actual.joints3d.shape == (persons, 17, 3)
    assert np.abs(actual.vertices - expected.vertices).max() < TOLERANCE_M
    assert np.abs(actual.joints3d - expected.joints3d).max() < TOLERANCE_M
    assert np.abs(actual.shape - expected.shape).max() < TOLERANCE_SHAPE
    # The check is not vacuous: outputs depend on the inputs.
    shifted = ort_backend.infer(inputs["features"], inputs["keypoints"] * 0.5, inputs["crop_info"])
    assert np.abs(shifted.joints3d - actual.joints3d).max() > 10 * TOLERANCE_M


def test_backends_describe_what_runs(backends) -> None:
    assert backends["torch"].name == "torch" and "cpu" in backends["torch"].description.lower()
    assert backends["onnxruntime"].name == "onnxruntime"
    assert "CPU" in backends["onnxruntime"].description
    assert backends["torch"].window == backends["onnxruntime"].window == NetworkConfig().window
