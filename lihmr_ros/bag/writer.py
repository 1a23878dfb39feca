"""Write rosbag2 bags (MCAP or sqlite3) from serialised bytes or ``rosbags`` message objects.

Recording from ROS goes bytes-in, bytes-out: an rclpy ``raw=True``
subscription hands over the CDR bytes, which :meth:`BagWriter.write_raw`
stores untouched, so a recorder never pays for deserialising a 1 MB image.
Timestamps are nanoseconds (rosbag2 records the receive time, as
``ros2 bag record`` does; the capture time stays in each header).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys.store import Typestore

from lihmr_ros.bag.typestore import lihmr_typestore

STORAGE_FORMATS: dict[str, StoragePlugin] = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
"""rosbag2 storage plugins by their ``ros2 bag`` names; MCAP is rosbag2's default since Iron."""

BAG_VERSION = 9
"""rosbag2 metadata version written (Jazzy and Kilted write 9)."""

_NO_DURATION = QosTime(sec=0, nsec=0)
_INFINITE = QosTime(sec=2147483647, nsec=4294967295)


def _offered_qos(latched: bool) -> Qos:
    """The publisher QoS stored with a topic, so ``ros2 bag play`` republishes latched topics as latched."""
    return Qos(
        history=QosHistory.KEEP_LAST,
        depth=1 if latched else 10,
        reliability=QosReliability.RELIABLE,
        durability=QosDurability.TRANSIENT_LOCAL if latched else QosDurability.VOLATILE,
        deadline=_INFINITE,
        lifespan=_INFINITE,
        liveliness=QosLiveliness.AUTOMATIC,
        liveliness_lease_duration=_INFINITE,
        avoid_ros_namespace_conventions=False,
    )


class BagWriter:
    """A new rosbag2 bag directory; use as a context manager so the metadata is written on exit.

    Not thread-safe: call it from one thread (e.g. a single-threaded executor's callbacks).
    """

    def __init__(self, path: Path | str, storage: str = "mcap", typestore: Typestore | None = None) -> None:
        """``path`` is the bag directory to create (it must not exist); ``storage`` is ``mcap`` or ``sqlite3``."""
        if storage not in STORAGE_FORMATS:
            raise ValueError(f"unknown bag storage {storage!r}; choose one of {', '.join(STORAGE_FORMATS)}")
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"bag {self.path} exists already; remove it or choose another path")
        self.typestore = typestore if typestore is not None else lihmr_typestore()
        self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=STORAGE_FORMATS[storage])
        self._writer.open()
        self._connections: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        """Messages written so far, per topic."""

    def add_topic(self, topic: str, msgtype: str, latched: bool = False) -> None:
        """Declare ``topic`` carrying ``msgtype`` (e.g. ``sensor_msgs/msg/Image``) before writing to it."""
        if topic in self._connections:
            raise ValueError(f"topic {topic} was already added to {self.path}")
        if msgtype not in self.typestore.types:
            raise KeyError(f"message type {msgtype} is unknown to the typestore; register its definition first")
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=self.typestore, offered_qos_profiles=[_offered_qos(latched)]
        )
        self.counts[topic] = 0

    def write_raw(self, topic: str, timestamp_ns: int, data: bytes | memoryview) -> None:
        """Store one message's CDR bytes, as rclpy serialises them, on an added topic."""
        connection = self._connections.get(topic)
        if connection is None:
            raise KeyError(f"topic {topic} was not added to {self.path}; call add_topic first")
        self._writer.write(connection, int(timestamp_ns), data)
        self.counts[topic] += 1

    def write(self, topic: str, timestamp_ns: int, message: Any) -> None:
        """Serialise a ``rosbags`` message object (built from ``typestore.types``) and store it."""
        connection = self._connections.get(topic)
        if connection is None:
            raise KeyError(f"topic {topic} was not added to {self.path}; call add_topic first")
        self.write_raw(topic, timestamp_ns, self.typestore.serialize_cdr(message, connection.msgtype))

    def close(self) -> None:
        """Finish the bag (index, metadata.yaml); further writes fail."""
        self._writer.close()

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
