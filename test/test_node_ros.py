"""lihmr_node as a separate process, driven over DDS with real images.

Two node processes are started once for the module (both entry points:
``lihmr node`` with raw images and onnxruntime, ``lihmr_node`` with
compressed images and torch); this test process publishes messi5.jpg and
subscribes to every output.  The network is a randomly initialised
checkpoint the module writes (no trained weights ship yet), so the checks are
about the node's behaviour, not mesh accuracy.  ROS discovery stays on this
machine on the run's own domain (test/conftest.py).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest
import torch

from lihmr_ros.body import load_template
from lihmr_ros.imaging import rgb_to_compressed, rgb_to_image
from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet

REPO = Path(__file__).resolve().parent.parent
MESSI = Path("/usr/share/doc/opencv-doc/examples/data/messi5.jpg")
MESSI_PERSON_REGION = (60.0, 40.0, 480.0, 342.0)
"""(x0, y0, x1, y1) pixels of messi5.jpg (548x342) that the player covers."""
WINDOW = 4
START_DEADLINE_S = 180.0  # two nodes importing torch, MediaPipe and exporting ONNX on 2 busy cores
RESULT_DEADLINE_S = 60.0
FRAME_ID = "test_camera_optical_frame"


def _executable(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"console script {name} is not installed (run scripts/setup.sh)"
    return found


@pytest.fixture(scope="module")
def messi() -> np.ndarray:
    image = cv2.imread(str(MESSI))
    if image is None:
        pytest.skip(f"{MESSI} missing (Debian package opencv-doc)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    network = LIHMRNet(NetworkConfig(window=WINDOW), load_template()).eval()
    return save_checkpoint(tmp_path_factory.mktemp("weights") / "random.safetensors", network)


class NodeProcess:
    """One lihmr_node process in its own namespace, its output in a log file."""

    def __init__(self, command: list[str], namespace: str, log: Path, parameters: dict[str, object]) -> None:
        self.namespace = namespace
        self.log = log
        arguments = ["--params-file", str(REPO / "config" / "lihmr.yaml"), "-r", f"__ns:=/{namespace}"]
        for name, value in parameters.items():
            arguments += ["-p", f"{name}:={value}"]
        self._stream = log.open("w")
        self.process = subprocess.Popen(command + ["--ros-args", *arguments], stdout=self._stream,
                                        stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=30)
        finally:
            self._stream.close()


class Probe:
    """This test's ROS side: publishes images and camera_info to one node, records everything it publishes."""

    def __init__(self, namespace: str, compressed: bool) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image
        from visualization_msgs.msg import MarkerArray

        from lihmr_ros.msg import HumanMeshArray, MeshTopology

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(f"probe_{namespace}", namespace=f"/{namespace}", context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        image_type = CompressedImage if compressed else Image
        self.images = self.node.create_publisher(
            image_type, "image/compressed" if compressed else "image", qos_profile_sensor_data
        )
        self.camera_info = self.node.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
        self.humans: list = []
        self.topology: list = []
        self.markers: list = []
        self.overlays: list = []
        self.diagnostics: list = []
        self.node.create_subscription(HumanMeshArray, "humans", self.humans.append, 50)
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.node.create_subscription(MeshTopology, "mesh_topology", self.topology.append, latched)
        self.node.create_subscription(MarkerArray, "markers", self.markers.append, 50)
        self.node.create_subscription(Image, "overlay", self.overlays.append, 5)
        # /diagnostics is shared by every node: keep only the statuses of the node under test.
        own_status = f"/{namespace}/lihmr_node: pipeline"
        self.node.create_subscription(
            DiagnosticArray, "/diagnostics",
            lambda message: self.diagnostics.extend(s for s in message.status if s.name == own_status), 50,
        )

    def spin_until(self, condition: Callable[[], bool], deadline_s: float, node: NodeProcess | None = None) -> bool:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if condition():
                return True
            if node is not None and node.process.poll() is not None:
                return condition()
            self.executor.spin_once(timeout_sec=0.05)
        return condition()

    def send(self, message) -> None:
        self.images.publish(message)

    def close(self) -> None:
        self.node.destroy_node()
        import rclpy

        rclpy.shutdown(context=self.context)


def raw_image(rgb: np.ndarray, stamp_s: int, encoding: str = "bgr8"):
    from sensor_msgs.msg import Image

    message = Image()
    rgb_to_image(rgb, encoding).apply_to(message)
    message.header.stamp.sec = stamp_s
    message.header.frame_id = FRAME_ID
    return message


def compressed_image(rgb: np.ndarray, stamp_s: int):
    from sensor_msgs.msg import CompressedImage

    message = CompressedImage()
    rgb_to_compressed(rgb, "jpeg").apply_to(message)
    message.header.stamp.sec = stamp_s
    message.header.frame_id = FRAME_ID
    return message


def camera_info_for(width: int, height: int):
    from sensor_msgs.msg import CameraInfo

    message = CameraInfo()
    message.width, message.height = width, height
    message.k = [500.0, 0.0, width / 2.0, 0.0, 500.0, height / 2.0, 0.0, 0.0, 1.0]
    message.header.frame_id = FRAME_ID
    return message


def stream_until(probe: Probe, node: NodeProcess, make_message: Callable[[int], object], enough: Callable[[], bool],
                 first_stamp: int, period_s: float = 0.1, before_each: Callable[[], None] | None = None) -> int:
    """Publish frames with stamps first_stamp, first_stamp+1, ... until ``enough()``; returns the next stamp."""
    stamp = first_stamp
    deadline = time.monotonic() + RESULT_DEADLINE_S
    while not enough() and time.monotonic() < deadline and node.process.poll() is None:
        if before_each is not None:
            before_each()
        probe.send(make_message(stamp))
        stamp += 1
        probe.spin_until(lambda: False, period_s)
    return stamp


@pytest.fixture(scope="module")
def nodes(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    """Both node processes, started together (they take most of the module's time to come up)."""
    logs = tmp_path_factory.mktemp("node-logs")
    common = {"weights": str(checkpoint), "window": WINDOW, "tracker.min_hits": 2, "diagnostics_period": 0.5,
              "detection.max_misses": 5}
    raw = NodeProcess([_executable("lihmr"), "node"], "raw_cam", logs / "raw.log",
                      {**common, "backend": "onnxruntime", "device": "cpu",
                       "engine_cache_dir": str(tmp_path_factory.mktemp("engines"))})
    compressed = NodeProcess([_executable("lihmr_node")], "jpeg_cam", logs / "compressed.log",
                             {**common, "backend": "torch", "device": "cpu", "image_transport": "compressed",
                              "publish_markers": False, "publish_overlay": False,
                              "ground.camera_height": 1.5, "ground.camera_pitch_deg": 5.0})
    started = {"raw": raw, "compressed": compressed}
    yield started
    statuses = {name: node.stop() for name, node in started.items()}
    assert statuses == {"raw": 0, "compressed": 0}, {name: node.output()[-2000:] for name, node in started.items()}


@pytest.fixture(scope="module")
def raw_probe(nodes):
    probe = Probe("raw_cam", compressed=False)
    ready = probe.spin_until(lambda: bool(probe.topology), START_DEADLINE_S, nodes["raw"])
    assert ready, f"raw node did not come up:\n{nodes['raw'].output()[-3000:]}"
    yield probe
    probe.close()


def test_meshes_arrive_with_the_image_stamp_on_the_person(raw_probe: Probe, nodes, messi: np.ndarray) -> None:
    node = nodes["raw"]
    with_people = lambda: [m for m in raw_probe.humans if m.humans]  # noqa: E731
    stream_until(raw_probe, node, lambda stamp: raw_image(messi, stamp), lambda: len(with_people()) >= 4, 1000)
    results = with_people()
    assert len(results) >= 4, f"no meshes:\n{node.output()[-3000:]}"
    topology = raw_probe.topology[0]
    assert topology.vertex_count == load_template().num_full_vertices and len(topology.faces) % 3 == 0
    assert len(topology.joint_names) == 17
    for message in results:
        assert message.header.frame_id == FRAME_ID and 1000 <= message.header.stamp.sec < 2000
        assert message.body_model == topology.body_model
        assert len(message.humans) == 1
    stamps = [m.header.stamp.sec for m in raw_probe.humans]
    assert stamps == sorted(stamps), "results come out in input order"
    assert {m.humans[0].track_id for m in results} == {results[0].humans[0].track_id}, "the id must stay stable"
    human = results[-1].humans[0]
    vertices = np.asarray(human.vertices, dtype=np.float32).reshape(-1, 3)
    assert vertices.shape[0] == topology.vertex_count
    assert np.all(np.isfinite(vertices)) and vertices[:, 2].min() > 0.0
    assert not human.root_is_metric, "no camera_info was sent: the distance is a guess"
    assert human.ground_scale == 0.0, "no floor was configured"
    joints2d = np.asarray(human.joints2d).reshape(17, 2)[np.asarray(human.joint_confidence) >= 0.5]
    x0, y0, x1, y1 = MESSI_PERSON_REGION
    assert len(joints2d) >= 10
    assert np.all((joints2d[:, 0] >= x0) & (joints2d[:, 0] <= x1) & (joints2d[:, 1] >= y0) & (joints2d[:, 1] <= y1))
    assert human.window_frames == WINDOW


def test_markers_overlay_and_diagnostics_are_published(raw_probe: Probe, nodes, messi: np.ndarray) -> None:
    from visualization_msgs.msg import Marker

    node = nodes["raw"]
    def busy_periods() -> list[dict[str, str]]:
        """Diagnostics periods in which images arrived (a period after the stream stops sees none)."""
        periods = [{kv.key: kv.value for kv in status.values} for status in raw_probe.diagnostics]
        return [values for values in periods if float(values["input_rate_hz"]) > 0]

    enough = lambda: raw_probe.markers and raw_probe.overlays and busy_periods()  # noqa: E731
    stream_until(raw_probe, node, lambda stamp: raw_image(messi, stamp), enough, 2000)
    assert enough(), f"missing outputs:\n{node.output()[-3000:]}"
    kinds = {(m.ns, m.type) for array in raw_probe.markers for m in array.markers if m.action == Marker.ADD}
    assert kinds == {("mesh", Marker.TRIANGLE_LIST), ("skeleton", Marker.LINE_LIST)}
    mesh = next(m for array in raw_probe.markers for m in array.markers if m.ns == "mesh")
    assert mesh.header.frame_id == FRAME_ID and len(mesh.points) % 3 == 0 and mesh.points
    overlay = raw_probe.overlays[-1]
    assert (overlay.width, overlay.height, overlay.header.frame_id) == (548, 342, FRAME_ID)
    drawn = np.frombuffer(bytes(overlay.data), np.uint8).reshape(342, 548, 3)
    assert np.abs(drawn.astype(int) - messi.astype(int)).sum(axis=2)[40:342, 60:480].mean() > 5, "nothing drawn"
    busy = busy_periods()
    assert busy and all(values["backend"] == "onnxruntime" for values in busy)
    assert all(float(values["stage_infer_mean_ms"]) >= 0.0 for values in busy)


def test_garbage_images_are_skipped_and_the_node_keeps_serving(raw_probe: Probe, nodes, messi: np.ndarray) -> None:
    node = nodes["raw"]
    wrong_encoding = raw_image(messi, 3001)
    wrong_encoding.encoding = "bayer_rggb8"
    wrong_step = raw_image(messi, 3002)
    wrong_step.step = 100
    empty = raw_image(messi, 3003)
    empty.width, empty.height, empty.step, empty.data = 0, 0, 0, b""
    bad_count = lambda: max(  # noqa: E731
        [int({kv.key: kv.value for kv in d.values}["total_bad_input"]) for d in raw_probe.diagnostics] + [0]
    )
    for garbage in (wrong_encoding, wrong_step, empty):
        before = bad_count()
        deadline = time.monotonic() + RESULT_DEADLINE_S
        while bad_count() == before and time.monotonic() < deadline:  # best-effort QoS may lose one; resend
            raw_probe.send(garbage)
            raw_probe.spin_until(lambda: bad_count() > before, 1.5, node)
        assert bad_count() > before, f"{garbage.encoding} {garbage.width}x{garbage.height} step {garbage.step} " \
            f"was not counted as bad input:\n{node.output()[-3000:]}"
    assert node.process.poll() is None, "the node must survive bad input"
    served = lambda: any(m.header.stamp.sec >= 3010 for m in raw_probe.humans)  # noqa: E731
    stream_until(raw_probe, node, lambda stamp: raw_image(messi, stamp), served, 3010)
    assert served(), node.output()[-3000:]
    # Warnings are rate-limited: the first one is logged, the diagnostics counter above counts them all.
    assert "skipping an input image: unsupported image encoding 'bayer_rggb8'" in node.output()


def test_compressed_images_with_camera_info_give_metric_meshes(nodes, messi: np.ndarray) -> None:
    node = nodes["compressed"]
    probe = Probe("jpeg_cam", compressed=True)
    try:
        ready = probe.spin_until(lambda: bool(probe.topology), START_DEADLINE_S, node)
        assert ready, f"compressed node did not come up:\n{node.output()[-3000:]}"
        with_people = lambda: [m for m in probe.humans if m.humans]  # noqa: E731
        stream_until(
            probe, node, lambda stamp: compressed_image(messi, stamp), lambda: len(with_people()) >= 2, 5000,
            before_each=lambda: probe.camera_info.publish(camera_info_for(548, 342)),
        )
        results = with_people()
        assert len(results) >= 2, node.output()[-3000:]
        assert results[-1].header.frame_id == FRAME_ID
        assert results[-1].humans[0].root_is_metric
        assert not probe.markers and not probe.overlays, "markers and overlay were switched off"
        assert "sizes from the floor 1.50 m below the camera" in node.output()
        assert results[-1].humans[0].ground_scale > 0.0, "the ankles are in view: the floor must set the size"
        assert "sizes from the network" in nodes["raw"].output()
    finally:
        probe.close()


def test_a_floor_that_contradicts_the_people_is_reported(checkpoint: Path, tmp_path: Path, messi: np.ndarray) -> None:
    # A floor 15 m below a level camera, fully trusted: the player would have to be ten times their size.
    wrong_floor = {"ground.camera_height": 15.0, "ground.pitch_uncertainty_deg": 0.0, "ground.foot_uncertainty_m": 0.0}
    node = NodeProcess([_executable("lihmr_node")], "wrong_floor", tmp_path / "wrong_floor.log",
                       {"weights": str(checkpoint), "window": WINDOW, "tracker.min_hits": 2, "backend": "torch",
                        "device": "cpu", "publish_markers": False, "publish_overlay": False,
                        "diagnostics_period": 0.5, **wrong_floor})
    probe = Probe("wrong_floor", compressed=False)
    try:
        ready = probe.spin_until(lambda: bool(probe.topology), START_DEADLINE_S, node)
        assert ready, f"node did not come up:\n{node.output()[-3000:]}"
        with_people = lambda: [m for m in probe.humans if m.humans]  # noqa: E731
        stream_until(probe, node, lambda stamp: raw_image(messi, stamp), lambda: len(with_people()) >= 2, 7000,
                     before_each=lambda: probe.camera_info.publish(camera_info_for(548, 342)))
        assert with_people(), node.output()[-3000:]
        assert with_people()[-1].humans[0].ground_scale == pytest.approx(1.6, rel=0.01)  # at ground.max_scale
        clamped = lambda: [d for d in probe.diagnostics  # noqa: E731
                           if int({kv.key: kv.value for kv in d.values}["floor_clamped_people"]) > 0]
        stream_until(probe, node, lambda stamp: raw_image(messi, stamp), lambda: bool(clamped()), 8000,
                     before_each=lambda: probe.camera_info.publish(camera_info_for(548, 342)))
        assert clamped() and "ground.camera_height" in clamped()[-1].message
    finally:
        probe.close()
        status = node.stop()
    assert status == 0, node.output()[-2000:]
    assert "the floor would rescale people beyond ground.min_scale..ground.max_scale (0.6..1.6" in node.output()
    assert "check ground.camera_height and ground.camera_pitch_deg" in node.output()


def _tf2_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("tf2_ros") is not None


@pytest.mark.skipif(_tf2_importable(), reason="tf2_ros is installed: the floor comes from TF, nothing to refuse")
def test_the_floor_from_tf_without_tf2_stops_start_up_naming_the_static_mount(checkpoint: Path, tmp_path: Path) -> None:
    node = NodeProcess([_executable("lihmr_node")], "no_tf", tmp_path / "no_tf.log",
                       {"weights": str(checkpoint), "window": WINDOW, "ground.frame": "base_footprint"})
    try:
        status = node.process.wait(timeout=120)
    finally:
        node.stop()
    assert status != 0
    output = node.output()
    assert "invalid parameter 'ground.frame'" in output and "needs tf2_ros" in output, output[-2000:]
    assert "ground.camera_height" in output, "the message must name the static alternative"


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"max_people": 0}, "max_people"),
        ({"image_transport": "mjpeg"}, "image_transport"),
        ({"weights": "/nonexistent/lihmr.safetensors"}, "weights"),
        ({"window": WINDOW + 1}, "window"),
        ({"ground.frame": "base_footprint", "ground.camera_height": 1.2}, "ground.frame"),
    ],
)
def test_invalid_parameters_stop_start_up_with_the_parameter_named(
    checkpoint: Path, tmp_path: Path, parameters: dict, named: str
) -> None:
    node = NodeProcess([_executable("lihmr_node")], "bad", tmp_path / "bad.log",
                       {"weights": str(checkpoint), "window": WINDOW, **parameters})
    try:
        status = node.process.wait(timeout=120)
    finally:
        node.stop()
    assert status != 0
    assert f"invalid parameter '{named}'" in node.output(), node.output()[-2000:]
