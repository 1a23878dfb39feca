"""NetworkConfig: the YAML defaults, serialisation and validation (lihmr_ros.model.config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lihmr_ros.model.config import NetworkConfig

REPO = Path(__file__).resolve().parent.parent


def test_shipped_yaml_equals_dataclass_defaults() -> None:
    assert NetworkConfig.from_yaml(REPO / "config" / "model.yaml") == NetworkConfig()


def test_dict_round_trip_and_target_index() -> None:
    config = NetworkConfig().with_window(5, mode="center").with_interaction("full")
    assert NetworkConfig.from_dict(config.to_dict()) == config
    assert config.target_index == 2
    assert NetworkConfig().with_window(5).target_index == 4
    assert NetworkConfig().with_window(1, mode="center").target_index == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"lifter": {"widht": 64}}, r"unknown setting\(s\) in network.lifter: widht"),
        ({"window": "16"}, "network.window must be an integer"),
        ({"mode": "future"}, "mode must be one of"),
        ({"refiner": {"interaction": "medium"}}, "refiner.interaction must be one of"),
        ({"lifter": {"width": 90, "heads": 4}}, "lifter.width / lifter.heads"),
        ({"frequency": {"kernel_size": 4}}, "kernel_size must be odd"),
        ({"crop": {"size": 100}}, "divisible by 2\\*\\*4"),
        ({"encoder": {"channels": [8, "x"]}}, r"encoder.channels\[1\] must be an integer"),
        ({"frequency": {"split": "no"}}, "frequency.split must be true or false"),
        ({"window": 0}, "window must be >= 1"),
    ],
)
def test_bad_config_is_rejected_with_the_field_named(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NetworkConfig.from_dict(data)


def test_yaml_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "model.yaml"
    path.write_text("lifter:\n  depth: two\n")
    with pytest.raises(ValueError, match=f"{path}.*lifter.depth must be an integer"):
        NetworkConfig.from_yaml(path)
    with pytest.raises(FileNotFoundError):
        NetworkConfig.from_yaml(tmp_path / "missing.yaml")
    path.write_text("window: [16\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        NetworkConfig.from_yaml(path)
