"""Anny's surface prepared for texturing and drawing.

Anny stores one texture coordinate per face corner (21,334 UVs for 13,718
vertices), so a vertex on a UV seam must be drawn as several GPU vertices.
:class:`BodySurface` holds that split ("corners"), plus per-vertex anatomical
coordinates measured once on a rest body: which body part a vertex belongs to
(from its skinning weights), how far along the arm / leg it sits, its height
between hip and neck, and its position relative to the head.  Clothing,
hair and face paint are decided from these coordinates, so a sleeve ends at
the same anatomical place on a child and on a tall adult, and patterns stay
continuous across UV seams.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import scipy.sparse


class BodyPart(IntEnum):
    """Coarse body parts, from the dominant skinning bones of each vertex."""

    TORSO = 0
    HEAD = 1
    UPPER_ARM = 2
    LOWER_ARM = 3
    HAND = 4
    UPPER_LEG = 5
    LOWER_LEG = 6
    FOOT = 7
    EYE = 8


def _part_of_bone(label: str) -> BodyPart:
    name = label.split(".")[0]
    if name.startswith("eye"):
        return BodyPart.EYE
    if name.startswith(("neck", "head")):
        return BodyPart.HEAD
    if name.startswith("upperarm"):
        return BodyPart.UPPER_ARM
    if name.startswith("lowerarm"):
        return BodyPart.LOWER_ARM
    if name.startswith(("wrist", "finger", "metacarpal")):
        return BodyPart.HAND
    if name.startswith("upperleg"):
        return BodyPart.UPPER_LEG
    if name.startswith("lowerleg"):
        return BodyPart.LOWER_LEG
    if name.startswith(("foot", "toe")):
        return BodyPart.FOOT
    return BodyPart.TORSO


@dataclass(frozen=True)
class BodySurface:
    """Draw topology and anatomical coordinates of the Anny mesh (Anny's own frame, Z up, facing -Y)."""

    faces: np.ndarray
    """(T, 3) int64 triangles over mesh vertices (for normals and silhouettes)."""
    corner_vertex: np.ndarray
    """(N,) int64 mesh vertex drawn by each GPU corner."""
    corner_uv: np.ndarray
    """(N, 2) float32 texture coordinate of each corner."""
    corner_faces: np.ndarray
    """(T, 3) int32 triangles over corners."""
    part: np.ndarray
    """(V,) int8 :class:`BodyPart` of each vertex."""
    limb_progress: np.ndarray
    """(V, 2) float32 position along the arm (shoulder 0 -> wrist 1) and leg (hip 0 -> ankle 1)."""
    torso_height: np.ndarray
    """(V,) float32 height with hip joints at 0 and the neck base at 1."""
    head_offset: np.ndarray
    """(V, 3) float32 position relative to the head joint, metres, x mirrored to the left side."""
    eye_offset: np.ndarray
    """(V, 3) float32 position relative to the left eyeball centre, metres, x mirrored to the left side."""
    rest_position: np.ndarray
    """(V, 3) float32 rest position (for 3D patterns that ignore UV seams)."""

    @property
    def num_vertices(self) -> int:
        return int(self.part.shape[0])


def _bone_head(heads: np.ndarray, labels: list[str], name: str) -> np.ndarray:
    return heads[labels.index(name)]


def _progress_along(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Projection parameter of each point on the segment start -> end (0 at start, 1 at end)."""
    axis = end - start
    return ((points - start) @ axis) / float(axis @ axis)


def build_body_surface(model) -> BodySurface:
    """Measure the anatomical coordinates on a mid-range adult rest body of ``model`` (an ``anny.Anny``)."""
    import torch

    if model.texture_coordinates is None or model.face_texture_coordinate_indices is None:
        raise ValueError("this Anny topology has no texture coordinates; use the default topology for rendering")
    with torch.no_grad():
        rest = model(
            pose_parameters=None,
            phenotype_kwargs={"age": 0.8, "height": 0.35, "gender": 0.5, "weight": 0.5, "muscle": 0.5},
        )
    vertices = rest["vertices"][0].double().cpu().numpy()
    heads = rest["bone_poses"][0, :, :3, 3].double().cpu().numpy()
    labels = list(model.bone_labels)

    faces = model.faces.cpu().numpy().astype(np.int64)
    uv_faces = model.face_texture_coordinate_indices.cpu().numpy().astype(np.int64)
    uvs = model.texture_coordinates.cpu().numpy().astype(np.float32)
    pairs = np.stack([faces.ravel(), uv_faces.ravel()], axis=1)
    unique_pairs, corner_index = np.unique(pairs, axis=0, return_inverse=True)

    bone_part = np.array([_part_of_bone(label) for label in labels], dtype=np.int64)
    weights = model.vertex_bone_weights.cpu().numpy()
    bone_index = model.vertex_bone_indices.cpu().numpy().astype(np.int64)
    part_weight = np.zeros((vertices.shape[0], len(BodyPart)), dtype=np.float64)
    np.add.at(part_weight, (np.arange(vertices.shape[0])[:, None], bone_part[bone_index]), weights)
    part = part_weight.argmax(axis=1).astype(np.int8)

    mirrored = vertices.copy()
    mirrored[:, 0] = np.abs(mirrored[:, 0])  # both sides measured on the left limbs (+x in Anny)
    arm = _progress_along(
        mirrored, _bone_head(heads, labels, "upperarm01.L"), _bone_head(heads, labels, "wrist.L")
    )
    leg = _progress_along(mirrored, _bone_head(heads, labels, "upperleg01.L"), _bone_head(heads, labels, "foot.L"))
    hip_z = _bone_head(heads, labels, "upperleg01.L")[2]
    neck_z = _bone_head(heads, labels, "neck01")[2]
    head = _bone_head(heads, labels, "head")
    head_offset = mirrored - np.array([0.0, head[1], head[2]])
    eye_offset = mirrored - _bone_head(heads, labels, "eye.L")

    return BodySurface(
        faces=faces,
        corner_vertex=unique_pairs[:, 0],
        corner_uv=uvs[unique_pairs[:, 1]],
        corner_faces=corner_index.reshape(-1, 3).astype(np.int32),
        part=part,
        limb_progress=np.stack([arm, leg], axis=1).astype(np.float32),
        torso_height=((vertices[:, 2] - hip_z) / (neck_z - hip_z)).astype(np.float32),
        head_offset=head_offset.astype(np.float32),
        eye_offset=eye_offset.astype(np.float32),
        rest_position=vertices.astype(np.float32),
    )


class NormalEstimator:
    """Area-weighted vertex normals for a batch of posed meshes, via one sparse product."""

    def __init__(self, faces: np.ndarray, num_vertices: int) -> None:
        faces = np.asarray(faces, dtype=np.int64)
        rows = faces.ravel()
        cols = np.repeat(np.arange(faces.shape[0]), 3)
        self._faces = faces
        self._face_to_vertex = scipy.sparse.csr_matrix(
            (np.ones(rows.shape[0], dtype=np.float32), (rows, cols)), shape=(num_vertices, faces.shape[0])
        )

    def __call__(self, vertices: np.ndarray) -> np.ndarray:
        """(F, V, 3) vertices -> (F, V, 3) unit normals (float32)."""
        vertices = np.asarray(vertices, dtype=np.float32)
        a, b, c = (vertices[:, self._faces[:, k]] for k in range(3))
        face_normals = np.cross(b - a, c - a)  # length = 2 x area: larger faces weigh more
        frames = vertices.shape[0]
        stacked = face_normals.transpose(1, 0, 2).reshape(self._faces.shape[0], frames * 3)
        summed = np.asarray(self._face_to_vertex @ stacked).reshape(-1, frames, 3).transpose(1, 0, 2)
        length = np.linalg.norm(summed, axis=-1, keepdims=True)
        return (summed / np.maximum(length, 1e-12)).astype(np.float32)
