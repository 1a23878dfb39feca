"""One processed image -> the serialised messages the node would have published for it.

The messages are built by the node's own code (:mod:`lihmr_ros.ros.messages`,
:mod:`~lihmr_ros.ros.markers`, :mod:`~lihmr_ros.ros.overlay`) as rclpy
messages and serialised with rclpy, so offline output cannot drift from live
output.  rclpy is only imported for its message classes and serialiser: no
ROS context is started.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from builtin_interfaces.msg import Time
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image
from std_msgs.msg import Header

from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.imaging import rgb_to_image
from lihmr_ros.pipeline.results import FrameResult
from lihmr_ros.ros.markers import frame_markers
from lihmr_ros.ros.mesh_preview import MeshPreview
from lihmr_ros.ros.messages import body_model_name, human_mesh_array, mesh_topology

OUTPUT_TYPES: dict[str, str] = {
    "humans": "lihmr_ros/msg/HumanMeshArray",
    "mesh_topology": "lihmr_ros/msg/MeshTopology",
    "markers": "visualization_msgs/msg/MarkerArray",
    "overlay": "sensor_msgs/msg/Image",
}
"""Output topic names (relative to the output namespace) and their types, as the node publishes them."""


def output_header(sec: int, nanosec: int, frame_id: str) -> Header:
    return Header(stamp=Time(sec=int(sec), nanosec=int(nanosec)), frame_id=frame_id)


@dataclass(frozen=True)
class OutputBuilder:
    """Serialises the node's outputs for one mesh template."""

    template: MeshTemplate
    preview: MeshPreview
    body_model: str

    @classmethod
    def for_template(cls, template: MeshTemplate) -> OutputBuilder:
        return cls(template, MeshPreview.from_template(template), body_model_name(template))

    def topology(self, header: Header) -> bytes:
        return serialize_message(mesh_topology(self.template, header.stamp))

    def frame(self, result: FrameResult, header: Header, image_rgb: np.ndarray | None) -> dict[str, bytes]:
        """``humans`` and ``markers`` for ``result``, plus ``overlay`` drawn on ``image_rgb`` when one is given."""
        outputs = {
            "humans": serialize_message(human_mesh_array(result, header, self.body_model)),
            "markers": serialize_message(frame_markers(header, result, self.preview)),
        }
        if image_rgb is not None:
            from lihmr_ros.ros.overlay import draw_overlay

            overlay = Image(header=header)
            rgb_to_image(draw_overlay(image_rgb, result, self.preview)).apply_to(overlay)
            outputs["overlay"] = serialize_message(overlay)
        return outputs
