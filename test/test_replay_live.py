"""Offline and live give the same results: a bag played to a running node vs ``lihmr bag process`` on that bag.

The bag (raw images of messi5.jpg shifted per frame, camera_info, one
unstamped image) is played to a ``lihmr_node`` process on ``use_sim_time``
the way ``ros2 bag play --clock`` does: ``/clock`` at each message's bag time,
then the message's stored bytes on its topic.  Frames go one at a time, the
next only after the node's result for the previous one, so the node drops
nothing.  Then:

* every result's stamp equals the bag's (the image stamp; for the unstamped
  image the node's sim-time clock, i.e. the bag time, which shows that the
  node follows ``/clock``);
* ``lihmr bag process`` with the same params file gives, frame by frame, the
  same people, track ids and meshes (within float tolerance).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import pytest
import torch
import yaml
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CameraInfo, Image

from lihmr_ros.bag import BagReader, BagWriter
from lihmr_ros.body import load_template
from lihmr_ros.cli import main
from lihmr_ros.imaging import rgb_to_image
from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet

MESSI = Path("/usr/share/doc/opencv-doc/examples/data/messi5.jpg")
WINDOW = 2
FRAMES = 4
UNSTAMPED_FRAME = 2
NAMESPACE = "live"
START_DEADLINE_S = 180.0
RESULT_DEADLINE_S = 30
RESEND_AFTER_S = 5
"""An image unanswered this long was lost on the way (the node needs well under a second per image)."""
CLOCK_SETTLE_S = 0.3
"""Pause between /clock and the image, so the node's clock has moved before the image arrives."""
VERTEX_TOLERANCE_M = 1e-4


@pytest.fixture(scope="module")
def bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    image = cv2.imread(str(MESSI))
    if image is None:
        pytest.skip(f"{MESSI} missing (Debian package opencv-doc)")
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    height, width = rgb.shape[:2]
    path = tmp_path_factory.mktemp("bags") / "camera"
    with BagWriter(path, "mcap") as writer:
        writer.add_topic("/cam/image_raw", "sensor_msgs/msg/Image")
        writer.add_topic("/cam/camera_info", "sensor_msgs/msg/CameraInfo")
        for index in range(FRAMES):
            bag_time_ns = (50 + index) * 1_000_000_000 + 40_000_000
            info = CameraInfo(width=width, height=height, k=[520.0, 0, width / 2, 0, 520.0, height / 2, 0, 0, 1])
            info.header.stamp.sec = 50 + index
            writer.write_raw("/cam/camera_info", bag_time_ns - 1_000_000, serialize_message(info))
            message = Image()
            rgb_to_image(np.roll(rgb, 4 * index, axis=1), "bgr8").apply_to(message)
            message.header.frame_id = "cam_optical"
            if index != UNSTAMPED_FRAME:
                message.header.stamp.sec = 50 + index
            writer.write_raw("/cam/image_raw", bag_time_ns, serialize_message(message))
    return path


@pytest.fixture(scope="module")
def params_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("config")
    checkpoint = save_checkpoint(directory / "random.safetensors",
                                 LIHMRNet(NetworkConfig(window=WINDOW), load_template()).eval())
    parameters = {"weights": str(checkpoint), "window": WINDOW, "backend": "torch", "device": "cpu",
                  "publish_overlay": False, "tracker": {"min_hits": 1}}
    path = directory / "lihmr.yaml"
    path.write_text(yaml.safe_dump({"/**/lihmr_node": {"ros__parameters": parameters}}))
    return path


class Player:
    """Plays bag messages to the node like ``ros2 bag play --clock`` and collects its ``humans``."""

    def __init__(self) -> None:
        import rclpy
        from rclpy.qos import DurabilityPolicy, QoSProfile
        from rosgraph_msgs.msg import Clock

        from lihmr_ros.msg import HumanMeshArray, MeshTopology

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("bag_player", context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.clock = self.node.create_publisher(Clock, "/clock", 10)
        self.publishers = {
            "/cam/image_raw": self.node.create_publisher(Image, "/cam/image_raw", 10),
            "/cam/camera_info": self.node.create_publisher(CameraInfo, "/cam/camera_info", 10),
        }
        self.humans: list = []
        self.topology: list = []
        self.node.create_subscription(HumanMeshArray, f"/{NAMESPACE}/humans", self.humans.append, 50)
        self.node.create_subscription(MeshTopology, f"/{NAMESPACE}/mesh_topology", self.topology.append,
                                      QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL))

    def spin_until(self, condition, deadline_s: float, process: subprocess.Popen | None = None) -> bool:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline and not condition():
            if process is not None and process.poll() is not None:
                break
            self.executor.spin_once(timeout_sec=0.05)
        return condition()

    def publish_clock(self, timestamp_ns: int) -> None:
        from rosgraph_msgs.msg import Clock

        message = Clock()
        message.clock.sec, message.clock.nanosec = divmod(timestamp_ns, 1_000_000_000)
        self.clock.publish(message)

    def close(self) -> None:
        import rclpy

        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture(scope="module")
def node(params_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen]:
    executable = shutil.which("lihmr_node", path=str(Path(sys.executable).parent))
    assert executable, "lihmr_node is not installed (run scripts/setup.sh)"
    log = tmp_path_factory.mktemp("logs") / "node.log"
    with log.open("w") as stream:
        process = subprocess.Popen(
            [executable, "--ros-args", "--params-file", str(params_file), "-r", f"__ns:=/{NAMESPACE}",
             "-r", "image:=/cam/image_raw", "-r", "camera_info:=/cam/camera_info", "-p", "use_sim_time:=true"],
            stdout=stream, stderr=subprocess.STDOUT,
        )
        process.log = log  # type: ignore[attr-defined]
        yield process
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, log.read_text()[-2000:]


def play(bag: Path, node: subprocess.Popen) -> list:
    """Every image of ``bag`` to the node, one at a time; returns its ``humans`` messages in order."""
    player = Player()
    try:
        started = player.spin_until(lambda: bool(player.topology), START_DEADLINE_S, node)
        assert started, f"node did not come up:\n{node.log.read_text()[-3000:]}"
        publishers = [player.clock, *player.publishers.values()]
        connected = lambda: all(p.get_subscription_count() > 0 for p in publishers)  # noqa: E731
        assert player.spin_until(connected, START_DEADLINE_S, node), "the node must subscribe to /clock and the camera"
        with BagReader(bag) as reader:
            for message in reader.messages():
                player.publish_clock(message.timestamp_ns)
                player.spin_until(lambda: False, CLOCK_SETTLE_S)
                publish = player.publishers[message.topic].publish
                publish(message.data)  # the stored bytes, as rosbag2 plays them
                if message.topic == "/cam/image_raw":
                    expected = len(player.humans) + 1
                    answered = lambda: len(player.humans) >= expected  # noqa: E731
                    for _ in range(RESULT_DEADLINE_S // RESEND_AFTER_S):
                        if player.spin_until(answered, RESEND_AFTER_S, node):
                            break
                        publish(message.data)  # the subscription is best effort: a large image can be lost
                    assert answered(), (
                        f"no result for the image at {message.timestamp_ns}:\n{node.log.read_text()[-3000:]}"
                    )
        return list(player.humans)
    finally:
        player.close()


def test_a_bag_played_live_and_processed_offline_gives_the_same_meshes_with_the_bag_stamps(
    bag: Path, params_file: Path, node: subprocess.Popen, tmp_path: Path
) -> None:
    live = play(bag, node)
    with BagReader(bag) as reader:
        images = [(message.timestamp_ns, reader.decode(message)) for message in reader.messages(["/cam/image_raw"])]
    assert len(live) == len(images) == FRAMES
    for (bag_time_ns, image), result in zip(images, live):
        stamp = result.header.stamp
        expected_ns = bag_time_ns if image.header.stamp.sec == 0 else image.header.stamp.sec * 1_000_000_000
        assert stamp.sec * 1_000_000_000 + stamp.nanosec == expected_ns, "live stamps must be the bag's"
        assert result.header.frame_id == "cam_optical"

    out = tmp_path / "offline"
    assert main(["bag", "process", str(bag), str(out), "--params-file", str(params_file), "--quiet"]) == 0
    with BagReader(out) as reader:
        offline = [reader.decode(message) for message in reader.messages(["/replay/humans"])]
    assert len(offline) == FRAMES
    assert sum(len(result.humans) for result in live) >= FRAMES - 1, "the player must be found"
    for frame, (live_result, offline_result) in enumerate(zip(live, offline)):
        assert (offline_result.header.stamp.sec, offline_result.header.stamp.nanosec) == (
            live_result.header.stamp.sec, live_result.header.stamp.nanosec)
        assert [h.track_id for h in offline_result.humans] == [h.track_id for h in live_result.humans], frame
        for live_human, offline_human in zip(live_result.humans, offline_result.humans):
            np.testing.assert_allclose(np.asarray(offline_human.vertices), np.asarray(live_human.vertices),
                                       atol=VERTEX_TOLERANCE_M, err_msg=f"frame {frame}")
            np.testing.assert_allclose(np.asarray(offline_human.joints2d), np.asarray(live_human.joints2d),
                                       atol=1e-3)
            assert offline_human.root_is_metric == live_human.root_is_metric
