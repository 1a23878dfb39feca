"""Parameter values -> validated settings and the configs of the ROS-free components.

Validation happens once, at start-up, before anything expensive is loaded,
and every error names the parameter and says what would be accepted, because
the usual cause is a typo in a params file or a launch argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, TypeVar

from lihmr_ros.geometry.ground import GroundPlane, GroundScaleConfig
from lihmr_ros.keypoints.multi_person import MultiPersonConfig
from lihmr_ros.keypoints.person_detector import HogConfig
from lihmr_ros.model.checkpoint import DEFAULT_CHECKPOINT
from lihmr_ros.ros.parameter_table import PARAMETERS, ParameterValue
from lihmr_ros.tracking.tracker import TrackerConfig


Config = TypeVar("Config")


class SettingsError(ValueError):
    """A parameter value the node cannot start with; the message names the parameter."""


@dataclass(frozen=True)
class NodeSettings:
    """Everything the node reads from its parameters, validated."""

    backend: str
    weights: Path
    device: str
    engine_cache_dir: Path | None
    max_people: int
    flip_averaging: bool
    """Average each person's body with the mirrored estimate (:mod:`lihmr_ros.runtime.flip_averaging`)."""
    window: int
    image_transport: str
    keypoint_source: str
    keypoint_max_time_difference: float
    publish_markers: bool
    publish_overlay: bool
    frame_id: str
    diagnostics_period: float
    detection: MultiPersonConfig
    tracker: TrackerConfig
    ground: GroundPlane | None
    """The floor in the camera frame (from ``ground.camera_*``), None when ``ground.camera_height`` is 0."""
    ground_frame: str
    """Floor frame to look up in TF per image (``ground.frame``); empty when the floor is static or off."""
    ground_scale: GroundScaleConfig


def settings_from_values(values: Mapping[str, ParameterValue]) -> NodeSettings:
    """Check every value against :data:`PARAMETERS` and build the settings (raises :class:`SettingsError`)."""
    checked: dict[str, ParameterValue] = {}
    for spec in PARAMETERS:
        value = values.get(spec.name, spec.default)
        problem = spec.problem(value)
        if problem is not None:
            raise SettingsError(f"invalid parameter '{spec.name}': {problem}")
        checked[spec.name] = float(value) if spec.kind is float else value
    weights = Path(str(checked["weights"])).expanduser() if checked["weights"] else DEFAULT_CHECKPOINT
    if not weights.is_file():
        hint = (
            "the shipped default weights are not installed; " if not checked["weights"] else ""
        )
        problem = "is not a regular file" if weights.exists() else "does not exist"
        raise SettingsError(
            f"invalid parameter 'weights': checkpoint {weights} {problem} ({hint}set the 'weights' parameter "
            "to a LIHMR .safetensors checkpoint, e.g. --ros-args -p weights:=/path/to/model.safetensors)"
        )
    device = str(checked["device"]).strip()
    if not (device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())):
        raise SettingsError(f"invalid parameter 'device': must be auto, cpu, cuda or cuda:N, got {device!r}")
    ground_frame = str(checked["ground.frame"]).strip()
    return NodeSettings(
        backend=str(checked["backend"]),
        weights=weights,
        device=device,
        engine_cache_dir=Path(str(checked["engine_cache_dir"])).expanduser() if checked["engine_cache_dir"] else None,
        max_people=int(checked["max_people"]),
        flip_averaging=bool(checked["flip_averaging"]),
        window=int(checked["window"]),
        image_transport=str(checked["image_transport"]),
        keypoint_source=str(checked["keypoint_source"]),
        keypoint_max_time_difference=float(checked["keypoint_max_time_difference"]),
        publish_markers=bool(checked["publish_markers"]),
        publish_overlay=bool(checked["publish_overlay"]),
        frame_id=str(checked["frame_id"]),
        diagnostics_period=float(checked["diagnostics_period"]),
        detection=_build("detection", lambda: MultiPersonConfig(
            max_people=int(checked["max_people"]),
            redetect_interval=int(checked["detection.redetect_interval"]),
            crop_scale=float(checked["detection.crop_scale"]),
            min_score=float(checked["detection.min_score"]),
            max_misses=int(checked["detection.max_misses"]),
            tracking=bool(checked["detection.tracking"]),
            full_frame_search=bool(checked["detection.full_frame_search"]),
            hog=HogConfig() if checked["detection.hog"] else None,
        )),
        tracker=_build("tracker", lambda: TrackerConfig(
            min_hits=int(checked["tracker.min_hits"]),
            max_age=int(checked["tracker.max_age"]),
            keypoint_weight=float(checked["tracker.keypoint_weight"]),
            max_cost=float(checked["tracker.max_cost"]),
            max_centre_distance=float(checked["tracker.max_centre_distance"]),
        )),
        ground=_ground_plane(checked, ground_frame),
        ground_frame=ground_frame,
        ground_scale=_build("ground", lambda: GroundScaleConfig(
            history=int(checked["ground.history"]),
            min_camera_height=float(checked["ground.min_camera_height"]),
            min_ankle_confidence=float(checked["ground.min_ankle_confidence"]),
            min_scale=float(checked["ground.min_scale"]),
            max_scale=float(checked["ground.max_scale"]),
            pitch_uncertainty_deg=float(checked["ground.pitch_uncertainty_deg"]),
            foot_uncertainty_m=float(checked["ground.foot_uncertainty_m"]),
            network_size_uncertainty=float(checked["ground.network_size_uncertainty"]),
        )),
    )


def _ground_plane(checked: Mapping[str, ParameterValue], ground_frame: str) -> GroundPlane | None:
    """The configured static floor, or None when it is off or comes from TF (``ground_frame``); a camera too
    low to use it is an error, not a no-op."""
    height = float(checked["ground.camera_height"])
    if height > 0.0 and ground_frame:
        raise SettingsError(
            "invalid parameter 'ground.frame': it and ground.camera_height both give the floor; keep "
            "ground.frame for a camera that moves (TF) or ground.camera_height for a fixed mount, not both"
        )
    if height == 0.0:
        return None
    lowest = float(checked["ground.min_camera_height"])
    if height < lowest:
        raise SettingsError(
            f"invalid parameter 'ground.camera_height': {height} m is below ground.min_camera_height ({lowest} m), "
            "so the floor would never set a size; set ground.camera_height to 0 to turn the floor off, or lower "
            "ground.min_camera_height if your foot keypoints are that reliable"
        )
    return GroundPlane.from_camera_pose(
        height, float(checked["ground.camera_pitch_deg"]), float(checked["ground.camera_roll_deg"])
    )


def _build(group: str, factory: Callable[[], Config]) -> Config:
    """Run a config constructor, naming the parameter group when its own checks refuse a combination."""
    try:
        return factory()
    except ValueError as error:
        raise SettingsError(f"invalid '{group}.*' parameters: {error}") from error
