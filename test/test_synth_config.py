"""Synth settings: shipped YAML, split overrides, validation (lihmr_ros.synth.config)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
import yaml

from lihmr_ros.model.inputs import CropSpec
from lihmr_ros.synth.config import config_from_dict, load_config
from lihmr_ros.synth.dataset_writer import WORKER_THREAD_VARIABLES, base_seed, plan_shards, single_threaded_children
from lihmr_ros.synth.shards import sequence_seed

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "synth.yaml"
WIDE = SHIPPED.with_name("synth_wide.yaml")
YOUNG = SHIPPED.with_name("synth_young.yaml")
WIDE_NOISE = SHIPPED.with_name("synth_wide_noise.yaml")
WIDE_STRUCTURED = SHIPPED.with_name("synth_wide_structured.yaml")


@pytest.mark.parametrize("split", ["train", "test"])
def test_shipped_yaml_equals_the_built_in_defaults(split: str) -> None:
    assert load_config(SHIPPED, split) == load_config(None, split)


def test_shipped_crop_matches_the_network_default() -> None:
    assert load_config(SHIPPED).output.crop_spec() == CropSpec()


def test_stored_coarse_mesh_is_the_templates_coarse_topology() -> None:
    from lihmr_ros.body.anny_template import DEFAULT_COARSE_TOPOLOGY

    # Training supervises the network's coarse mesh straight from the shards, which needs the same topology.
    assert load_config(SHIPPED).body.coarse_topology == DEFAULT_COARSE_TOPOLOGY


def test_test_split_differs_in_seed_bodies_motion_and_camera() -> None:
    train, test = load_config(None, "train"), load_config(None, "test")
    assert test.split == "test" and train.split == "train"
    assert base_seed(0, train) != base_seed(0, test)
    assert sequence_seed(base_seed(0, train), 0) != sequence_seed(base_seed(0, test), 0)
    assert test.body != train.body and test.motion != train.motion and test.camera.distance_m != train.camera.distance_m
    assert test.keypoints == train.keypoints and test.output == train.output


def test_wide_training_data_spans_the_held_out_ranges_and_leaves_the_held_out_split_alone() -> None:
    wide, test = load_config(WIDE, "train"), load_config(None, "test")
    assert load_config(WIDE, "test") == test
    assert wide.body.age_range_years == test.body.age_range_years
    assert wide.camera.distance_m == test.camera.distance_m and wide.camera.height_m == test.camera.height_m
    assert wide.motion.activity[0] <= test.motion.activity[0]
    assert wide.motion.activity[1] == test.motion.activity[1]
    assert wide.motion.walk_speed_mps == test.motion.walk_speed_mps
    assert wide.motion.turn_rate_deg_s == test.motion.turn_rate_deg_s
    # Everything else is the default training data's; the held-out bodies stay heavier.
    default = load_config(None, "train")
    assert wide.scene == default.scene and wide.keypoints == default.keypoints and wide.output == default.output
    assert wide.body.weight_shift == default.body.weight_shift < test.body.weight_shift


def test_young_training_data_is_the_wide_data_with_children_and_teenagers_only() -> None:
    young, wide = load_config(YOUNG, "train"), load_config(WIDE, "train")
    assert load_config(YOUNG, "test") == load_config(None, "test")
    low, high = young.body.age_range_years
    assert low == wide.body.age_range_years[0] and high < 18.0
    assert young.motion == wide.motion and young.camera == wide.camera and young.scene == wide.scene
    assert young.body.weight_shift == wide.body.weight_shift


def test_wide_noise_data_is_the_wide_data_with_noise_model_keypoints_only() -> None:
    """The GPU machine's data (no MediaPipe there): nothing but the keypoint source differs, in either split."""
    for split in ("train", "test"):
        noise, wide = load_config(WIDE_NOISE, split), load_config(WIDE, split)
        assert noise.keypoints.source == "noise" and wide.keypoints.source == "mediapipe"
        assert noise == dataclasses.replace(wide, keypoints=dataclasses.replace(wide.keypoints, source="noise"))


def test_structured_noise_data_is_the_noise_data_with_the_structured_noise_model_only() -> None:
    """The next GPU run's data: only ``keypoints.noise`` differs, and it holds the whole structure."""
    for split in ("train", "test"):
        structured, noise = load_config(WIDE_STRUCTURED, split), load_config(WIDE_NOISE, split)
        assert structured == dataclasses.replace(
            noise, keypoints=dataclasses.replace(noise.keypoints, noise=structured.keypoints.noise)
        )
        model = structured.keypoints.noise
        assert model.sequence_share > 0 and model.temporal_share > 0 and model.temporal_correlation > 0
        assert model.outlier_persistence is not None and model.hidden_sigma is not None
        assert model.hidden_bias is not None
        # Occluded joints are guessed: BlazePose's errors there are several times those of visible ones.
        assert min(h / v for h, v in zip(model.hidden_sigma, model.sigma)) > 2.0


def test_optional_noise_settings_read_null_or_a_value_of_their_type() -> None:
    unset = config_from_dict({"keypoints": {"noise": {"hidden_sigma": None, "outlier_persistence": None}}})
    assert unset.keypoints.noise.hidden_sigma is None and unset.keypoints.noise.outlier_persistence is None
    hidden = [0.1] * 17
    bias = [[0.0, -0.1]] * 17
    config = config_from_dict(
        {"keypoints": {"noise": {"hidden_sigma": hidden, "hidden_bias": bias, "outlier_persistence": 1}}}
    )
    assert config.keypoints.noise.hidden_sigma == tuple(hidden)
    assert config.keypoints.noise.hidden_bias == tuple(tuple(pair) for pair in bias)
    assert config.keypoints.noise.outlier_persistence == 1.0
    assert config.to_dict()["keypoints"]["noise"]["hidden_bias"][0] == [0.0, -0.1]  # manifests store plain lists


def test_split_overrides_from_yaml_are_merged_over_the_built_in_ones() -> None:
    config = config_from_dict({"splits": {"test": {"camera": {"distance_m": [3.0, 4.0]}}}}, "test")
    assert config.camera.distance_m == (3.0, 4.0)
    assert config.body.age_range_years == (3.0, 92.0)  # built-in test override still applies
    assert config_from_dict({"splits": {"test": {"camera": {"distance_m": [3.0, 4.0]}}}}, "train").camera.distance_m == (
        1.5,
        10.0,
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"camera": {"fov": [40, 90]}}, "unknown setting"),
        ({"camera": {"horizontal_fov_deg": [90, 40]}}, "low <= high"),
        ({"motion": {"frames": [1, 5]}}, "motion.frames"),
        ({"keypoints": {"source": "openpose"}}, "keypoints.source"),
        ({"keypoints": {"noise": {"sigma": [0.01] * 16}}}, "17 non-negative"),
        ({"output": {"crop_size": 4}}, "crop size"),
        ({"splits": {"val": {}}}, "unknown split"),
        ({"camera": {"distance_m": [1.5, "far"]}}, r"camera.distance_m\[1\] must be a number"),
        ({"camera": {"image_sizes": [[640, 480.5]]}}, r"image_sizes\[0\]\[1\] must be an integer"),
        ({"keypoints": {"crop_retry": "yes"}}, "crop_retry must be true or false"),
        ({"keypoints": {"noise": {"sequence_share": 0.6, "temporal_share": 0.5}}}, "split one variance"),
        ({"keypoints": {"noise": {"temporal_correlation": 1.0}}}, r"temporal_correlation must be in \[0, 1\)"),
        ({"keypoints": {"noise": {"hidden_sigma": [0.1] * 16}}}, "hidden_sigma must hold 17"),
        ({"keypoints": {"noise": {"hidden_bias": [[0.1]] * 17}}}, "hidden_bias must hold 17"),
        ({"keypoints": {"noise": {"outlier_persistence": "often"}}}, "outlier_persistence must be a number"),
        ({"keypoints": {"noise": {"outlier_persistence": 1.5}}}, "outlier_persistence"),
        ({"keypoints": {"noise": {"outlier_persistence": 0.2, "outlier_probability": 0.6}}}, r"<= 1 / \(2 - "),
    ],
)
def test_invalid_settings_are_rejected_with_a_clear_message(raw: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config_from_dict(raw)


def test_config_round_trips_through_its_plain_dict(tmp_path: Path) -> None:
    config = load_config(None, "test")
    path = tmp_path / "copy.yaml"
    plain = config.to_dict()
    split = plain.pop("split")
    path.write_text(yaml.safe_dump(plain), encoding="utf-8")
    # The stored dict already includes the split's overrides, so reading it as "train" must not re-apply them.
    reloaded = load_config(path, "train")
    assert reloaded.to_dict() == {**config.to_dict(), "split": "train"} and split == "test"


def test_shards_cover_every_sequence_once() -> None:
    tasks = plan_shards(10, 4)
    assert [(t.index, t.first_sequence, t.count) for t in tasks] == [(0, 0, 4), (1, 4, 4), (2, 8, 2)]
    with pytest.raises(ValueError):
        plan_shards(0, 4)


def test_synth_workers_start_with_one_blas_thread_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spawned workers read these when they import numpy; a user's value is kept, the others are put back."""
    first, *others = WORKER_THREAD_VARIABLES
    monkeypatch.setenv(first, "3")
    for name in others:
        monkeypatch.delenv(name, raising=False)
    with single_threaded_children():
        assert os.environ[first] == "3"
        assert all(os.environ[name] == "1" for name in others)
    assert os.environ[first] == "3"
    assert all(name not in os.environ for name in others)
