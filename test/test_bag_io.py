"""lihmr_ros.bag: our messages register in rosbags, and bags round-trip in MCAP and sqlite3.

The bytes written come from rclpy's own serializer (as a ``raw=True``
subscription delivers them), so the test covers the recording path, and the
messages read back must equal what was published, both decoded by rosbags
and handed back to rclpy.
"""

from __future__ import annotations

import array

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image

from lihmr_ros.bag import LIHMR_MESSAGE_NAMES, STORAGE_FORMATS, BagMessage, BagReader, BagWriter, lihmr_typestore
from lihmr_ros.msg import HumanMesh, HumanMeshArray, MeshTopology


def test_lihmr_types_are_registered_next_to_the_standard_ones() -> None:
    types = lihmr_typestore().types
    for name in LIHMR_MESSAGE_NAMES:
        assert f"lihmr_ros/msg/{name}" in types
    assert "sensor_msgs/msg/Image" in types and "diagnostic_msgs/msg/DiagnosticArray" in types
    fields = [name for name, _ in types["lihmr_ros/msg/HumanMesh"].__dataclass_fields__.items()]
    assert fields[:4] == ["track_id", "score", "window_frames", "vertices"]


def _humans(stamp_s: int, people: int, rng: np.random.Generator) -> HumanMeshArray:
    message = HumanMeshArray(body_model="anny")
    message.header.stamp.sec = stamp_s
    message.header.frame_id = "camera_optical_frame"
    for track_id in range(people):
        human = HumanMesh(track_id=track_id + 1, score=0.75)
        human.vertices = array.array("f", rng.normal(size=30).astype(np.float32).tobytes())
        human.root.z = 3.5
        message.humans.append(human)
    return message


def _image(stamp_s: int) -> Image:
    message = Image(height=2, width=3, encoding="rgb8", step=9)
    message.header.stamp.sec = stamp_s
    message.data = array.array("B", bytes(range(18)))
    return message


@pytest.mark.parametrize("storage", sorted(STORAGE_FORMATS))
def test_round_trip_of_rclpy_bytes(tmp_path, storage: str) -> None:
    rng = np.random.default_rng(0)
    humans = [_humans(10 + i, people=i % 3, rng=rng) for i in range(5)]
    images = [_image(10 + i) for i in range(5)]
    topology = MeshTopology(body_model="anny", vertex_count=10, joint_names=["a", "b"])
    topology.faces = array.array("I", [0, 1, 2])

    with BagWriter(tmp_path / "bag", storage=storage) as writer:
        writer.add_topic("/cam/image", "sensor_msgs/msg/Image")
        writer.add_topic("/humans", "lihmr_ros/msg/HumanMeshArray")
        writer.add_topic("/topology", "lihmr_ros/msg/MeshTopology", latched=True)
        writer.write_raw("/topology", 1_000, serialize_message(topology))
        for index, (image, result) in enumerate(zip(images, humans, strict=True)):
            writer.write_raw("/cam/image", 2_000 + 10 * index, serialize_message(image))
            writer.write_raw("/humans", 2_005 + 10 * index, serialize_message(result))

    with BagReader(tmp_path / "bag") as reader:
        assert reader.topics == {"/cam/image": "sensor_msgs/msg/Image", "/humans": "lihmr_ros/msg/HumanMeshArray",
                                 "/topology": "lihmr_ros/msg/MeshTopology"}
        assert reader.counts == {"/cam/image": 5, "/humans": 5, "/topology": 1}
        everything = list(reader.messages())
        assert [m.timestamp_ns for m in everything] == sorted(m.timestamp_ns for m in everything)
        assert everything[0].topic == "/topology"
        read_humans = list(reader.messages(["/humans"]))
        assert [deserialize_message(m.data, HumanMeshArray) for m in read_humans] == humans
        decoded = reader.decode(read_humans[2])
        assert len(decoded.humans) == 2 and decoded.header.stamp.sec == 12
        np.testing.assert_array_equal(decoded.humans[1].vertices, np.asarray(humans[2].humans[1].vertices))
        image = reader.decode(next(reader.messages(["/cam/image"])))
        assert (image.width, image.height, image.encoding) == (3, 2, "rgb8")
        np.testing.assert_array_equal(image.data, np.arange(18, dtype=np.uint8))
        assert list(reader.decode(next(reader.messages(["/topology"]))).faces) == [0, 1, 2]


def test_rosbags_objects_can_be_written_and_rclpy_reads_them(tmp_path) -> None:
    store = lihmr_typestore()
    types = store.types
    header = types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=7, nanosec=9), frame_id="c")
    message = types["lihmr_ros/msg/HumanMeshArray"](header=header, body_model="anny", humans=[])
    with BagWriter(tmp_path / "bag") as writer:
        writer.add_topic("/humans", "lihmr_ros/msg/HumanMeshArray")
        writer.write("/humans", 5, message)
    with BagReader(tmp_path / "bag") as reader:
        (stored,) = list(reader.messages())
    back = deserialize_message(stored.data, HumanMeshArray)
    assert (back.header.stamp.sec, back.header.stamp.nanosec, back.body_model, back.humans) == (7, 9, "anny", [])


def test_misuse_is_reported_clearly(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown bag storage 'rosbag1'"):
        BagWriter(tmp_path / "a", storage="rosbag1")
    with BagWriter(tmp_path / "bag") as writer:
        with pytest.raises(KeyError, match="unknown to the typestore"):
            writer.add_topic("/x", "my_msgs/msg/Missing")
        with pytest.raises(KeyError, match="call add_topic first"):
            writer.write_raw("/never_added", 1, b"\x00\x01\x00\x00")
        writer.add_topic("/image", "sensor_msgs/msg/Image")
        with pytest.raises(ValueError, match="already added"):
            writer.add_topic("/image", "sensor_msgs/msg/Image")
    with pytest.raises(FileExistsError, match="exists already"):
        BagWriter(tmp_path / "bag")
    with pytest.raises(FileNotFoundError, match="not a rosbag2 bag directory"):
        BagReader(tmp_path / "bag" / "bag.mcap")
    with BagReader(tmp_path / "bag") as reader:
        with pytest.raises(KeyError, match="/humans are not in"):
            list(reader.messages(["/humans"]))
        assert list(reader.messages([])) == []
        with pytest.raises(KeyError, match="unknown to the typestore"):
            reader.decode(BagMessage("/x", "my_msgs/msg/Missing", 0, b""))
