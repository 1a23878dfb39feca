"""``lihmr_node``: camera images in, 3D human meshes out.

Threads: the executor thread only runs cheap callbacks (store the newest
image, the camera intrinsics, external keypoints; the diagnostics timer),
while one worker thread takes the newest stored image, runs the pipeline and
publishes.  Images arriving while the worker is busy replace each other in a
one-slot mailbox (:mod:`lihmr_ros.ros.latest_frame`) and are counted as
dropped, so when the camera outruns the model the output rate falls but the
latency of each result stays at about one processing time.

Topics (relative, remap as usual): subscribes ``image`` or
``image/compressed`` (parameter ``image_transport``), ``camera_info`` and, with
``keypoint_source=topic``, ``keypoints``; publishes ``humans``,
``mesh_topology`` (latched), ``markers``, ``overlay`` and ``/diagnostics``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from lihmr_ros.geometry.ground import GroundPlane
from lihmr_ros.geometry.intrinsics import CameraIntrinsics
from lihmr_ros.imaging import ImageConversionError, compressed_to_rgb, image_to_rgb, rgb_to_image
from lihmr_ros.msg import HumanMeshArray, MeshTopology
from lihmr_ros.pipeline.results import FrameResult
from lihmr_ros.ros.diagnostics import diagnostic_array
from lihmr_ros.ros.floor_from_tf import FloorFromTf
from lihmr_ros.ros.latest_frame import LatestSlot
from lihmr_ros.ros.markers import clear_all_markers, frame_markers
from lihmr_ros.ros.mesh_preview import MeshPreview
from lihmr_ros.ros.messages import body_model_name, human_mesh_array, keypoints_from_message, mesh_topology
from lihmr_ros.ros.overlay import draw_overlay
from lihmr_ros.ros.parameter_table import NODE_NAME
from lihmr_ros.ros.parameters import read_settings
from lihmr_ros.ros.startup import load_pipeline
from lihmr_ros.ros.statistics import PipelineStatistics

WARNING_THROTTLE_S = 5.0
"""Bad input is reported at most this often (it usually repeats every frame until someone fixes the source)."""

WORKER_JOIN_TIMEOUT_S = 10.0

RESULT_QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
"""Reliable publishers serve both reliable and best-effort subscribers."""

LATCHED_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)


@dataclass(frozen=True)
class ReceivedImage:
    """An image message with when it arrived (node clock for stamp fallback, monotonic for latency)."""

    message: Any
    arrival_stamp: Any
    arrival_monotonic: float


def stamp_seconds(stamp: Any) -> float:
    return float(stamp.sec) + 1e-9 * float(stamp.nanosec)


class LihmrNode(Node):
    """Runs :class:`~lihmr_ros.pipeline.StreamingPipeline` on a camera stream."""

    def __init__(self, **node_options: Any) -> None:
        """Raises :class:`~lihmr_ros.ros.settings.SettingsError` when a parameter cannot work."""
        super().__init__(NODE_NAME, **node_options)
        self.settings = read_settings(self)
        # Before the (slow) pipeline, so a missing tf2_ros stops start-up at once.
        self._floor_tf = FloorFromTf(self, self.settings.ground_frame) if self.settings.ground_frame else None
        loaded = load_pipeline(self.settings, self.get_logger())
        self._pipeline = loaded.pipeline
        self._external_source = loaded.external_source
        self._preview = MeshPreview.from_template(loaded.template)
        self._body_model = body_model_name(loaded.template)
        self._publish_markers = self.settings.publish_markers
        self._publish_overlay = self.settings.publish_overlay
        self._camera: CameraIntrinsics | None = None
        self._statistics = PipelineStatistics()
        self._slot: LatestSlot[ReceivedImage] = LatestSlot()

        self._humans = self.create_publisher(HumanMeshArray, "humans", RESULT_QOS)
        self._markers = self.create_publisher(MarkerArray, "markers", RESULT_QOS)
        self._overlay = self.create_publisher(Image, "overlay", QoSProfile(depth=2))
        self._diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._topology = self.create_publisher(MeshTopology, "mesh_topology", LATCHED_QOS)
        self._topology.publish(mesh_topology(loaded.template, self.get_clock().now().to_msg()))

        compressed = self.settings.image_transport == "compressed"
        self._decode = compressed_to_rgb if compressed else image_to_rgb
        image_topic = "image/compressed" if compressed else "image"
        self.create_subscription(
            CompressedImage if compressed else Image, image_topic, self._on_image, qos_profile_sensor_data
        )
        self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, qos_profile_sensor_data)
        if self._external_source is not None:
            self.create_subscription(HumanMeshArray, "keypoints", self._on_keypoints, qos_profile_sensor_data)
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self.create_timer(self.settings.diagnostics_period, self._publish_diagnostics)

        self._worker = threading.Thread(target=self._work, name="lihmr_pipeline", daemon=True)
        self._worker.start()
        backend = self._pipeline.backend
        floor = self.settings.ground
        if floor is not None:
            sizes = f"sizes from the floor {floor.camera_height:.2f} m below the camera (needs camera_info)"
        elif self._floor_tf is not None:
            sizes = f"sizes from the floor frame '{self._floor_tf.floor_frame}' in TF (needs camera_info)"
        else:
            sizes = "sizes from the network (ground.camera_height is 0, ground.frame empty)"
        self.get_logger().info(
            f"ready: backend {backend.name} ({backend.description}), window {self._pipeline.window}, "
            f"up to {self.settings.max_people} people, keypoints from {self.settings.keypoint_source}, "
            f"{sizes}, listening on {self.resolve_topic_name(image_topic)}"
        )

    def shutdown(self) -> None:
        """Stop the worker (after its current image) and release the pipeline; call before destroy_node."""
        self._slot.close()
        if self._worker.is_alive():
            self._worker.join(timeout=WORKER_JOIN_TIMEOUT_S)
        self._pipeline.close()

    # Executor-thread callbacks: cheap, never block on the pipeline.

    def _on_image(self, message: Any) -> None:
        received = ReceivedImage(message, self.get_clock().now().to_msg(), time.monotonic())
        self._statistics.count_received(dropped_previous=self._slot.put(received))

    def _on_camera_info(self, message: CameraInfo) -> None:
        try:
            self._camera = CameraIntrinsics.from_camera_info(message)
        except ValueError as error:
            self._camera = None
            self._statistics.count_bad_input()
            self.get_logger().warning(
                f"ignoring camera_info, placing people with assumed intrinsics instead: {error}",
                throttle_duration_sec=WARNING_THROTTLE_S,
            )

    def _on_keypoints(self, message: HumanMeshArray) -> None:
        assert self._external_source is not None
        try:
            keypoints, scores, boxes = keypoints_from_message(message)
            self._external_source.submit(stamp_seconds(message.header.stamp), keypoints, scores, boxes)
        except ValueError as error:
            self._statistics.count_bad_input()
            self.get_logger().warning(f"ignoring keypoints message: {error}", throttle_duration_sec=WARNING_THROTTLE_S)

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        """Only the publish_* switches can change at run time (rclpy refuses the read-only others)."""
        for parameter in parameters:
            if parameter.name == "publish_markers":
                if self._publish_markers and not parameter.value:
                    header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.settings.frame_id)
                    self._markers.publish(clear_all_markers(header))
                self._publish_markers = bool(parameter.value)
            elif parameter.name == "publish_overlay":
                self._publish_overlay = bool(parameter.value)
        return SetParametersResult(successful=True)

    def _publish_diagnostics(self) -> None:
        backend = self._pipeline.backend
        self._diagnostics.publish(
            diagnostic_array(
                self.get_clock().now().to_msg(),
                self.get_fully_qualified_name(),
                self._statistics.snapshot(),
                backend.name,
                backend.description,
            )
        )

    # Worker thread.

    def _work(self) -> None:
        while (received := self._slot.take()) is not None:
            try:
                self._process(received)
            except Exception as error:  # noqa: BLE001 - one bad frame must not stop the node
                self._statistics.count_failure()
                self.get_logger().error(
                    f"processing an image failed ({type(error).__name__}: {error}); continuing with the next",
                    throttle_duration_sec=WARNING_THROTTLE_S,
                )

    def _floor_at(self, header: Header) -> GroundPlane | None:
        """The floor from TF for this image, or None (the network's sizes) with a rate-limited warning."""
        assert self._floor_tf is not None
        try:
            return self._floor_tf.floor_at(header.frame_id, header.stamp)
        except (LookupError, ValueError) as error:
            self.get_logger().warning(
                f"no floor for this image, sizes from the network: {error}", throttle_duration_sec=WARNING_THROTTLE_S
            )
            return None

    def _warn_that_the_floor_disagrees(self, result: FrameResult) -> None:
        """People held at the floor-scale clamp mean the floor and the body disagree far beyond the
        network's own size error: say so, since a wrong mount silently shrinks or grows everyone."""
        limits = self.settings.ground_scale
        scales = ", ".join(
            f"track {p.track_id}: x{p.ground_scale:.2f}" for p in result.people if limits.at_limit(p.ground_scale)
        )
        self.get_logger().warning(
            f"the floor would rescale people beyond ground.min_scale..ground.max_scale "
            f"({limits.min_scale}..{limits.max_scale}; {scales}); check ground.camera_height and "
            "ground.camera_pitch_deg against the camera mount, and that these people stand on that floor",
            throttle_duration_sec=WARNING_THROTTLE_S,
        )

    def _process(self, received: ReceivedImage) -> None:
        message = received.message
        try:
            image_rgb = self._decode(message)
        except ImageConversionError as error:
            self._statistics.count_bad_input()
            self.get_logger().warning(f"skipping an input image: {error}", throttle_duration_sec=WARNING_THROTTLE_S)
            return
        stamp = message.header.stamp
        if stamp.sec == 0 and stamp.nanosec == 0:  # unstamped driver: the arrival time is the best we have
            stamp = received.arrival_stamp
        header = Header(stamp=stamp, frame_id=message.header.frame_id or self.settings.frame_id)
        if self._floor_tf is not None:
            self._pipeline.ground = self._floor_at(header)
        result = self._pipeline.process(image_rgb, stamp_seconds(stamp), self._camera)
        floor_people, floor_clamped = self.settings.ground_scale.count_floor_sized(
            person.ground_scale for person in result.people
        )
        if floor_clamped:
            self._warn_that_the_floor_disagrees(result)
        self._humans.publish(human_mesh_array(result, header, self._body_model))
        if self._publish_markers and self._markers.get_subscription_count() > 0:
            self._markers.publish(frame_markers(header, result, self._preview))
        if self._publish_overlay and self._overlay.get_subscription_count() > 0:
            overlay = Image(header=header)
            rgb_to_image(draw_overlay(image_rgb, result, self._preview)).apply_to(overlay)
            self._overlay.publish(overlay)
        latency_ms = 1000.0 * (time.monotonic() - received.arrival_monotonic)
        self._statistics.count_processed(len(result.people), result.timings_ms, latency_ms, floor_people, floor_clamped)

