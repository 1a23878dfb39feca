"""One run of the system as separate processes: camera -> ``lihmr_node`` -> recorder, into a rosbag2 bag.

Order matters on a busy machine: the node is started first and takes tens of
seconds to load (torch, MediaPipe, the inference backend); the camera starts
only once the node's latched ``mesh_topology`` has reached the recorder, and
then waits for its subscribers to match, so the first frame is not lost.
After the last frame the run waits until the node has answered it (or has
been quiet for a while), then stops the node with SIGINT, stops the recorder
and closes the bag: every stage is bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lihmr_ros.demo.camera_process import CameraSettings, settings_to_arguments
from lihmr_ros.demo.processes import ChildProcess, ros_environment
from lihmr_ros.demo.transport import fastdds_profile

NAMESPACE = "/lihmr"
"""The node's namespace: its outputs are ``/lihmr/humans`` etc. (``/diagnostics`` stays global)."""

IMAGE_TOPIC = "/camera/image_raw"
CAMERA_INFO_TOPIC = "/camera/camera_info"
HUMANS_TOPIC = f"{NAMESPACE}/humans"
TOPOLOGY_TOPIC = f"{NAMESPACE}/mesh_topology"
MARKERS_TOPIC = f"{NAMESPACE}/markers"
OVERLAY_TOPIC = f"{NAMESPACE}/overlay"
DIAGNOSTICS_TOPIC = "/diagnostics"

ALL_TOPICS: tuple[str, ...] = (IMAGE_TOPIC, CAMERA_INFO_TOPIC, HUMANS_TOPIC, TOPOLOGY_TOPIC, MARKERS_TOPIC,
                               OVERLAY_TOPIC, DIAGNOSTICS_TOPIC)
"""What the demo records: the camera and every node output, as a robot's recording would hold them."""

RESULT_TOPICS: tuple[str, ...] = (HUMANS_TOPIC, TOPOLOGY_TOPIC, DIAGNOSTICS_TOPIC)
"""What the benchmark records: no images and no overlay/markers subscriber, so the node skips drawing them."""

NODE_START_TIMEOUT_S = 300.0
"""Loading torch, MediaPipe and exporting the ONNX graph on first use takes minutes on a busy 2-core machine."""

CAMERA_EXTRA_S = 90.0
"""Beyond the stream's own duration: subscriber matching and a slow machine."""

DRAIN_QUIET_S = 10.0
"""Stop waiting for the answer to the last frame when no result has come for this long."""


class SessionError(RuntimeError):
    """A process of the run failed; the message says which and quotes its log."""


@dataclass(frozen=True)
class SessionConfig:
    """Everything one run needs."""

    camera: CameraSettings
    weights: Path | None
    """Checkpoint for the node; None: the node's default (the shipped weights)."""
    window: int
    """The checkpoint's temporal window (the node refuses a different one)."""
    bag_path: Path
    log_dir: Path
    domain_id: int
    topics: tuple[str, ...] = ALL_TOPICS
    storage: str = "mcap"
    node_parameters: dict[str, str] = field(default_factory=dict)
    """Extra ``-p name:=value`` for the node."""
    diagnostics_period_s: float = 1.0


@dataclass(frozen=True)
class SessionReport:
    """What the run did, besides the bag it wrote."""

    camera: dict
    """The camera process's report: ``published``, ``late``, first/last stamp, size."""
    node_exit_status: int
    node_start_s: float
    """From starting the node process to its topology arriving."""
    stream_s: float
    """From starting the camera to the node's answer to the last frame."""
    bag_path: Path
    bag_counts: dict[str, int]


def node_command(config: SessionConfig) -> list[str]:
    """``lihmr_node`` with the installed params file, remapped onto the camera topics."""
    from lihmr_ros import paths

    arguments = [
        "--params-file", str(paths.config_file("lihmr.yaml")),
        "-r", f"__ns:={NAMESPACE}",
        "-r", f"image:={IMAGE_TOPIC}",
        "-r", f"camera_info:={CAMERA_INFO_TOPIC}",
        "-p", f"window:={config.window}",
        "-p", f"diagnostics_period:={config.diagnostics_period_s}",
    ]
    if config.weights is not None:
        arguments += ["-p", f"weights:={config.weights}"]
    for name, value in config.node_parameters.items():
        arguments += ["-p", f"{name}:={value}"]
    # The module entry point rather than the console script: it exists in every install route
    # (venv, wheel, colcon puts scripts in lib/lihmr_ros, not next to the interpreter).
    return [sys.executable, "-m", "lihmr_ros.node_main", "--ros-args", *arguments]


def _recorded_topics(names: tuple[str, ...]):
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image
    from visualization_msgs.msg import MarkerArray

    from lihmr_ros.demo.recorder import RecordedTopic
    from lihmr_ros.msg import HumanMeshArray, MeshTopology

    reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    overlay = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    available = {
        IMAGE_TOPIC: RecordedTopic(IMAGE_TOPIC, Image, reliable),
        CAMERA_INFO_TOPIC: RecordedTopic(CAMERA_INFO_TOPIC, CameraInfo, reliable),
        HUMANS_TOPIC: RecordedTopic(HUMANS_TOPIC, HumanMeshArray, reliable),
        TOPOLOGY_TOPIC: RecordedTopic(TOPOLOGY_TOPIC, MeshTopology, latched, latched=True),
        MARKERS_TOPIC: RecordedTopic(MARKERS_TOPIC, MarkerArray, reliable),
        OVERLAY_TOPIC: RecordedTopic(OVERLAY_TOPIC, Image, overlay),
        DIAGNOSTICS_TOPIC: RecordedTopic(DIAGNOSTICS_TOPIC, DiagnosticArray, reliable),
    }
    missing = {TOPOLOGY_TOPIC, HUMANS_TOPIC} - set(names)
    if missing:
        raise ValueError(f"a session must record {', '.join(sorted(missing))} (readiness and progress)")
    return [available[name] for name in names]


def run_session(config: SessionConfig, progress=print) -> SessionReport:
    """Run camera, node and recorder until the stream is processed; the bag is complete on return.

    ``progress`` receives one-line status messages. Raises :class:`SessionError`
    when the node or camera fails (the bag is still closed and kept).
    """
    from lihmr_ros.bag import BagWriter
    from lihmr_ros.demo.recorder import TopicRecorder

    config.log_dir.mkdir(parents=True, exist_ok=True)
    # rclpy in this process and every child read these at start-up.
    profile = fastdds_profile()
    os.environ.update(ros_environment(config.domain_id, config.log_dir / "ros", profile))
    topics = _recorded_topics(config.topics)
    camera_subscribers = 2 if IMAGE_TOPIC in config.topics else 1  # the node, plus the recorder if it records images

    writer = BagWriter(config.bag_path, storage=config.storage)
    node = camera = recorder = None
    try:
        recorder = TopicRecorder(writer, topics, ready_topic=TOPOLOGY_TOPIC, result_topic=HUMANS_TOPIC,
                                 domain_id=config.domain_id)
        progress(f"starting lihmr_node (ROS domain {config.domain_id}; log {config.log_dir / 'node.log'})")
        started = time.monotonic()
        node = ChildProcess("lihmr_node", node_command(config), config.log_dir / "node.log")
        _wait_for_node(recorder, node)
        node_start_s = time.monotonic() - started
        progress(f"node ready after {node_start_s:.1f} s; camera publishing {config.camera.source} "
                 f"at {config.camera.fps:g} Hz ({config.camera.width}x{config.camera.height})")

        stream_started = time.monotonic()
        camera_command = [sys.executable, "-m", "lihmr_ros.demo.camera_process",
                          *settings_to_arguments(config.camera), "--wait-subscribers", str(camera_subscribers)]
        camera = ChildProcess("camera", camera_command, config.log_dir / "camera.log", capture_stdout=True)
        camera_report = _wait_for_camera(camera, config.camera, node)
        progress(f"camera published {camera_report['published']} frames; waiting for the node to finish")
        _drain(recorder, camera_report["last_stamp_ns"])
        stream_s = time.monotonic() - stream_started
        _wait_for_diagnostics(recorder, config.diagnostics_period_s)
    finally:
        try:
            node_status = node.stop() if node is not None else -1
            if camera is not None:
                camera.stop()
            if recorder is not None:
                recorder.close()
        finally:
            writer.close()  # a readable bag even when stopping a process failed
    if recorder.write_errors:
        raise SessionError(f"recording failed: {recorder.write_errors[:3]}")
    if node_status != 0:
        raise SessionError(f"lihmr_node exited with status {node_status}:\n{node.log_tail()}")
    return SessionReport(camera=camera_report, node_exit_status=node_status, node_start_s=node_start_s,
                         stream_s=stream_s, bag_path=config.bag_path, bag_counts=dict(writer.counts))


def _wait_for_node(recorder, node: ChildProcess) -> None:
    deadline = time.monotonic() + NODE_START_TIMEOUT_S
    while not recorder.wait_ready(0.2):
        if not node.running():
            raise SessionError(f"lihmr_node stopped during start-up (status {node.process.returncode}):\n"
                               f"{node.log_tail()}")
        if time.monotonic() > deadline:
            raise SessionError(f"lihmr_node did not publish its mesh topology within {NODE_START_TIMEOUT_S:.0f} s:\n"
                               f"{node.log_tail()}")


def _wait_for_camera(camera: ChildProcess, settings: CameraSettings, node: ChildProcess) -> dict:
    frames = settings.max_frames if settings.max_frames is not None else 10_000
    deadline = time.monotonic() + frames / settings.fps + CAMERA_EXTRA_S
    while camera.running():
        if not node.running():
            raise SessionError(f"lihmr_node stopped while the camera was publishing:\n{node.log_tail()}")
        if time.monotonic() > deadline:
            raise SessionError(f"the camera process did not finish in time:\n{camera.log_tail()}")
        time.sleep(0.1)
    output = camera.process.stdout.read() if camera.process.stdout is not None else ""
    if camera.process.returncode != 0:
        raise SessionError(f"the camera process failed (status {camera.process.returncode}):\n{camera.log_tail()}")
    return json.loads(output.strip().splitlines()[-1])


def _drain(recorder, last_stamp_ns: int) -> None:
    """Wait for the result of the last frame (never dropped: nothing newer replaces it) or for quiet."""
    drain_started_ns = time.time_ns()
    while recorder.last_result_stamp_ns < last_stamp_ns:
        newest_ns = max(recorder.arrival_ns(HUMANS_TOPIC), drain_started_ns)
        if time.time_ns() - newest_ns > DRAIN_QUIET_S * 1e9:
            return
        time.sleep(0.05)


def _wait_for_diagnostics(recorder, period_s: float) -> None:
    """One more ``/diagnostics`` after the last result, so its totals count every frame."""
    last_result = recorder.arrival_ns(HUMANS_TOPIC)
    deadline = time.monotonic() + 2.0 * period_s + 1.0
    while recorder.arrival_ns(DIAGNOSTICS_TOPIC) <= last_result and time.monotonic() < deadline:
        time.sleep(0.05)
