"""Loss terms of LIHMR training, each zero at the ground truth and differentiable.

3D terms are in metres on root-relative bodies (mid-hip at the origin), 2D
terms in crop-normalised units (half a crop side = 1), so one set of weights
works for near and far people alike.  :meth:`LossFunction.total` combines the
terms with the weights of ``config/train.yaml``; every term is also returned on
its own for the training log.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lihmr_ros.model.network import NetworkOutput
from lihmr_ros.training.config import LossWeights

MIN_DEPTH_M = 0.1
"""Projected points are kept at least this far in front of the camera (a wild early prediction
must not divide by ~0)."""


@dataclass(frozen=True)
class LossTargets:
    """Ground truth of a batch as tensors on the training device."""

    vertices: torch.Tensor
    """(B, Vf, 3) root-relative full meshes of the target frames."""
    coarse_vertices: torch.Tensor | None
    """(B, Vc, 3) root-relative coarse meshes, or None when the data's coarse topology is not the template's."""
    joints: torch.Tensor
    """(B, T, 17, 3) root-relative joints of every window frame."""
    root: torch.Tensor
    """(B, T, 3) root positions, camera frame."""
    joints_2d: torch.Tensor
    """(B, T, 17, 2) projected true joints, pixels."""
    boxes: torch.Tensor
    """(B, T, 3) crop boxes (cx, cy, size), pixels."""
    intrinsics: torch.Tensor
    """(B, 3, 3)."""
    shape: torch.Tensor
    """(B, P) true shape parameters."""


def mean_l1(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference over every coordinate."""
    return (predicted - target).abs().mean()


def reprojection_l1(
    joints: torch.Tensor, root: torch.Tensor, intrinsics: torch.Tensor, boxes: torch.Tensor, joints_2d: torch.Tensor
) -> torch.Tensor:
    """L1 in crop-normalised units between projected root-relative ``joints`` (..., T, 17, 3) placed at the
    true ``root`` (..., T, 3) and the true 2D joints, for every frame of the window.

    Depth errors barely move the 3D joint losses of a far person but swing
    its 2D projection; this term ties the prediction to what the crop shows.
    """
    points = joints + root.unsqueeze(-2)
    depth = points[..., 2].clamp(min=MIN_DEPTH_M)
    k = intrinsics[:, None, None]  # (B, 1, 1, 3, 3)
    u = k[..., 0, 0] * points[..., 0] / depth + k[..., 0, 2]
    v = k[..., 1, 1] * points[..., 1] / depth + k[..., 1, 2]
    half_size = 0.5 * boxes[..., 2:3]
    du = (u - joints_2d[..., 0]) / half_size
    dv = (v - joints_2d[..., 1]) / half_size
    return 0.5 * (du.abs().mean() + dv.abs().mean())


def face_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(B, F, 3) unit normals of triangles ``faces`` (F, 3)."""
    # index_select, not vertices[:, faces]: its backward is an index_add, several times faster on a
    # CPU than the sorting index_put that advanced indexing backpropagates through.
    corners = vertices.index_select(1, faces.reshape(-1)).unflatten(1, faces.shape)  # (B, F, 3, 3)
    normals = torch.cross(corners[:, :, 1] - corners[:, :, 0], corners[:, :, 2] - corners[:, :, 0], dim=-1)
    return torch.nn.functional.normalize(normals, dim=-1, eps=1e-12)


def normal_loss(predicted: torch.Tensor, target: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Mean (1 - cosine) between predicted and true face normals: local surface orientation,
    which vertex L1 alone leaves noisy."""
    cosine = (face_normals(predicted, faces) * face_normals(target, faces)).sum(dim=-1)
    return (1.0 - cosine).mean()


def edge_loss(predicted: torch.Tensor, target: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of edge lengths (E, 2): keeps the surface free of spikes and shrinkage."""
    def lengths(vertices: torch.Tensor) -> torch.Tensor:
        ends = vertices.index_select(1, edges.reshape(-1)).unflatten(1, edges.shape)  # (B, E, 2, 3)
        return (ends[:, :, 0] - ends[:, :, 1]).norm(dim=-1)

    predicted_length, target_length = lengths(predicted), lengths(target)
    return (predicted_length - target_length).abs().mean()


def body_size(vertices: torch.Tensor) -> torch.Tensor:
    """(B,) root-mean-square distance of each mesh's (B, V, 3) vertices from their centroid: one number
    for how big a body is, independent of where it stands and which way it faces."""
    centred = vertices - vertices.mean(dim=1, keepdim=True)
    return centred.square().sum(dim=-1).mean(dim=-1).sqrt()


def relative_size_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |predicted size / true size - 1| of (B, V, 3) meshes (:func:`body_size`).

    The vertex L1 mixes a global scale error into per-vertex residuals that
    articulation errors dominate; this term weighs that one number on its own
    and in the same relative form as the evaluation's size error, so a
    child's 10 % counts as much as an adult's.  Measured in phase 11 (model
    card): it shrinks the training size error but not the held-out one.
    """
    return (body_size(predicted) / body_size(target).clamp(min=1e-6) - 1.0).abs().mean()


def acceleration_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between second differences along the window axis (dim 1) of (B, T, 17, 3) joint sequences:
    the per-frame losses do not see jitter, this one does."""
    if predicted.shape[1] < 3:
        return predicted.new_zeros(())
    predicted_accel = predicted[:, 2:] - 2.0 * predicted[:, 1:-1] + predicted[:, :-2]
    target_accel = target[:, 2:] - 2.0 * target[:, 1:-1] + target[:, :-2]
    return mean_l1(predicted_accel, target_accel)


def stream_acceleration_loss(predicted: torch.Tensor, target: torch.Tensor, run_length: int) -> torch.Tensor:
    """:func:`acceleration_loss` over the target-frame outputs (B, 17, 3) of B windows drawn in runs of
    ``run_length`` consecutive windows of one sequence (:meth:`WindowSampler.sample`).

    A run's target frames are what the node publishes frame after frame in
    causal mode, so this is the jitter a user sees; the window-internal term
    on the lifter's joints does not constrain it, because every published
    frame comes from a different window.  Second differences never cross
    from one run into the next; a batch tail shorter than a run is left out.
    """
    runs = predicted.shape[0] // run_length
    if runs == 0:
        return predicted.new_zeros(())
    shape = (runs, run_length, *predicted.shape[1:])
    used = runs * run_length
    return acceleration_loss(predicted[:used].reshape(shape), target[:used].reshape(shape))


def unique_edges(faces: np.ndarray) -> np.ndarray:
    """(E, 2) int64 undirected edges of a triangle mesh, each once."""
    pairs = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]).astype(np.int64)
    return np.unique(np.sort(pairs, axis=1), axis=0)


def spread_subset(count: int, wanted: int) -> slice:
    """Every k-th of ``count`` batch rows, k chosen so that at least ``wanted`` remain (0 or >= count: all).

    Strided rather than the first rows: a batch is made of runs of
    consecutive windows, so its first rows all come from one sequence, while
    a stride draws from every run.
    """
    if wanted <= 0 or wanted >= count:
        return slice(None)
    return slice(None, None, count // wanted)


class LossFunction:
    """All loss terms for one mesh template; ``upsample`` maps coarse to full vertices (the network's own map).

    ``surface_windows`` > 0 evaluates the normal and edge terms on at least that
    many windows of each batch instead of all of them: on the full mesh
    (27,420 faces, 41,130 edges) these two regularisers are close to half of
    a CPU training step on pre-encoded data (measured with 2 threads: 1.25 s
    per 64-window step with all windows, 0.82 s with 16), and a strided
    sample still draws its surfaces from every run of the batch.
    """

    def __init__(
        self, weights: LossWeights, full_faces: np.ndarray, upsample, device: torch.device, surface_windows: int = 0
    ) -> None:
        self.weights = weights
        self.surface_windows = surface_windows
        self.faces = torch.as_tensor(np.asarray(full_faces, dtype=np.int64), device=device)
        self.edges = torch.as_tensor(unique_edges(np.asarray(full_faces)), device=device)
        self.upsample = upsample

    def lifter_terms(self, lifted_joints: torch.Tensor, targets: LossTargets) -> dict[str, torch.Tensor]:
        """Terms that only need stage 1 (used alone in the stage-wise lifter-only phase)."""
        return {
            "lifted_joints": mean_l1(lifted_joints, targets.joints),
            "reprojection": reprojection_l1(
                lifted_joints, targets.root, targets.intrinsics, targets.boxes, targets.joints_2d
            ),
            "acceleration": acceleration_loss(lifted_joints, targets.joints),
        }

    def mesh_terms(
        self, output: NetworkOutput, targets: LossTargets, target_index: int, run_length: int
    ) -> dict[str, torch.Tensor]:
        """Terms on the target frame's mesh, joints and shape; ``run_length`` consecutive windows of
        the batch form one output stream for ``stream_acceleration``."""
        if targets.coarse_vertices is not None:
            coarse = mean_l1(output.coarse_vertices, targets.coarse_vertices)
        else:
            # Data with another coarse topology: supervise the coarse mesh through the fixed upsampling.
            coarse = mean_l1(self.upsample(output.coarse_vertices), targets.vertices)
        surface = spread_subset(output.vertices.shape[0], self.surface_windows)
        return {
            "vertices": mean_l1(output.vertices, targets.vertices),
            "coarse_vertices": coarse,
            "joints": mean_l1(output.joints, targets.joints[:, target_index]),
            "normals": normal_loss(output.vertices[surface], targets.vertices[surface], self.faces),
            "edges": edge_loss(output.vertices[surface], targets.vertices[surface], self.edges),
            "shape": mean_l1(output.shape, targets.shape),
            "size": relative_size_loss(output.vertices, targets.vertices),
            "stream_acceleration": stream_acceleration_loss(
                output.joints, targets.joints[:, target_index], run_length
            ),
        }

    def total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """Weighted sum of the given terms."""
        weights = self.weights.as_dict()
        return torch.stack([weights[name] * value for name, value in terms.items()]).sum()
