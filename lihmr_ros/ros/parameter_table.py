"""Every parameter of ``lihmr_node``: name, default, range, description, in one table.

The table is the single source of truth: the node declares exactly these
parameters (with ROS descriptors carrying the description and range, so
``ros2 param describe`` explains them), ``config/lihmr.yaml`` must hold exactly
these defaults (a test checks it), and start-up validation reads the same
ranges and choices.  Kept free of rclpy so the table can be checked without
ROS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from lihmr_ros.runtime.backend import BACKEND_NAMES

ParameterValue = Union[bool, int, float, str]

NODE_NAME = "lihmr_node"


@dataclass(frozen=True)
class ParameterSpec:
    """One declared parameter."""

    name: str
    default: ParameterValue
    description: str
    choices: tuple[str, ...] = ()
    """Allowed values of a string parameter (empty: any string)."""
    minimum: float | None = None
    maximum: float | None = None
    read_only: bool = True
    """Most settings shape objects built at start-up; changing them later would silently do nothing."""

    @property
    def kind(self) -> type:
        return type(self.default)

    def problem(self, value: ParameterValue) -> str | None:
        """Why ``value`` is not acceptable, or ``None`` if it is."""
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not self.kind:
            return f"must be of type {self.kind.__name__}, got {value!r} ({type(value).__name__})"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}, got {value!r}"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum}, got {value!r}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {self.maximum}, got {value!r}"
        return None


PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("backend", "auto", "Inference engine: auto tries tensorrt, then onnxruntime, then torch.",
                  choices=BACKEND_NAMES),
    ParameterSpec("weights", "", "Network checkpoint (.safetensors); empty = the shipped lihmr_default.safetensors."),
    ParameterSpec("device", "auto", "Where the network runs: auto, cpu, cuda or cuda:N."),
    ParameterSpec("engine_cache_dir", "",
                  "Directory for exported ONNX graphs and TensorRT engines; empty = ~/.cache/lihmr/engines."),
    ParameterSpec("max_people", 4, "Most people tracked and reconstructed per image (sets the batch size).",
                  minimum=1, maximum=32),
    ParameterSpec("flip_averaging", False,
                  "Also run the network on each person's mirror image and average the two bodies: steadier "
                  "orientation and articulation for twice the network's work (docs/model_card.md)."),
    ParameterSpec("window", 16, "Frames per person window; must equal the window the checkpoint was trained with.",
                  minimum=1, maximum=256),
    ParameterSpec("image_transport", "raw",
                  "raw: subscribe to 'image' (sensor_msgs/Image); compressed: 'image/compressed' (jpeg/png).",
                  choices=("raw", "compressed")),
    ParameterSpec("keypoint_source", "blazepose",
                  "blazepose: built-in MediaPipe detector; topic: 2D people from 'keypoints' "
                  "(lihmr_ros/HumanMeshArray with joints2d, joint_confidence, score and bbox filled).",
                  choices=("blazepose", "topic")),
    ParameterSpec("keypoint_max_time_difference", 0.05,
                  "keypoint_source=topic: largest stamp difference (s) between an image and its keypoints.",
                  minimum=0.0, maximum=10.0),
    ParameterSpec("publish_markers", True, "Publish 'markers' (mesh and skeleton per person) for RViz.",
                  read_only=False),
    ParameterSpec("publish_overlay", True, "Publish 'overlay': the input image with meshes and skeletons drawn.",
                  read_only=False),
    ParameterSpec("frame_id", "", "Frame for outputs when the input image's header.frame_id is empty."),
    ParameterSpec("diagnostics_period", 1.0, "Seconds between messages on 'diagnostics'.",
                  minimum=0.1, maximum=60.0),
    ParameterSpec("detection.min_score", 0.4, "Mean keypoint confidence below which a BlazePose result is ignored.",
                  minimum=0.0, maximum=1.0),
    ParameterSpec("detection.redetect_interval", 10, "Frames between searches for new people.",
                  minimum=1, maximum=1000),
    ParameterSpec("detection.crop_scale", 1.5, "Side of a followed person's detector crop / their box size.",
                  minimum=1.0, maximum=4.0),
    ParameterSpec("detection.max_misses", 2, "Frames a followed person may go unfound before they are dropped.",
                  minimum=0, maximum=100),
    ParameterSpec("detection.tracking", True,
                  "One BlazePose instance per person in tracking mode (faster, ~110 MB each)."),
    ParameterSpec("detection.full_frame_search", True, "Search the whole image with BlazePose for new people."),
    ParameterSpec("detection.hog", True, "Also search with OpenCV's HOG people detector (small, distant people)."),
    ParameterSpec("tracker.min_hits", 3, "Detections needed before a person gets an id and a mesh.",
                  minimum=1, maximum=100),
    ParameterSpec("tracker.max_age", 10, "Frames a person may go unseen and keep their id.",
                  minimum=0, maximum=1000),
    ParameterSpec("tracker.keypoint_weight", 0.5, "Share of keypoint similarity (vs box overlap) in matching.",
                  minimum=0.0, maximum=1.0),
    ParameterSpec("tracker.max_cost", 0.8, "Detections costlier than this to a track are not matched to it.",
                  minimum=0.01, maximum=1.0),
    ParameterSpec("tracker.max_centre_distance", 0.5,
                  "Fallback matching: box centres closer than this x body height match.", minimum=0.0, maximum=10.0),
    ParameterSpec("ground.frame", "",
                  "Floor frame (z up, floor at z = 0, e.g. base_footprint) looked up in TF at each image's stamp "
                  "for a camera that moves; needs tf2_ros. Empty: the static ground.camera_* mount, or no floor."),
    ParameterSpec("ground.camera_height", 0.0,
                  "Metres from the floor up to the camera; > 0 scales each person until their feet stand on the "
                  "floor (size and distance from the mount, not the network's guess). 0 = off.",
                  minimum=0.0, maximum=20.0),
    ParameterSpec("ground.camera_pitch_deg", 0.0, "Camera pitch below the horizon, degrees (negative: looking up).",
                  minimum=-90.0, maximum=90.0),
    ParameterSpec("ground.camera_roll_deg", 0.0,
                  "Camera roll about its optical axis, degrees (positive: upright people lean right in the image).",
                  minimum=-90.0, maximum=90.0),
    ParameterSpec("ground.history", 30, "Frames of a person's floor-contact estimates whose median is applied.",
                  minimum=1, maximum=1000),
    ParameterSpec("ground.min_camera_height", 0.5,
                  "Lowest camera height at which the floor may set sizes (near foot level it is ill-conditioned).",
                  minimum=0.0, maximum=20.0),
    ParameterSpec("ground.min_ankle_confidence", 0.5,
                  "A frame's floor contact counts only when an ankle keypoint is at least this confident.",
                  minimum=0.0, maximum=1.0),
    ParameterSpec("ground.min_scale", 0.6, "Floor-contact scale factors are clamped to at least this.",
                  minimum=0.1, maximum=1.0),
    ParameterSpec("ground.max_scale", 1.6, "Floor-contact scale factors are clamped to at most this.",
                  minimum=1.0, maximum=10.0),
    ParameterSpec("ground.pitch_uncertainty_deg", 1.0,
                  "How well the camera pitch is known (degrees, 1 sigma); far people on grazing rays then keep "
                  "more of the network's size.", minimum=0.0, maximum=20.0),
    ParameterSpec("ground.foot_uncertainty_m", 0.04,
                  "How far a standing person's predicted lowest point may be from the floor (metres, 1 sigma).",
                  minimum=0.0, maximum=1.0),
    ParameterSpec("ground.network_size_uncertainty", 0.08,
                  "Relative error of the network's own size guess (1 sigma), weighed against the floor's.",
                  minimum=0.001, maximum=1.0),
)

PARAMETERS_BY_NAME: dict[str, ParameterSpec] = {spec.name: spec for spec in PARAMETERS}


def defaults_as_nested_dict() -> dict[str, object]:
    """The defaults nested by their dotted names, as a ROS parameters YAML file holds them."""
    nested: dict[str, object] = {}
    for spec in PARAMETERS:
        *groups, leaf = spec.name.split(".")
        level = nested
        for group in groups:
            level = level.setdefault(group, {})  # type: ignore[assignment]
        level[leaf] = spec.default  # type: ignore[index]
    return nested
