"""Declare the parameters of :data:`~lihmr_ros.ros.parameter_table.PARAMETERS` on a node and read them back.

Each parameter carries a ROS descriptor (description, integer / floating-point
range, read-only flag, allowed values), so ``ros2 param describe`` documents
it and rclpy itself refuses out-of-range values from params files and
``ros2 param set``.  Those refusals are turned into :class:`SettingsError`
with the parameter's name, like every other start-up error.
"""

from __future__ import annotations

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node

from lihmr_ros.ros.parameter_table import PARAMETERS, ParameterSpec, ParameterValue
from lihmr_ros.ros.settings import NodeSettings, SettingsError, settings_from_values


def descriptor(spec: ParameterSpec) -> ParameterDescriptor:
    """The ROS descriptor of one parameter."""
    described = ParameterDescriptor(
        name=spec.name,
        description=spec.description,
        read_only=spec.read_only,
        additional_constraints=f"one of: {', '.join(spec.choices)}" if spec.choices else "",
    )
    if spec.minimum is not None and spec.maximum is not None:
        if spec.kind is int:
            described.integer_range = [IntegerRange(from_value=int(spec.minimum), to_value=int(spec.maximum), step=0)]
        elif spec.kind is float:
            described.floating_point_range = [
                FloatingPointRange(from_value=float(spec.minimum), to_value=float(spec.maximum), step=0.0)
            ]
    return described


def declare_parameters(node: Node) -> dict[str, ParameterValue]:
    """Declare every parameter (params-file and command-line overrides apply) and return the values."""
    values: dict[str, ParameterValue] = {}
    for spec in PARAMETERS:
        try:
            parameter = node.declare_parameter(spec.name, spec.default, descriptor(spec))
        except (InvalidParameterValueException, InvalidParameterTypeException) as error:
            expected = f"of type {spec.kind.__name__}"
            if spec.minimum is not None:
                expected += f" in [{spec.minimum}, {spec.maximum}]"
            raise SettingsError(f"invalid parameter '{spec.name}': must be {expected} ({error})") from error
        values[spec.name] = parameter.value
    return values


def read_settings(node: Node) -> NodeSettings:
    """Declare the parameters on ``node`` and validate them into :class:`NodeSettings`."""
    return settings_from_values(declare_parameters(node))
