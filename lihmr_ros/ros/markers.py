"""``visualization_msgs/MarkerArray`` for RViz: a mesh and a skeleton per tracked person.

Per person, namespace ``mesh`` holds a ``TRIANGLE_LIST`` of the preview mesh
(:mod:`lihmr_ros.ros.mesh_preview`) and ``skeleton`` a ``LINE_LIST`` of the
3D COCO skeleton, both with the track id as marker id and coloured by it.  A
track that ends gets ``DELETE`` for both, so RViz never shows people who left.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from lihmr_ros.body.coco import COCO17_SKELETON
from lihmr_ros.pipeline.results import FrameResult, PersonResult
from lihmr_ros.ros.colors import track_color
from lihmr_ros.ros.mesh_preview import MeshPreview

MESH_NAMESPACE = "mesh"
SKELETON_NAMESPACE = "skeleton"
SKELETON_LINE_WIDTH_M = 0.02
MESH_ALPHA = 0.8
_SKELETON_INDEX = np.asarray(COCO17_SKELETON, dtype=np.int64).reshape(-1)


def _points(coordinates: np.ndarray) -> list[Point]:
    return [Point(x=x, y=y, z=z) for x, y, z in np.asarray(coordinates, dtype=np.float64).reshape(-1, 3).tolist()]


def _color(track_id: int, alpha: float) -> ColorRGBA:
    red, green, blue, _ = track_color(track_id)
    return ColorRGBA(r=red, g=green, b=blue, a=alpha)


def _marker(header: Any, namespace: str, track_id: int) -> Marker:
    marker = Marker()
    marker.header = header
    marker.ns = namespace
    marker.id = int(track_id)
    marker.pose.orientation.w = 1.0
    marker.lifetime = Duration()  # forever: the DELETE at track end removes it
    return marker


def person_markers(header: Any, person: PersonResult, preview: MeshPreview) -> list[Marker]:
    """The mesh and skeleton markers of one person, in ``header.frame_id`` (the camera optical frame)."""
    mesh = _marker(header, MESH_NAMESPACE, person.track_id)
    mesh.type = Marker.TRIANGLE_LIST
    mesh.action = Marker.ADD
    mesh.scale.x = mesh.scale.y = mesh.scale.z = 1.0
    mesh.color = _color(person.track_id, MESH_ALPHA)
    mesh.points = _points(preview.triangles(person.vertices))

    skeleton = _marker(header, SKELETON_NAMESPACE, person.track_id)
    skeleton.type = Marker.LINE_LIST
    skeleton.action = Marker.ADD
    skeleton.scale.x = SKELETON_LINE_WIDTH_M
    skeleton.color = _color(person.track_id, 1.0)
    skeleton.points = _points(person.joints3d[_SKELETON_INDEX])
    return [mesh, skeleton]


def deletion_markers(header: Any, track_ids: list[int]) -> list[Marker]:
    """``DELETE`` markers removing the mesh and skeleton of each ended track."""
    deletions = []
    for track_id in track_ids:
        for namespace in (MESH_NAMESPACE, SKELETON_NAMESPACE):
            marker = _marker(header, namespace, track_id)
            marker.action = Marker.DELETE
            deletions.append(marker)
    return deletions


def frame_markers(header: Any, result: FrameResult, preview: MeshPreview) -> MarkerArray:
    """Every marker change for one processed image: deletions of ended tracks first, then the people seen."""
    markers = MarkerArray()
    markers.markers = deletion_markers(header, result.ended_track_ids)
    for person in result.people:
        markers.markers.extend(person_markers(header, person, preview))
    return markers


def clear_all_markers(header: Any) -> MarkerArray:
    """One ``DELETEALL`` marker: used when marker publishing is switched off at run time."""
    marker = Marker()
    marker.header = header
    marker.action = Marker.DELETEALL
    markers = MarkerArray()
    markers.markers = [marker]
    return markers
