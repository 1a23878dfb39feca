"""Pipeline results -> ``lihmr_ros`` messages.

Flat arrays are assigned as ``array.array`` built from bytes: rclpy copies
those directly, while a numpy array or a list is checked element by element
(tens of milliseconds for a 13,718-vertex mesh).
"""

from __future__ import annotations

import array
from typing import Any

import numpy as np

from lihmr_ros.body.coco import COCO17_NAMES, COCO17_SKELETON
from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.msg import HumanMesh, HumanMeshArray, MeshTopology
from lihmr_ros.pipeline.results import FrameResult, PersonResult


def float32_array(values: np.ndarray) -> array.array:
    """A flat ``array('f')`` of ``values`` for a ``float32[]`` field."""
    return array.array("f", np.ascontiguousarray(values, dtype=np.float32).tobytes())


def uint32_array(values: np.ndarray) -> array.array:
    """A flat ``array('I')`` of ``values`` for a ``uint32[]`` field."""
    return array.array("I", np.ascontiguousarray(values, dtype=np.uint32).tobytes())


def body_model_name(template: MeshTemplate) -> str:
    """The ``body_model`` string of the meshes published for ``template`` (its full-resolution model)."""
    return template.body_model


def human_mesh(person: PersonResult) -> HumanMesh:
    message = HumanMesh()
    message.track_id = int(person.track_id)
    message.score = float(person.score)
    message.window_frames = int(person.window_frames)
    message.vertices = float32_array(person.vertices)
    message.joints3d = float32_array(person.joints3d)
    message.joints2d = float32_array(person.joints2d)
    message.joint_confidence = float32_array(person.joint_confidence)
    message.root.x, message.root.y, message.root.z = (float(v) for v in person.root)
    message.root_is_metric = bool(person.root_is_metric)
    message.ground_scale = float(person.ground_scale)
    message.bbox_x_min, message.bbox_y_min, message.bbox_x_max, message.bbox_y_max = (float(v) for v in person.box)
    message.shape_params = float32_array(person.shape_params)
    return message


def human_mesh_array(result: FrameResult, header: Any, body_model: str) -> HumanMeshArray:
    """The ``humans`` message for one processed image; ``header`` is the output header (image stamp, frame)."""
    message = HumanMeshArray()
    message.header = header
    message.body_model = body_model
    message.humans = [human_mesh(person) for person in result.people]
    return message


def mesh_topology(template: MeshTemplate, stamp: Any) -> MeshTopology:
    """The latched topology of the full meshes published on ``humans``."""
    message = MeshTopology()
    message.header.stamp = stamp
    message.body_model = body_model_name(template)
    message.vertex_count = template.num_full_vertices
    message.faces = uint32_array(template.full_faces.reshape(-1))
    message.joint_names = list(COCO17_NAMES)
    message.skeleton_edges = uint32_array(np.asarray(COCO17_SKELETON).reshape(-1))
    return message


def keypoints_from_message(message: HumanMeshArray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """2D people of a ``HumanMeshArray`` used as keypoint input: (N, 17, 3) keypoints, (N,) scores, (N, 4) boxes.

    An external detector fills only ``joints2d``, ``joint_confidence``,
    ``score`` and, optionally, the ``bbox_*`` fields.  Boxes are returned only
    when every person has one with a positive size; otherwise ``None``, and
    boxes are derived from the keypoints downstream.
    """
    keypoints, scores, boxes = [], [], []
    for index, human in enumerate(message.humans):
        joints2d = np.asarray(human.joints2d, dtype=np.float32)
        confidence = np.asarray(human.joint_confidence, dtype=np.float32)
        if joints2d.size != len(COCO17_NAMES) * 2 or confidence.size != len(COCO17_NAMES):
            raise ValueError(
                f"keypoints message person {index}: joints2d needs {len(COCO17_NAMES) * 2} values and "
                f"joint_confidence {len(COCO17_NAMES)}, got {joints2d.size} and {confidence.size}"
            )
        keypoints.append(np.concatenate([joints2d.reshape(-1, 2), confidence[:, None]], axis=1))
        scores.append(human.score)
        boxes.append((human.bbox_x_min, human.bbox_y_min, human.bbox_x_max, human.bbox_y_max))
    box_array = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    has_boxes = bool(np.all(box_array[:, 2] > box_array[:, 0]) and np.all(box_array[:, 3] > box_array[:, 1]))
    return (
        np.asarray(keypoints, dtype=np.float32).reshape(-1, len(COCO17_NAMES), 3),
        np.asarray(scores, dtype=np.float32),
        box_array if has_boxes and len(box_array) else None,
    )
