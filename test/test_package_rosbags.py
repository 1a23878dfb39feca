"""The pure-Python ``rosbags`` library reads and writes lihmr_ros messages exactly as ROS does.

Bags of HumanMeshArray can then be written and read without rosbag2: rosbags
registers the .msg files, each side decodes the other's CDR bytes to the same
values, and the RIHS01 type hashes equal the ones the ROS build computed.

The bytes are compared up to alignment padding only: rclpy's serializer leaves
padding bytes uninitialised (two serializations of one message can differ
there), while rosbags writes zeros. Re-encoding rclpy's bytes with rosbags
must give exactly rosbags' own encoding, which pins every non-padding byte.
"""

from __future__ import annotations

import array
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from lihmr_ros import paths
from lihmr_ros.msg import HumanMesh, HumanMeshArray, MeshTopology

MESSAGE_NAMES = ("HumanMesh", "HumanMeshArray", "MeshTopology")


@pytest.fixture(scope="module")
def typestore():
    """A Kilted typestore with the lihmr_ros .msg files registered."""
    store = get_typestore(Stores.ROS2_KILTED)
    msg_dir = paths.share_dir() / "msg"
    types = {}
    for name in MESSAGE_NAMES:
        types.update(get_types_from_msg((msg_dir / f"{name}.msg").read_text(), f"lihmr_ros/msg/{name}"))
    store.register(types)
    return store


def sample_arrays(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "vertices": rng.normal(size=615 * 3).astype(np.float32),
        "joints3d": rng.normal(size=17 * 3).astype(np.float32),
        "joints2d": rng.uniform(0, 480, size=17 * 2).astype(np.float32),
        "joint_confidence": rng.uniform(0, 1, size=17).astype(np.float32),
        "shape_params": rng.uniform(0, 1, size=6).astype(np.float32),
    }


def rclpy_human(track_id: int, arrays: dict[str, np.ndarray]) -> HumanMesh:
    human = HumanMesh(track_id=track_id, score=0.5, window_frames=3, root_is_metric=False, ground_scale=1.25)
    for field, values in arrays.items():
        setattr(human, field, array.array("f", values.tobytes()))
    human.root.x, human.root.y, human.root.z = 0.25, -0.5, 4.0
    human.bbox_x_min, human.bbox_y_min, human.bbox_x_max, human.bbox_y_max = 1.0, 2.0, 3.0, 4.0
    return human


def rosbags_human(store, track_id: int, arrays: dict[str, np.ndarray]):
    types = store.types
    return types["lihmr_ros/msg/HumanMesh"](
        track_id=track_id,
        score=0.5,
        window_frames=3,
        root=types["geometry_msgs/msg/Point"](x=0.25, y=-0.5, z=4.0),
        root_is_metric=False,
        ground_scale=1.25,
        bbox_x_min=1.0,
        bbox_y_min=2.0,
        bbox_x_max=3.0,
        bbox_y_max=4.0,
        **arrays,
    )


def assert_same_cdr(store, rclpy_message, rosbags_message, typename: str) -> None:
    """rclpy and rosbags encode the same message identically, padding aside (see module doc)."""
    rclpy_bytes = serialize_message(rclpy_message)
    rosbags_bytes = bytes(store.serialize_cdr(rosbags_message, typename))
    assert len(rosbags_bytes) == len(rclpy_bytes)
    reencoded = bytes(store.serialize_cdr(store.deserialize_cdr(rclpy_bytes, typename), typename))
    assert reencoded == rosbags_bytes
    assert deserialize_message(rosbags_bytes, type(rclpy_message)) == rclpy_message


def test_human_mesh_array_cdr_matches_rclpy(typestore) -> None:
    rng = np.random.default_rng(1)
    people = [sample_arrays(rng), sample_arrays(rng)]
    ours = HumanMeshArray(body_model="anny/notoes_collapse5pc")
    ours.header.stamp.sec, ours.header.stamp.nanosec = 42, 7
    ours.header.frame_id = "cam"
    ours.humans = [rclpy_human(i, arrays) for i, arrays in enumerate(people)]

    types = typestore.types
    theirs = types["lihmr_ros/msg/HumanMeshArray"](
        header=types["std_msgs/msg/Header"](
            stamp=types["builtin_interfaces/msg/Time"](sec=42, nanosec=7), frame_id="cam"
        ),
        body_model="anny/notoes_collapse5pc",
        humans=[rosbags_human(typestore, i, arrays) for i, arrays in enumerate(people)],
    )

    assert_same_cdr(typestore, ours, theirs, "lihmr_ros/msg/HumanMeshArray")
    decoded = typestore.deserialize_cdr(serialize_message(ours), "lihmr_ros/msg/HumanMeshArray")
    np.testing.assert_array_equal(decoded.humans[1].vertices, people[1]["vertices"])
    assert decoded.humans[1].track_id == 1


def test_mesh_topology_cdr_matches_rclpy(typestore) -> None:
    faces = np.array([0, 1, 2, 2, 1, 3], dtype=np.uint32)
    edges = np.array([0, 1, 1, 2], dtype=np.uint32)
    ours = MeshTopology(body_model="anny", vertex_count=4, joint_names=["a", "b", "c"])
    ours.faces = array.array("I", faces.tobytes())
    ours.skeleton_edges = array.array("I", edges.tobytes())
    types = typestore.types
    theirs = types["lihmr_ros/msg/MeshTopology"](
        header=types["std_msgs/msg/Header"](stamp=types["builtin_interfaces/msg/Time"](sec=0, nanosec=0), frame_id=""),
        body_model="anny",
        vertex_count=4,
        faces=faces,
        joint_names=["a", "b", "c"],
        skeleton_edges=edges,
    )
    assert_same_cdr(typestore, ours, theirs, "lihmr_ros/msg/MeshTopology")


def installed_type_description(name: str) -> Path:
    """The type description JSON that the ROS build installed for message ``name``."""
    candidates = [Path(sys.prefix) / "share" / "lihmr_ros" / "msg" / f"{name}.json"]
    try:
        from ament_index_python.packages import get_package_share_directory

        candidates.insert(0, Path(get_package_share_directory("lihmr_ros")) / "msg" / f"{name}.json")
    except (LookupError, OSError):
        pass
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no installed type description for {name}; looked at {candidates}")


@pytest.mark.parametrize("name", MESSAGE_NAMES)
def test_type_hashes_match_the_ros_build(typestore, name: str) -> None:
    description = json.loads(installed_type_description(name).read_text())
    ros_hashes = {entry["type_name"]: entry["hash_string"] for entry in description["type_hashes"]}
    typename = f"lihmr_ros/msg/{name}"
    assert typestore.hash_rihs01(typename) == ros_hashes[typename]
