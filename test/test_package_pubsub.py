"""A HumanMeshArray crosses a process boundary over DDS on the test's own domain.

The publisher runs this file as a script in a child process (inheriting the
LOCALHOST discovery and random ROS_DOMAIN_ID set by conftest.py); the test
subscribes and compares the received message field by field with what the
publisher built (not byte by byte: rclpy leaves CDR alignment padding
uninitialised).
"""

from __future__ import annotations

import array
import os
import signal
import subprocess
import sys
import time

import numpy as np

from lihmr_ros.msg import HumanMesh, HumanMeshArray

TOPIC_PREFIX = "/lihmr_test/humans_"
VERTEX_COUNT = 13718
RECEIVE_DEADLINE_S = 60.0  # generous: DDS discovery on a loaded 2-core machine


def expected_message(seed: int) -> HumanMeshArray:
    """The message the publisher sends, built deterministically from ``seed``."""
    rng = np.random.default_rng(seed)
    message = HumanMeshArray()
    message.header.stamp.sec = seed
    message.header.frame_id = "camera_optical_frame"
    message.body_model = "anny"
    human = HumanMesh()
    human.track_id = seed % 1000
    human.score = 0.75
    human.vertices = array.array("f", rng.normal(size=VERTEX_COUNT * 3).astype(np.float32).tobytes())
    human.joints3d = array.array("f", rng.normal(size=17 * 3).astype(np.float32).tobytes())
    human.root.z = 2.5
    message.humans = [human]
    return message


def publish_until_interrupted(topic: str, seed: int) -> int:
    """Child process: publish the expected message every 100 ms until SIGINT."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init()
    node = rclpy.create_node("lihmr_test_publisher")
    publisher = node.create_publisher(HumanMeshArray, topic, 10)
    message = expected_message(seed)
    node.create_timer(0.1, lambda: publisher.publish(message))
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def test_human_mesh_array_reaches_another_process() -> None:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    seed = os.getpid()
    topic = f"{TOPIC_PREFIX}{seed}"
    publisher = subprocess.Popen([sys.executable, __file__, topic, str(seed)])
    received: list[HumanMeshArray] = []
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("lihmr_test_subscriber", context=context)
        node.create_subscription(HumanMeshArray, topic, received.append, 10)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        deadline = time.monotonic() + RECEIVE_DEADLINE_S
        while not received and time.monotonic() < deadline and publisher.poll() is None:
            executor.spin_once(timeout_sec=0.2)
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
        if publisher.poll() is None:
            publisher.send_signal(signal.SIGINT)
        publisher_status = publisher.wait(timeout=30)

    assert received, f"no HumanMeshArray on {topic} (publisher exit status {publisher.returncode})"
    assert received[0] == expected_message(seed)
    assert len(received[0].humans[0].vertices) == VERTEX_COUNT * 3
    assert publisher_status == 0


if __name__ == "__main__":
    sys.exit(publish_until_interrupted(sys.argv[1], int(sys.argv[2])))
