"""A backend that fails while the node runs: each failed image is logged and counted, the node keeps serving.

A real node runs in this process (torch backend, keypoints from the topic
source) and images go in through its subscription callback and worker
thread, exactly as from a camera.  The fault is real too: the backend is
closed under the running node, so every inference call raises inside the
worker, as a lost GPU or a dead TensorRT context would.
"""

from __future__ import annotations

import array
import time
from typing import Any, Callable, Iterator

import numpy as np
import pytest
import torch

from lihmr_ros.body import load_template
from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet

WINDOW = 2
WAIT_S = 60.0
PERSON_KEYPOINTS = np.array(
    [[80, 20], [83, 17], [77, 17], [87, 19], [73, 19], [92, 35], [68, 35], [96, 52], [64, 52], [98, 68], [62, 68],
     [88, 70], [72, 70], [89, 92], [71, 92], [90, 112], [70, 112]], dtype=np.float32,
)
"""A standing person in a 160x120 image, COCO-17 order, pixels."""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import rclpy
    from rclpy.parameter import Parameter

    from lihmr_ros.ros.node import LihmrNode

    torch.manual_seed(0)
    network = LIHMRNet(NetworkConfig(window=WINDOW), load_template()).eval()
    checkpoint = save_checkpoint(tmp_path_factory.mktemp("weights") / "random.safetensors", network)
    context = rclpy.Context()
    rclpy.init(context=context)
    values = {"weights": str(checkpoint), "window": WINDOW, "backend": "torch", "device": "cpu",
              "keypoint_source": "topic", "tracker.min_hits": 1}
    started = LihmrNode(context=context, namespace="/faults",
                        parameter_overrides=[Parameter(name, value=value) for name, value in values.items()])
    try:
        yield started
    finally:
        started.shutdown()
        started.destroy_node()
        rclpy.shutdown(context=context)


def wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class Counters:
    """The node's running totals (read as the diagnostics timer reads them)."""

    def __init__(self, node: Any) -> None:
        self.node = node

    def __call__(self) -> tuple[int, int]:
        snapshot = self.node._statistics.snapshot()
        return snapshot.total_processed, snapshot.total_failures


def send_frame(node: Any, stamp: int, with_person: bool) -> None:
    """A keypoints message (if ``with_person``) and its image, through the node's subscription callbacks."""
    from sensor_msgs.msg import Image

    from lihmr_ros.msg import HumanMesh, HumanMeshArray

    if with_person:
        keypoints = HumanMeshArray()
        keypoints.header.stamp.sec = stamp
        person = HumanMesh(score=0.9)
        person.joints2d = array.array("f", PERSON_KEYPOINTS.tobytes())
        person.joint_confidence = array.array("f", np.full(17, 0.9, np.float32).tobytes())
        keypoints.humans = [person]
        node._on_keypoints(keypoints)
    image = Image(height=120, width=160, encoding="rgb8", step=480)
    image.data = array.array("B", bytes(120 * 480))
    image.header.stamp.sec = stamp
    node._on_image(image)


def test_a_backend_failing_at_run_time_is_logged_and_counted_and_the_node_keeps_running(
    node: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    counters = Counters(node)
    processed, failures = counters()
    send_frame(node, 1, with_person=True)
    assert wait_for(lambda: counters()[0] > processed), "a healthy node must process the image"
    assert counters()[1] == failures

    node._pipeline.backend.close()
    processed, failures = counters()
    for stamp in (2, 3):
        send_frame(node, stamp, with_person=True)
        assert wait_for(lambda: counters()[1] > failures), "the failing image must be counted"
        failures = counters()[1]
    assert counters()[0] == processed
    assert "processing an image failed (RuntimeError: the torch backend was closed)" in capfd.readouterr().err

    send_frame(node, 4, with_person=False)  # no person: the pipeline needs no inference
    assert wait_for(lambda: counters()[0] > processed), "the worker must go on with the next image"
    assert node._worker.is_alive()
