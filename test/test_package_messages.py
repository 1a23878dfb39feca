"""The generated lihmr_ros messages import next to the core package and survive rclpy's CDR round trip."""

from __future__ import annotations

import array

import numpy as np
from rclpy.serialization import deserialize_message, serialize_message

import lihmr_ros.model  # noqa: F401  (the hand-written core and the generated msgs are one package)
from lihmr_ros.msg import HumanMesh, HumanMeshArray, MeshTopology

VERTEX_COUNT = 1229
JOINT_COUNT = 17


def sample_human(track_id: int, rng: np.random.Generator) -> HumanMesh:
    """A fully populated HumanMesh with random, non-trivial contents."""
    human = HumanMesh()
    human.track_id = track_id
    human.score = float(np.float32(rng.uniform(0.5, 1.0)))  # float32-exact, to compare after CDR
    human.window_frames = 16
    human.vertices = array.array("f", rng.normal(size=VERTEX_COUNT * 3).astype(np.float32).tobytes())
    human.joints3d = array.array("f", rng.normal(size=JOINT_COUNT * 3).astype(np.float32).tobytes())
    human.joints2d = array.array("f", rng.uniform(0, 640, size=JOINT_COUNT * 2).astype(np.float32).tobytes())
    human.joint_confidence = array.array("f", rng.uniform(0, 1, size=JOINT_COUNT).astype(np.float32).tobytes())
    human.root.x, human.root.y, human.root.z = 0.1, -0.2, 3.5
    human.root_is_metric = True
    human.ground_scale = 1.25
    human.bbox_x_min, human.bbox_y_min, human.bbox_x_max, human.bbox_y_max = 10.0, 20.0, 200.0, 460.0
    human.shape_params = array.array("f", rng.uniform(0, 1, size=6).astype(np.float32).tobytes())
    return human


def test_joint_count_constant_matches_coco17() -> None:
    assert HumanMesh.JOINT_COUNT == JOINT_COUNT


def test_human_mesh_array_round_trips_through_cdr() -> None:
    rng = np.random.default_rng(0)
    message = HumanMeshArray()
    message.header.stamp.sec, message.header.stamp.nanosec = 1700000000, 123456789
    message.header.frame_id = "camera_optical_frame"
    message.body_model = "anny/notoes_collapse10pc"
    message.humans = [sample_human(7, rng), sample_human(8, rng)]

    data = serialize_message(message)
    restored = deserialize_message(data, HumanMeshArray)

    assert restored == message
    assert len(restored.humans[1].vertices) == VERTEX_COUNT * 3
    np.testing.assert_array_equal(np.asarray(restored.humans[0].vertices), np.asarray(message.humans[0].vertices))
    # The flat float32 arrays dominate the size: V*3 floats per person plus small fields.
    assert len(data) > 2 * VERTEX_COUNT * 3 * 4


def test_mesh_topology_round_trips_through_cdr() -> None:
    topology = MeshTopology()
    topology.body_model = "anny"
    topology.vertex_count = 4
    topology.faces = array.array("I", [0, 1, 2, 0, 2, 3])
    topology.joint_names = ["nose", "l_eye"]
    topology.skeleton_edges = array.array("I", [0, 1])

    restored = deserialize_message(serialize_message(topology), MeshTopology)

    assert restored == topology
    assert list(restored.faces) == [0, 1, 2, 0, 2, 3]
    assert restored.joint_names == ["nose", "l_eye"]

