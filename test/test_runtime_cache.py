"""Engine cache: hash-keyed reuse, rebuild on key change or damage, unwritable directory (lihmr_ros.runtime).

The TensorRT engine cache logic is plain Python around opaque bytes, so it is
exercised here on CPU with a build function that produces bytes; building
real engines is covered by test_runtime_tensorrt.py where TensorRT exists.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from lihmr_ros.runtime import create_backend, default_cache_root
from lihmr_ros.runtime.bench import streaming_inputs
from lihmr_ros.runtime.cache import read_verified, record_path, store_artifact
from lihmr_ros.runtime.onnx_graphs import checkpoint_digest, ensure_onnx_graphs
from lihmr_ros.runtime.tensorrt_engine import GpuIdentity, engine_key, load_or_build, timing_cache_key
from tiny_network import save_tiny_checkpoint

LOGGER = logging.getLogger("test_runtime_cache")
ORIN = GpuIdentity("NVIDIA Jetson AGX Orin", (8, 7))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("weights") / "tiny.safetensors", seed=0)


def _messages(caplog) -> str:
    return "\n".join(record.message for record in caplog.records)


def test_onnx_graphs_are_reused_and_damaged_files_reexported(checkpoint: Path, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    first = ensure_onnx_graphs(checkpoint, tmp_path, LOGGER)
    assert first.directory == tmp_path / checkpoint_digest(checkpoint)[:16] / "onnx"
    assert "exporting" in _messages(caplog)
    temporal = first.path("temporal")
    good_bytes = temporal.read_bytes()

    caplog.clear()
    ensure_onnx_graphs(checkpoint, tmp_path, LOGGER)
    assert "reusing" in _messages(caplog) and "exporting" not in _messages(caplog)

    caplog.clear()
    temporal.write_bytes(good_bytes[: len(good_bytes) // 2])  # a crash mid-write
    again = ensure_onnx_graphs(checkpoint, tmp_path, LOGGER)
    assert "temporal.onnx: size" in _messages(caplog) and "truncated" in _messages(caplog)
    assert again.path("temporal").read_bytes() == good_bytes

    caplog.clear()
    record_path(temporal).unlink()  # a record lost: never trust the file
    ensure_onnx_graphs(checkpoint, tmp_path, LOGGER)
    assert "temporal.onnx: no readable record" in _messages(caplog)


def test_new_weights_get_their_own_cache_entry(checkpoint: Path, tmp_path: Path) -> None:
    other = save_tiny_checkpoint(tmp_path / "other.safetensors", seed=1)
    other_dir = ensure_onnx_graphs(other, tmp_path, LOGGER).directory
    assert other_dir != ensure_onnx_graphs(checkpoint, tmp_path, LOGGER).directory


def test_checkpoint_digest_depends_on_content_not_file_layout(checkpoint: Path, tmp_path: Path) -> None:
    # safetensors writes its metadata map in arbitrary order: re-saving the same weights changes the bytes.
    resaved = [save_tiny_checkpoint(tmp_path / f"again{index}.safetensors", seed=0) for index in range(4)]
    assert {checkpoint_digest(path) for path in resaved} == {checkpoint_digest(checkpoint)}
    other = save_tiny_checkpoint(tmp_path / "other.safetensors", seed=1)
    assert checkpoint_digest(other) != checkpoint_digest(checkpoint)


def test_unwritable_cache_dir_falls_back_to_a_temporary_one(checkpoint: Path, tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the cache directory should be")
    requested = blocker / "engines"  # cannot be created, even by root
    with caplog.at_level(logging.INFO, logger=LOGGER.name):
        backend = create_backend("onnxruntime", checkpoint, 2, device="cpu", cache_dir=requested, logger=LOGGER)
    warnings = [record.message for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(requested) in warnings[0] and "not writable" in warnings[0]
    fallback = Path(warnings[0].split("using temporary directory ")[1].split(",")[0])
    assert not fallback.exists(), "the temporary fallback is removed once the sessions are loaded"
    inputs = streaming_inputs(backend, 1)
    result = backend.infer(inputs["features"], inputs["keypoints"], inputs["crop_info"])
    assert np.isfinite(result.vertices).all()
    backend.close()


def test_default_cache_root_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LIHMR_ENGINE_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_root() == tmp_path / "xdg" / "lihmr" / "engines"
    monkeypatch.setenv("LIHMR_ENGINE_CACHE", str(tmp_path / "robot-data"))
    assert default_cache_root() == tmp_path / "robot-data"


def test_engine_key_changes_with_onnx_hash_tensorrt_version_and_gpu() -> None:
    base = engine_key("a" * 64, "10.3.0", ORIN, fp16=True, max_people=4)
    variants = [
        engine_key("b" * 64, "10.3.0", ORIN, fp16=True, max_people=4),
        engine_key("a" * 64, "10.7.0", ORIN, fp16=True, max_people=4),
        engine_key("a" * 64, "10.3.0", GpuIdentity("NVIDIA GeForce RTX 4090", (8, 9)), fp16=True, max_people=4),
        engine_key("a" * 64, "10.3.0", GpuIdentity("NVIDIA Jetson AGX Orin", (8, 6)), fp16=True, max_people=4),
        engine_key("a" * 64, "10.3.0", ORIN, fp16=False, max_people=4),
        engine_key("a" * 64, "10.3.0", ORIN, fp16=True, max_people=8),
    ]
    assert all(variant != base for variant in variants)
    assert base == engine_key("a" * 64, "10.3.0", GpuIdentity("NVIDIA Jetson AGX Orin", (8, 7)), True, 4)
    assert timing_cache_key("10.3.0", ORIN) != timing_cache_key("10.3.0", GpuIdentity("NVIDIA A100", (8, 0)))


def test_engine_cache_reuses_rebuilds_on_key_change_and_on_damage(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER.name)
    engine = tmp_path / "tensorrt" / "temporal.engine"
    builds: list[bytes] = []

    def build_for(key: dict) -> bytes:
        def build() -> bytes:
            builds.append(json.dumps(key, sort_keys=True).encode() * 50)
            return builds[-1]

        return load_or_build(engine, key, build, LOGGER, "engine")

    key = engine_key("a" * 64, "10.3.0", ORIN, True, 4)
    first = build_for(key)
    assert len(builds) == 1 and engine.read_bytes() == first
    assert build_for(key) == first and len(builds) == 1, "valid cache entry must be reused"

    newer_tensorrt = engine_key("a" * 64, "10.7.0", ORIN, True, 4)
    rebuilt = build_for(newer_tensorrt)
    assert len(builds) == 2 and rebuilt != first and "key changed (tensorrt_version)" in _messages(caplog)

    engine.write_bytes(rebuilt[:-100])  # truncated engine file
    assert build_for(newer_tensorrt) == rebuilt and len(builds) == 3
    assert "truncated" in _messages(caplog)

    flipped = bytearray(rebuilt)
    flipped[10] ^= 0xFF  # same size, different content
    engine.write_bytes(bytes(flipped))
    assert build_for(newer_tensorrt) == rebuilt and len(builds) == 4
    assert "content hash differs" in _messages(caplog)


def test_engine_cache_without_persistence_always_builds() -> None:
    calls = []
    for _ in range(2):
        assert load_or_build(None, {"k": 1}, lambda: calls.append(1) or b"engine", LOGGER, "engine") == b"engine"
    assert len(calls) == 2


def test_read_verified_rejects_foreign_records(tmp_path: Path) -> None:
    artifact = tmp_path / "x.engine"
    store_artifact(artifact, b"0123456789", {"format": "lihmr-trt-engine-1"})
    assert read_verified(artifact, {"format": "lihmr-trt-engine-1"}) == (b"0123456789", "valid")
    record_path(artifact).write_text("[not, a, record")
    assert read_verified(artifact, {"format": "lihmr-trt-engine-1"}) == (None, "no readable record")


def test_gpu_identity_fp16_and_slug() -> None:
    assert ORIN.has_fast_fp16 and ORIN.slug == "NVIDIA-Jetson-AGX-Orin-sm87"
    assert GpuIdentity("Tegra X1", (5, 3)).has_fast_fp16  # Jetson Nano
    assert not GpuIdentity("NVIDIA GeForce GTX 1080", (6, 1)).has_fast_fp16
