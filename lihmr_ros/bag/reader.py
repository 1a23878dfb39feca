"""Read rosbag2 bags (MCAP or sqlite3, as rosbag2 or :class:`~lihmr_ros.bag.BagWriter` wrote them).

Messages come out in timestamp order as :class:`BagMessage` records holding
the raw CDR bytes; decoding is explicit (:meth:`BagReader.decode`) so that a
pass that only needs, say, the ``humans`` topic never decodes images.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from rosbags.rosbag2 import Reader
from rosbags.typesys.store import Typestore

from lihmr_ros.bag.typestore import lihmr_typestore


@dataclass(frozen=True)
class BagMessage:
    """One stored message."""

    topic: str
    msgtype: str
    """ROS 2 type name, e.g. ``lihmr_ros/msg/HumanMeshArray``."""
    timestamp_ns: int
    """Bag (record / receive) time; the capture time is in the message header."""
    data: bytes
    """CDR bytes, exactly what rclpy's ``serialize_message`` gives and its publishers accept."""


class BagReader:
    """An open bag directory; use as a context manager."""

    def __init__(self, path: Path | str, typestore: Typestore | None = None) -> None:
        self.path = Path(path)
        if not (self.path / "metadata.yaml").is_file():
            raise FileNotFoundError(
                f"{self.path} is not a rosbag2 bag directory (no metadata.yaml); "
                "pass the bag's folder, not a file in it"
            )
        self.typestore = typestore if typestore is not None else lihmr_typestore()
        self._reader = Reader(self.path)
        self._reader.open()

    @property
    def topics(self) -> dict[str, str]:
        """Message type of every topic in the bag."""
        return {connection.topic: connection.msgtype for connection in self._reader.connections}

    @property
    def counts(self) -> dict[str, int]:
        """Number of stored messages per topic."""
        counts: dict[str, int] = {}
        for connection in self._reader.connections:
            counts[connection.topic] = counts.get(connection.topic, 0) + connection.msgcount
        return counts

    def messages(self, topics: Iterable[str] | None = None) -> Iterator[BagMessage]:
        """Messages of ``topics`` (default: all) in timestamp order; unknown topic names raise ``KeyError``."""
        connections = list(self._reader.connections)
        if topics is not None:
            wanted = set(topics)
            unknown = wanted - {connection.topic for connection in connections}
            if unknown:
                raise KeyError(
                    f"topics {', '.join(sorted(unknown))} are not in {self.path}; "
                    f"it has {', '.join(sorted(self.topics))}"
                )
            connections = [connection for connection in connections if connection.topic in wanted]
            if not connections:
                return
        for connection, timestamp, data in self._reader.messages(connections=connections):
            yield BagMessage(connection.topic, connection.msgtype, timestamp, bytes(data))

    def decode(self, message: BagMessage) -> Any:
        """The ``rosbags`` message object (attribute access like rclpy's; arrays are numpy)."""
        if message.msgtype not in self.typestore.types:
            raise KeyError(f"cannot decode {message.topic}: type {message.msgtype} is unknown to the typestore")
        return self.typestore.deserialize_cdr(message.data, message.msgtype)

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> BagReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
