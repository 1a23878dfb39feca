"""lihmr_node's parameters: the declared defaults equal config/lihmr.yaml, and bad values are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lihmr_ros.ros.parameter_table import NODE_NAME, PARAMETERS, PARAMETERS_BY_NAME, defaults_as_nested_dict
from lihmr_ros.ros.settings import SettingsError, settings_from_values

CONFIG = Path(__file__).resolve().parent.parent / "config" / "lihmr.yaml"


def file_parameters() -> dict:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))[NODE_NAME]["ros__parameters"]


def _flatten(nested: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in nested.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_config_file_holds_exactly_the_declared_defaults_with_their_types() -> None:
    in_file = _flatten(file_parameters())
    declared = _flatten(defaults_as_nested_dict())
    assert in_file == declared
    assert {name: type(value) for name, value in in_file.items()} == {
        name: type(value) for name, value in declared.items()
    }


def test_a_real_node_declares_the_file_defaults_with_descriptors() -> None:
    import rclpy

    from lihmr_ros.ros.parameters import declare_parameters

    context = rclpy.Context()
    rclpy.init(context=context, args=["test", "--ros-args", "--params-file", str(CONFIG)])
    try:
        node = rclpy.create_node(NODE_NAME, context=context)
        values = declare_parameters(node)
        assert values == _flatten(file_parameters())
        described = node.describe_parameter("max_people")
        assert (described.integer_range[0].from_value, described.integer_range[0].to_value) == (1, 32)
        assert described.read_only and described.description
        assert "tensorrt" in node.describe_parameter("backend").additional_constraints
        assert not node.describe_parameter("publish_overlay").read_only
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


def _with_weights(tmp_path: Path, **overrides) -> dict:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"placeholder: only existence is checked here")
    return {"weights": str(weights), **overrides}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_people": 0}, "'max_people': must be >= 1"),
        ({"image_transport": "mjpeg"}, "'image_transport': must be one of raw, compressed"),
        ({"backend": "cuda"}, "'backend': must be one of auto, tensorrt, onnxruntime, torch"),
        ({"device": "gpu"}, "'device': must be auto, cpu, cuda or cuda:N"),
        ({"tracker.keypoint_weight": 1.5}, "'tracker.keypoint_weight': must be <= 1.0"),
        ({"window": "16"}, "'window': must be of type int"),
        ({"detection.full_frame_search": False, "detection.hog": False}, "'detection.*'.*no person is ever found"),
        ({"ground.camera_height": 0.3}, "'ground.camera_height': 0.3 m is below ground.min_camera_height"),
        ({"ground.min_scale": 0.05}, "'ground.min_scale': must be >= 0.1"),
        ({"ground.frame": "base_footprint", "ground.camera_height": 1.2},
         "'ground.frame': it and ground.camera_height"),
    ],
)
def test_invalid_values_name_the_parameter(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settings_from_values(_with_weights(tmp_path, **overrides))


def test_missing_default_weights_point_at_the_weights_parameter(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="'weights'.*set the 'weights' parameter"):
        settings_from_values({"weights": str(tmp_path / "absent.safetensors")})


def test_valid_values_reach_the_component_configs(tmp_path: Path) -> None:
    settings = settings_from_values(
        _with_weights(
            tmp_path, max_people=2, **{"tracker.min_hits": 5, "detection.hog": False, "diagnostics_period": 2}
        )
    )
    assert settings.detection.max_people == 2 and settings.detection.hog is None
    assert settings.tracker.min_hits == 5
    assert settings.diagnostics_period == 2.0 and isinstance(settings.diagnostics_period, float)
    assert settings.engine_cache_dir is None
    assert settings.ground is None  # the floor is off unless the camera height is given


def test_the_camera_mount_becomes_the_floor_plane(tmp_path: Path) -> None:
    values = {"ground.camera_height": 1.2, "ground.camera_pitch_deg": 90.0, "ground.history": 5}
    settings = settings_from_values(_with_weights(tmp_path, **values))
    assert settings.ground is not None and settings.ground.camera_height == pytest.approx(1.2)
    assert settings.ground.normal == pytest.approx([0.0, 0.0, -1.0])  # looking straight down
    assert settings.ground_scale.history == 5
    moving = settings_from_values(_with_weights(tmp_path, **{"ground.frame": " base_footprint "}))
    assert moving.ground is None and moving.ground_frame == "base_footprint"  # looked up per image instead


def test_every_numeric_parameter_has_a_range_and_every_default_is_valid() -> None:
    for spec in PARAMETERS:
        assert spec.problem(spec.default) is None, spec.name
        if spec.kind in (int, float):
            assert spec.minimum is not None and spec.maximum is not None, spec.name
    assert PARAMETERS_BY_NAME["window"].default == 16
