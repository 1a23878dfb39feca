"""Record ROS topics into a rosbag2 bag as serialised bytes, the way ``ros2 bag record`` does.

Subscriptions are ``raw=True``: rclpy hands over the CDR bytes and they go
into the bag untouched, so recording a camera costs a memory copy per image,
not a deserialisation. The bag timestamp is the arrival time on the system
clock (the clock ROS stamps headers with when no simulation time is used), so
``bag time - header stamp`` is the end-to-end latency of each message.

The recorder also keeps a few live facts that the session needs while it
runs: whether the node's latched topology has arrived (the node is up), how
many results came and the newest result's stamp (the node has caught up).
"""

from __future__ import annotations

import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

from lihmr_ros.bag import BagWriter

CDR_LITTLE_ENDIAN = (b"\x00\x01", b"\x00\x03")
"""CDR encapsulation ids (plain and parameter-list CDR, little-endian) that Fast DDS writes on x86/ARM."""


@dataclass(frozen=True)
class RecordedTopic:
    """A topic to record: name, rclpy message class, QoS to subscribe with, latched or not."""

    name: str
    message_type: type
    qos: Any
    latched: bool = False

    @property
    def msgtype(self) -> str:
        """ROS 2 type name, e.g. ``sensor_msgs/msg/Image`` (the rclpy class lives in ``sensor_msgs.msg._image``)."""
        return f"{self.message_type.__module__.split('.')[0]}/msg/{self.message_type.__name__}"


def header_stamp_ns(cdr: bytes) -> int:
    """``header.stamp`` of a serialised message whose first field is a ``std_msgs/Header``, in nanoseconds.

    The stamp's ``int32 sec, uint32 nanosec`` follow the 4-byte CDR
    encapsulation header directly, so reading 8 bytes avoids deserialising a
    whole mesh message just to learn which image it answers.
    """
    if cdr[:2] not in CDR_LITTLE_ENDIAN:
        raise ValueError(f"unsupported CDR encapsulation {cdr[:2].hex()}: expected little-endian CDR")
    seconds, nanoseconds = struct.unpack_from("<iI", cdr, 4)
    return seconds * 1_000_000_000 + nanoseconds


class TopicRecorder:
    """An rclpy node in its own context and executor thread, writing every message it receives to a bag."""

    def __init__(self, writer: BagWriter, topics: list[RecordedTopic], ready_topic: str, result_topic: str,
                 domain_id: int) -> None:
        """``ready_topic``'s first message marks the node as up; ``result_topic`` carries per-image results."""
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self._writer = writer
        self._ready_topic = ready_topic
        self._result_topic = result_topic
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.results = 0
        self.last_result_stamp_ns = 0
        self.last_arrival_ns: dict[str, int] = {}
        self.write_errors: list[str] = []

        self._context = rclpy.Context()
        rclpy.init(context=self._context, domain_id=domain_id)
        self._node = rclpy.create_node("lihmr_demo_recorder", context=self._context)
        for topic in topics:
            writer.add_topic(topic.name, topic.msgtype, latched=topic.latched)
            self._node.create_subscription(
                topic.message_type, topic.name, lambda data, name=topic.name: self._on_message(name, data),
                topic.qos, raw=True,
            )
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self._node)
        self._thread = threading.Thread(target=self._spin, name="lihmr_demo_recorder", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        try:
            self._executor.spin()
        except ExternalShutdownException:
            pass

    def _on_message(self, topic: str, data: bytes) -> None:
        arrival_ns = time.time_ns()
        try:
            self._writer.write_raw(topic, arrival_ns, data)
        except Exception as error:  # noqa: BLE001 - keep recording the other topics, report at the end
            self.write_errors.append(f"{topic}: {type(error).__name__}: {error}")
            return
        with self._lock:
            self.last_arrival_ns[topic] = arrival_ns
            if topic == self._result_topic:
                self.results += 1
                self.last_result_stamp_ns = max(self.last_result_stamp_ns, header_stamp_ns(data))
        if topic == self._ready_topic:
            self._ready.set()

    def wait_ready(self, timeout_s: float) -> bool:
        """Block until the ready topic's first message (or the timeout); True if it came."""
        return self._ready.wait(timeout_s)

    def arrival_ns(self, topic: str) -> int:
        """When the newest message of ``topic`` arrived (0: none yet)."""
        with self._lock:
            return self.last_arrival_ns.get(topic, 0)

    def close(self) -> None:
        """Stop receiving (the bag stays open: its owner closes it)."""
        import rclpy

        self._executor.shutdown(timeout_sec=5.0)
        self._node.destroy_node()
        rclpy.try_shutdown(context=self._context)
        self._thread.join(timeout=5.0)
