"""Fixed sparse coarse-to-full mesh upsampling, fitted by least squares.

The network predicts a few hundred coarse vertices; the full mesh is
recovered as ``full[v] = sum_k weight[v, k] * coarse[index[v, k]]`` with K
(8 by default) coarse neighbours per full vertex.  A gather plus a weighted sum is cheap
in any runtime (ONNX, TensorRT) and the table is tiny, while a dense
(13718 x Vc) matrix would cost ~34 MB and a matrix product per frame.

Neighbours are chosen by how close they stay *across poses* (not only at
rest), so a thigh vertex does not borrow from the other thigh or a hip vertex
from the hand that hangs next to it.  Weights are fitted on random posed and
shaped bodies with a sum-to-one constraint, which makes the map commute with
any rigid motion or translation of the body, and a small ridge pull towards
inverse-distance weights, which keeps them sane where the data barely
constrains them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CANDIDATE_FACTOR = 4
"""Rest-pose nearest neighbours examined per chosen neighbour."""

RIDGE = 3e-3
"""Ridge strength relative to the mean diagonal of each vertex's Gram matrix."""


@dataclass(frozen=True)
class UpsamplingErrors:
    """Per-vertex reconstruction errors over held-out bodies, millimetres."""

    mean_mm: float
    p95_mm: float
    max_mm: float


def select_neighbours(
    full_samples: np.ndarray, coarse_samples: np.ndarray, full_rest: np.ndarray, coarse_rest: np.ndarray, k: int
) -> np.ndarray:
    """(Vf, k) coarse indices that stay closest to each full vertex over the samples."""
    from scipy.spatial import cKDTree

    num_candidates = min(coarse_rest.shape[0], k * CANDIDATE_FACTOR)
    _, candidates = cKDTree(coarse_rest).query(full_rest, k=num_candidates)
    chosen = np.empty((full_rest.shape[0], k), dtype=np.int64)
    for rows in _blocks(full_rest.shape[0]):
        offsets = coarse_samples[:, candidates[rows], :] - full_samples[:, rows, None, :]
        mean_distance = np.linalg.norm(offsets, axis=-1).mean(axis=0)
        order = np.argsort(mean_distance, axis=1, kind="stable")[:, :k]
        chosen[rows] = np.take_along_axis(candidates[rows], order, axis=1)
    return chosen


def fit_weights(
    full_samples: np.ndarray, coarse_samples: np.ndarray, index: np.ndarray, ridge_strength: float = RIDGE
) -> np.ndarray:
    """(Vf, K) weights minimising the squared reconstruction error with rows summing to 1.

    With the constraint, ``C_s w - f_s = D_s w`` where ``D_s`` holds the
    neighbours' offsets from the full vertex in sample ``s``, so per vertex we
    solve ``min_w w^T G w + lambda |w - w0|^2  s.t.  1^T w = 1`` with
    ``G = sum_s D_s^T D_s`` and ``w0`` the inverse-distance weights, through
    its KKT system.
    """
    num_full, k = index.shape
    weights = np.empty((num_full, k), dtype=np.float64)
    for rows in _blocks(num_full):
        offsets = coarse_samples[:, index[rows], :].astype(np.float64) - full_samples[:, rows, None, :]
        gram = np.einsum("nvkc,nvlc->vkl", offsets, offsets)
        prior = 1.0 / np.maximum(np.linalg.norm(offsets, axis=-1).mean(axis=0), 1e-4)
        prior /= prior.sum(axis=1, keepdims=True)
        ridge = ridge_strength * np.trace(gram, axis1=1, axis2=2) / k + 1e-12
        count = gram.shape[0]
        system = np.zeros((count, k + 1, k + 1))
        system[:, :k, :k] = gram + ridge[:, None, None] * np.eye(k)
        system[:, :k, k] = 1.0
        system[:, k, :k] = 1.0
        rhs = np.concatenate([ridge[:, None] * prior, np.ones((count, 1))], axis=1)
        weights[rows] = np.linalg.solve(system, rhs[..., None])[:, :k, 0]
    return weights


def _blocks(count: int, size: int = 1024) -> list[slice]:
    """Vertex blocks that keep the (samples x block x K x 3) temporaries near 100 MB."""
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def apply_upsampling(coarse: np.ndarray, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(..., Vc, 3) coarse vertices -> (..., Vf, 3) full vertices."""
    return np.einsum("...vkc,vk->...vc", coarse[..., index, :], weight)


def upsampling_errors(full: np.ndarray, coarse: np.ndarray, index: np.ndarray, weight: np.ndarray) -> UpsamplingErrors:
    """Errors of upsampled ``coarse`` against ``full`` (both (N, V, 3), metres), pooled over every vertex."""
    distances_mm = 1000.0 * np.linalg.norm(apply_upsampling(coarse, index, weight) - full, axis=-1).ravel()
    return UpsamplingErrors(
        mean_mm=float(distances_mm.mean()),
        p95_mm=float(np.percentile(distances_mm, 95)),
        max_mm=float(distances_mm.max()),
    )


def noise_gain(weight: np.ndarray) -> np.ndarray:
    """(Vf,) factor by which independent per-coarse-vertex noise grows on each full vertex.

    With sum-to-one weights a shared (smooth) error passes through unchanged;
    independent errors are scaled by the weights' L2 norm, which is what large
    negative/positive weight pairs would inflate.
    """
    return np.sqrt((weight.astype(np.float64) ** 2).sum(axis=1))


def compose_regressor(full_regressor: np.ndarray, index: np.ndarray, weight: np.ndarray, num_coarse: int) -> np.ndarray:
    """(J, Vc) regressor that equals ``full_regressor`` applied after upsampling.

    Rows keep summing to 1 when the upsampling rows do, and coarse joints then
    agree exactly with joints regressed from the upsampled full mesh.
    """
    composed = np.zeros((full_regressor.shape[0], num_coarse), dtype=np.float64)
    contributions = full_regressor[:, :, None].astype(np.float64) * weight[None]  # (J, Vf, K)
    for joint in range(full_regressor.shape[0]):
        np.add.at(composed[joint], index.ravel(), contributions[joint].ravel())
    return composed.astype(np.float32)
