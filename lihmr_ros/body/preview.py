"""Draw posed meshes to a PNG so pose ranges and templates can be checked by eye.

A flat-shaded orthographic painter's-algorithm render with matplotlib: no GPU,
no OpenGL context, good enough to see whether a pose looks human.  Each body
is drawn from the front (as the camera sees it) and from its left side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from lihmr_ros.body.coco import COCO17_SKELETON


def _side_view(points: np.ndarray) -> np.ndarray:
    """Turn camera-axes points 90 degrees about the vertical axis so the body's left faces the viewer."""
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([z, y, -x], axis=-1)


def _draw_mesh(axis, vertices: np.ndarray, faces: np.ndarray, joints: np.ndarray | None) -> None:
    from matplotlib.collections import PolyCollection

    triangles = vertices[faces]
    normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    light = np.array([0.3, -0.4, -0.87])
    shade = 0.25 + 0.75 * np.abs(normals @ (light / np.linalg.norm(light)))
    far_to_near = np.argsort(-triangles[:, :, 2].mean(axis=1))
    colours = np.clip(shade[far_to_near, None] * np.array([0.85, 0.72, 0.62]), 0.0, 1.0)
    axis.add_collection(PolyCollection(triangles[far_to_near][:, :, :2], facecolors=colours, edgecolors="none"))
    if joints is not None:
        for a, b in COCO17_SKELETON:
            axis.plot(joints[[a, b], 0], joints[[a, b], 1], color="tab:blue", linewidth=1.0)
        axis.scatter(joints[:, 0], joints[:, 1], s=6, color="tab:red", zorder=3)
    axis.set_xlim(vertices[:, 0].min() - 0.1, vertices[:, 0].max() + 0.1)
    axis.set_ylim(vertices[:, 1].max() + 0.1, vertices[:, 1].min() - 0.1)
    axis.set_aspect("equal")
    axis.axis("off")


def render_bodies(
    path: Path,
    vertices: Sequence[np.ndarray],
    faces: np.ndarray,
    joints: Sequence[np.ndarray] | None = None,
    titles: Sequence[str] | None = None,
) -> Path:
    """Write front and side views of each (V, 3) camera-axes mesh to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(vertices)
    figure, axes = plt.subplots(2, count, figsize=(2.2 * count, 6.0), squeeze=False)
    for column, body_vertices in enumerate(vertices):
        body_joints = None if joints is None else joints[column]
        _draw_mesh(axes[0, column], body_vertices, faces, body_joints)
        side_joints = None if body_joints is None else _side_view(body_joints)
        _draw_mesh(axes[1, column], _side_view(body_vertices), faces, side_joints)
        if titles is not None:
            axes[0, column].set_title(titles[column], fontsize=8)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
