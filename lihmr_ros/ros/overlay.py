"""The ``overlay`` picture: meshes and skeletons drawn onto the input image.

A quick visual check that meshes land on the people, for a robot operator
without RViz: each person's preview mesh (:mod:`lihmr_ros.ros.mesh_preview`)
is projected with the camera used for placement and blended in the track's
colour, and the detected 2D skeleton is drawn on top.
"""

from __future__ import annotations

import cv2
import numpy as np

from lihmr_ros.body.coco import COCO17_SKELETON
from lihmr_ros.pipeline.results import FrameResult
from lihmr_ros.ros.colors import track_color
from lihmr_ros.ros.mesh_preview import MeshPreview

MESH_OPACITY = 0.45
MIN_KEYPOINT_CONFIDENCE = 0.3
"""Skeleton joints below this confidence are not drawn (they were not seen)."""


def draw_overlay(image_rgb: np.ndarray, result: FrameResult, preview: MeshPreview) -> np.ndarray:
    """A new (H, W, 3) uint8 RGB image: ``image_rgb`` with every person of ``result`` drawn on it."""
    canvas = np.array(image_rgb, dtype=np.uint8, copy=True)
    line_width = max(1, round(max(canvas.shape[:2]) / 320))
    for person in result.people:
        color = tuple(int(round(255 * c)) for c in track_color(person.track_id)[:3])
        triangles = preview.triangles(person.vertices)
        in_front = np.all(triangles[..., 2] > 1e-3, axis=1)
        if np.any(in_front):
            pixels = result.camera.project(triangles[in_front])
            layer = canvas.copy()
            # One call per triangle: fillPoly over all of them would cancel overlapping front and back faces.
            for triangle in np.round(pixels).astype(np.int32):
                cv2.fillConvexPoly(layer, triangle, color, cv2.LINE_AA)
            cv2.addWeighted(layer, MESH_OPACITY, canvas, 1.0 - MESH_OPACITY, 0.0, dst=canvas)
        seen = person.joint_confidence >= MIN_KEYPOINT_CONFIDENCE
        points = np.round(person.joints2d).astype(np.int32)
        for a, b in COCO17_SKELETON:
            if seen[a] and seen[b]:
                cv2.line(canvas, tuple(points[a]), tuple(points[b]), color, line_width, cv2.LINE_AA)
        for point in points[seen]:
            cv2.circle(canvas, tuple(point), line_width + 1, (255, 255, 255), -1, cv2.LINE_AA)
        x0, y0 = np.round(person.box[:2]).astype(int)
        cv2.putText(canvas, f"id {person.track_id}", (int(x0), max(int(y0) - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * line_width, color, line_width, cv2.LINE_AA)
    return canvas
