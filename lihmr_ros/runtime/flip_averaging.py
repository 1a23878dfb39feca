"""Flip averaging: run the network on each person and on their mirror image, and average the two bodies.

A person seen in a mirror is as plausible a person as the original (the
training data's poses, cameras and lighting are left/right symmetric), so the
network's estimate for the mirrored input, mirrored back, is a second estimate
of the same body whose errors are partly independent of the first: averaging
the two cancels some of them (orientation and articulation guesses that lean
one way).  It costs a second encoder and network pass per person.

The mirror is taken about the camera's principal point (the same camera seeing
a mirrored world), so every input mirrors exactly:

* crop: flipped left/right about its own centre;
* crop-normalised keypoints: ``x -> -x`` and left/right joints swapped;
* crop placement (``crop_info``): its horizontal offset changes sign;
* output mesh: ``x -> -x`` and every vertex swapped with its mirror twin on the
  template (Anny's mesh is left/right symmetric to 0.3 mm); joints likewise.

Implemented as a wrapper around any :class:`~lihmr_ros.runtime.backend.InferenceBackend`,
so TensorRT, onnxruntime and PyTorch all get it unchanged: a person's cached
feature is the concatenation of the feature of their crop and of its mirror,
which keeps the pipeline's per-track feature cache working as it is.
"""

from __future__ import annotations

import numpy as np

from lihmr_ros.body.coco import COCO17_FLIP_PERMUTATION
from lihmr_ros.runtime.backend import InferenceBackend, InferenceResult

MIRROR_X = np.array([-1.0, 1.0, 1.0], dtype=np.float32)
"""Reflection through the camera's y-z plane."""
MAX_TWIN_DISTANCE_M = 0.005
"""Farthest a vertex's mirror image may lie from its twin before the template counts as asymmetric."""
_TWIN_CHUNK = 512


class AsymmetricTemplateError(ValueError):
    """The mesh template has no left/right correspondence, so a mirrored estimate cannot be mapped back."""


def mirror_twins(rest_vertices: np.ndarray) -> np.ndarray:
    """(V,) index of each rest-pose vertex's left/right twin: the vertex nearest to its mirror image.

    Raises :class:`AsymmetricTemplateError` when some mirror image is farther than
    :data:`MAX_TWIN_DISTANCE_M` from every vertex: such a mesh has no
    left/right correspondence and flip averaging would blur it.
    """
    vertices = np.asarray(rest_vertices, dtype=np.float64)  # float32 distances would break near-ties at random
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"rest vertices must have shape (V, 3), got {vertices.shape}")
    mirrored = vertices * MIRROR_X
    squared_norms = (vertices**2).sum(axis=1)
    twins = np.empty(len(vertices), dtype=np.int64)
    farthest = 0.0
    for start in range(0, len(vertices), _TWIN_CHUNK):
        part = mirrored[start:start + _TWIN_CHUNK]
        squared = (part**2).sum(axis=1)[:, None] - 2.0 * part @ vertices.T + squared_norms[None, :]
        nearest = squared.argmin(axis=1)
        twins[start:start + len(part)] = nearest
        farthest = max(farthest, float(np.sqrt(max(squared[np.arange(len(part)), nearest].max(), 0.0))))
    if farthest > MAX_TWIN_DISTANCE_M:
        raise AsymmetricTemplateError(
            f"the mesh template is not left/right symmetric (a mirrored vertex lies {farthest * 1000:.1f} mm from "
            f"every vertex, more than {MAX_TWIN_DISTANCE_M * 1000:.0f} mm): flip averaging needs a symmetric mesh"
        )
    return twins


def mirror_network_inputs(keypoints: np.ndarray, crop_info: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crop-normalised keypoints (..., 17, 3) and crop placements (..., 3) of the same people seen in a mirror
    about the principal point: left and right joints swapped, every horizontal coordinate negated."""
    mirrored_keypoints = keypoints[..., COCO17_FLIP_PERMUTATION, :] * MIRROR_X  # (x, y, confidence)
    return mirrored_keypoints.astype(np.float32), (crop_info * MIRROR_X).astype(np.float32)


class FlipAveragingBackend:
    """An :class:`InferenceBackend` that averages ``inner``'s estimate with its mirrored estimate."""

    def __init__(self, inner: InferenceBackend, vertex_twins: np.ndarray) -> None:
        """``vertex_twins``: :func:`mirror_twins` of the template ``inner``'s checkpoint was trained with.

        ``inner`` runs the original and the mirrored inputs in one batch, so it
        must accept at least two people; this backend accepts half as many.
        """
        if inner.max_people < 2:
            raise ValueError(
                f"flip averaging runs each person twice in one batch, so the backend must accept at least 2 "
                f"people, got max_people={inner.max_people}"
            )
        self.inner = inner
        self.vertex_twins = np.asarray(vertex_twins, dtype=np.int64)
        self.name = inner.name
        self.description = f"{inner.description}, flip-averaged"
        self.window = inner.window
        self.crop_size = inner.crop_size
        self.feature_dim = 2 * inner.feature_dim
        self.max_people = inner.max_people // 2

    def encode(self, crops: np.ndarray) -> np.ndarray:
        """(N, 3, S, S) crops -> (N, 2D): each crop's feature, then its mirror image's."""
        crops = np.asarray(crops, dtype=np.float32)
        features = self.inner.encode(np.concatenate([crops, crops[..., ::-1]]))
        count = len(crops)
        return np.concatenate([features[:count], features[count:]], axis=1)

    def infer(self, features: np.ndarray, keypoints: np.ndarray, crop_info: np.ndarray) -> InferenceResult:
        """Stages 1 + 2 on the windows and on their mirror images, mirrored back and averaged."""
        count, dim = len(features), self.inner.feature_dim
        mirrored_keypoints, mirrored_crop_info = mirror_network_inputs(keypoints, crop_info)
        both = self.inner.infer(
            np.ascontiguousarray(np.concatenate([features[..., :dim], features[..., dim:]])),
            np.concatenate([keypoints, mirrored_keypoints]).astype(np.float32),
            np.concatenate([crop_info, mirrored_crop_info]).astype(np.float32),
        )
        vertices = 0.5 * (both.vertices[:count] + both.vertices[count:][:, self.vertex_twins] * MIRROR_X)
        joints = 0.5 * (both.joints3d[:count] + both.joints3d[count:][:, COCO17_FLIP_PERMUTATION] * MIRROR_X)
        shape = 0.5 * (both.shape[:count] + both.shape[count:])
        return InferenceResult(vertices.astype(np.float32), joints.astype(np.float32), shape.astype(np.float32))

    def close(self) -> None:
        """Release the wrapped backend."""
        self.inner.close()
