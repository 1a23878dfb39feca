"""Flip averaging (lihmr_ros.runtime.flip_averaging): the mirror map of the template, and that the averaged
network is mirror-equivariant, as an average over a person and their mirror image must be."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tiny_network import TINY_NETWORK, save_tiny_checkpoint

from lihmr_ros.body import load_template
from lihmr_ros.body.coco import COCO17_FLIP_PERMUTATION
from lihmr_ros.ros.settings import settings_from_values
from lihmr_ros.ros.startup import load_pipeline
from lihmr_ros.runtime import create_backend
from lihmr_ros.runtime.bench import streaming_inputs
from lihmr_ros.runtime.flip_averaging import MIRROR_X, AsymmetricTemplateError, FlipAveragingBackend, mirror_twins

LOGGER = logging.getLogger("test_runtime_flip_averaging")
INNER_MAX_PEOPLE = 4


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_checkpoint(tmp_path_factory.mktemp("weights") / "tiny.safetensors")


@pytest.fixture(scope="module")
def twins() -> np.ndarray:
    return mirror_twins(load_template().full_rest_vertices)


@pytest.fixture(scope="module")
def inner(checkpoint: Path):
    backend = create_backend("torch", checkpoint, INNER_MAX_PEOPLE, device="cpu", logger=LOGGER)
    yield backend
    backend.close()


def test_the_template_twins_are_mirror_images_of_each_other(twins: np.ndarray) -> None:
    rest = load_template().full_rest_vertices
    assert np.abs(rest[twins] - rest * MIRROR_X).max() < 5e-4  # Anny is symmetric to 0.3 mm
    assert np.mean(twins[twins] == np.arange(len(twins))) > 0.998
    left = rest[:, 0] > 0.01
    assert np.all(rest[twins[left], 0] < 0), "a vertex off the midline must have its twin on the other side"


def test_a_mesh_without_left_right_symmetry_is_refused_before_a_backend_is_built(checkpoint, tmp_path) -> None:
    template = load_template()
    rest = template.full_rest_vertices.copy()
    rest[rest[:, 0] > 0.05] += np.float32([0.0, 0.03, 0.0])  # one side raised by 3 cm
    with pytest.raises(AsymmetricTemplateError, match="not left/right symmetric"):
        mirror_twins(rest)
    lopsided = tmp_path / "lopsided.npz"
    replace(template, full_rest_vertices=rest).save(lopsided)
    with pytest.raises(AsymmetricTemplateError):
        create_backend("onnxruntime", checkpoint, 2, device="cpu", cache_dir=tmp_path / "engines", logger=LOGGER,
                       template_path=lopsided, flip_averaging=True)
    assert not (tmp_path / "engines").exists(), "no ONNX export may happen before the template check"


def test_a_backend_that_takes_one_person_at_a_time_cannot_be_flip_averaged(checkpoint, twins) -> None:
    single = create_backend("torch", checkpoint, 1, device="cpu", logger=LOGGER)
    with pytest.raises(ValueError, match="at least 2 people"):
        FlipAveragingBackend(single, twins)
    single.close()


def random_windows(backend: FlipAveragingBackend, people: int, seed: int) -> dict[str, np.ndarray]:
    """Crops of every frame of ``people`` windows (kept, to mirror them), with the benchmark's keypoints and
    crop placements."""
    size, window = backend.crop_size, backend.window
    crops = np.random.default_rng(seed).random((people, window, 3, size, size), dtype=np.float32)
    inputs = streaming_inputs(backend, people, seed)
    return {"crops": crops, "keypoints": inputs["keypoints"], "crop_info": inputs["crop_info"]}


def run(backend, windows: dict[str, np.ndarray]):
    """Encode each frame's crops (one call per frame, as streaming does) and infer the windows."""
    features = np.stack([backend.encode(np.ascontiguousarray(frame)) for frame in windows["crops"].swapaxes(0, 1)],
                        axis=1)
    return backend.infer(features, windows["keypoints"], windows["crop_info"])


def mirrored(windows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same people seen in a mirror about the principal point."""
    keypoints = windows["keypoints"][:, :, COCO17_FLIP_PERMUTATION] * np.float32([-1.0, 1.0, 1.0])
    return {"crops": windows["crops"][..., ::-1], "keypoints": keypoints, "crop_info": windows["crop_info"] * MIRROR_X}


def test_flip_averaged_bodies_are_mirror_equivariant(inner, twins: np.ndarray) -> None:
    backend = FlipAveragingBackend(inner, twins)
    assert backend.max_people == INNER_MAX_PEOPLE // 2
    assert backend.feature_dim == 2 * inner.feature_dim
    windows = random_windows(backend, backend.max_people, seed=3)
    original, of_mirror = run(backend, windows), run(backend, mirrored(windows))
    exact = twins[twins] == np.arange(len(twins))  # the few midline vertices whose twin map is not an involution
    np.testing.assert_allclose(of_mirror.vertices[:, twins][:, exact] * MIRROR_X, original.vertices[:, exact],
                               atol=1e-5)
    np.testing.assert_allclose(of_mirror.joints3d[:, COCO17_FLIP_PERMUTATION] * MIRROR_X, original.joints3d,
                               atol=1e-5)
    np.testing.assert_allclose(of_mirror.shape, original.shape, atol=1e-6)
    # ... which the plain network is not: the average really combines two different estimates.
    plain = run(inner, windows)
    assert np.abs(plain.vertices - original.vertices).max() > 1e-3


def test_the_cached_feature_holds_the_crop_and_its_mirror_image(inner, twins: np.ndarray) -> None:
    backend = FlipAveragingBackend(inner, twins)
    side = backend.crop_size
    crops = np.random.default_rng(5).random((backend.max_people, 3, side, side), dtype=np.float32)
    features = backend.encode(crops)
    np.testing.assert_allclose(features[:, :inner.feature_dim], inner.encode(crops), atol=1e-6)
    np.testing.assert_allclose(features[:, inner.feature_dim:], inner.encode(crops[..., ::-1].copy()), atol=1e-6)


def test_the_node_parameter_wraps_the_backend_for_the_configured_people(checkpoint: Path) -> None:
    values = {"weights": str(checkpoint), "window": TINY_NETWORK.window, "backend": "torch", "device": "cpu",
              "keypoint_source": "topic", "max_people": 3}
    plain = load_pipeline(settings_from_values(values), LOGGER).pipeline
    flipped = load_pipeline(settings_from_values({**values, "flip_averaging": True}), LOGGER).pipeline
    try:
        assert not isinstance(plain.backend, FlipAveragingBackend)
        assert isinstance(flipped.backend, FlipAveragingBackend)
        assert flipped.backend.max_people == plain.backend.max_people == 3
        assert "flip-averaged" in flipped.backend.description
    finally:
        plain.close()
        flipped.close()
