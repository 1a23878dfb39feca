"""A light stand-in of the full mesh for drawing: the template's coarse topology.

The full Anny mesh has 27,420 triangles.  As a ``TRIANGLE_LIST`` marker that is
82,260 ``geometry_msgs/Point`` objects per person per frame (hundreds of
milliseconds to build in Python and megabytes per message), and drawing it
into the overlay costs as much.  For looking at, the coarse topology
(hundreds of triangles) is enough: each coarse vertex takes the position of
the full vertex nearest to it in the rest pose, so the preview follows the
predicted full mesh exactly at those vertices.  The exact mesh is always on
the ``humans`` topic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from lihmr_ros.body.template import MeshTemplate


@dataclass(frozen=True)
class MeshPreview:
    """Which full-mesh vertices to draw and the triangles that connect them."""

    vertex_index: np.ndarray
    """(Vc,) int64 full-mesh vertex standing in for each coarse vertex."""
    faces: np.ndarray
    """(Fc, 3) int64 triangles over the ``vertex_index`` vertices (coarse topology)."""

    @classmethod
    def from_template(cls, template: MeshTemplate) -> MeshPreview:
        _, nearest = cKDTree(template.full_rest_vertices).query(template.coarse_vertices)
        return cls(vertex_index=np.asarray(nearest, dtype=np.int64), faces=template.coarse_faces.astype(np.int64))

    def triangles(self, full_vertices: np.ndarray) -> np.ndarray:
        """(Fc, 3, 3) triangle corners taken from one person's (V, 3) full mesh."""
        return np.asarray(full_vertices)[self.vertex_index][self.faces]
