"""The node's parameter values for an offline run: a ROS params file plus ``NAME:=VALUE`` overrides.

Offline replay must run the pipeline the robot runs, so it reads the same
params file the node is started with (``config/lihmr.yaml`` or the robot's
own) and validates it with the node's own checks
(:func:`lihmr_ros.ros.settings.settings_from_values`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import yaml

from lihmr_ros.ros.parameter_table import NODE_NAME, PARAMETERS_BY_NAME, ParameterValue
from lihmr_ros.ros.settings import SettingsError


def _flatten(nested: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in nested.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _applies_to_node(key: str) -> bool:
    """ROS params-file sections: ``lihmr_node``, ``/ns/lihmr_node``, or the wildcards ``/**`` and ``**``."""
    return key.strip("/") in ("**", NODE_NAME) or key.endswith(f"/{NODE_NAME}")


def read_params_file(path: Path) -> dict[str, ParameterValue]:
    """The ``ros__parameters`` of every section of ``path`` that applies to lihmr_node, by dotted name."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SettingsError(f"cannot read params file {path}: {error}") from error
    if not isinstance(document, Mapping):
        raise SettingsError(
            f"params file {path} is not a ROS parameters file (expected '{NODE_NAME}: ros__parameters:')"
        )
    values: dict[str, ParameterValue] = {}
    for key, section in document.items():
        if _applies_to_node(str(key)) and isinstance(section, Mapping):
            values.update(_flatten(section.get("ros__parameters") or {}))
    return values


def parse_override(item: str) -> tuple[str, ParameterValue]:
    """``"max_people:=2"`` -> ``("max_people", 2)``: YAML typing as ``ros2 run -p`` does, strings kept verbatim."""
    name, separator, text = item.partition(":=")
    if not separator or not name:
        raise SettingsError(f"parameters are given as NAME:=VALUE, got {item!r}")
    spec = PARAMETERS_BY_NAME.get(name)
    if spec is None:
        raise SettingsError(f"unknown parameter {name!r}; lihmr_node has: {', '.join(sorted(PARAMETERS_BY_NAME))}")
    if spec.kind is str:
        return name, text
    try:
        return name, yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SettingsError(f"invalid parameter '{name}': cannot read {text!r} ({error})") from error


def node_parameter_values(params_file: Path | None, overrides: list[str]) -> dict[str, ParameterValue]:
    """Values from ``params_file`` (if any) with ``overrides`` applied on top; unknown names are refused."""
    values = read_params_file(params_file) if params_file is not None else {}
    unknown = sorted(set(values) - set(PARAMETERS_BY_NAME) - {"use_sim_time"})
    if unknown:
        raise SettingsError(f"params file {params_file} sets unknown parameters: {', '.join(unknown)}")
    values.pop("use_sim_time", None)
    values.update(parse_override(item) for item in overrides)
    return values
