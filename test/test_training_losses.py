"""Loss terms of training: zero at the ground truth, positive off it, gradients (lihmr_ros.training.losses)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lihmr_ros.body import load_template
from lihmr_ros.model.network import NetworkOutput
from lihmr_ros.training.config import LossWeights
from lihmr_ros.training.losses import (
    LossFunction,
    LossTargets,
    acceleration_loss,
    stream_acceleration_loss,
    edge_loss,
    normal_loss,
    relative_size_loss,
    reprojection_l1,
    spread_subset,
    unique_edges,
)

torch.set_num_threads(2)
BATCH, WINDOW, RUN = 6, 4, 3


@pytest.fixture(scope="module")
def template():
    return load_template()


def upsample_with(template):
    """The template's coarse-to-full map written out independently, so these loss tests do not lean on the refiner."""
    index = torch.as_tensor(template.upsample_index)
    weight = torch.as_tensor(template.upsample_weight)
    return lambda coarse: (coarse[:, index] * weight[..., None]).sum(dim=2)


def camera_targets(template, seed: int = 0) -> LossTargets:
    """Ground truth of a plausible batch: rest bodies 3-5 m away, joints projected with K into their boxes."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.as_tensor(template.coarse_vertices).expand(BATCH, -1, -1).clone()
    vertices = upsample_with(template)(coarse)
    joints = torch.as_tensor(template.rest_joints).expand(BATCH, WINDOW, -1, -1).clone()
    joints = joints + 0.01 * torch.randn(joints.shape, generator=generator)
    root = torch.tensor([0.2, 0.1, 3.0]) + torch.rand(BATCH, WINDOW, 3, generator=generator) * torch.tensor([0, 0, 2.0])
    intrinsics = torch.tensor([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]]).expand(BATCH, 3, 3)
    points = joints + root.unsqueeze(-2)
    pixels = torch.stack([500 * points[..., 0] / points[..., 2] + 320, 500 * points[..., 1] / points[..., 2] + 240], -1)
    boxes = torch.cat([pixels.mean(dim=2), torch.full((BATCH, WINDOW, 1), 300.0)], dim=-1)
    return LossTargets(
        vertices=vertices, coarse_vertices=coarse, joints=joints, root=root, joints_2d=pixels, boxes=boxes,
        intrinsics=intrinsics, shape=torch.full((BATCH, 6), 0.5),
    )


def output_at(targets: LossTargets) -> NetworkOutput:
    """A network output that equals the ground truth (target frame = last, causal)."""
    return NetworkOutput(
        vertices=targets.vertices.clone(), joints=targets.joints[:, -1].clone(),
        coarse_vertices=targets.coarse_vertices.clone(), shape=targets.shape.clone(),
        lifted_joints=targets.joints.clone(),
    )


def all_terms(function: LossFunction, output: NetworkOutput, targets: LossTargets) -> dict[str, torch.Tensor]:
    terms = function.lifter_terms(output.lifted_joints, targets)
    terms.update(function.mesh_terms(output, targets, target_index=WINDOW - 1, run_length=RUN))
    return terms


@pytest.mark.parametrize("coarse_supervision", ["direct", "through_full_mesh"])
def test_every_term_is_zero_at_the_ground_truth(template, coarse_supervision: str) -> None:
    targets = camera_targets(template)
    if coarse_supervision == "through_full_mesh":
        targets = LossTargets(**{**targets.__dict__, "coarse_vertices": None})
        output = output_at(camera_targets(template))
    else:
        output = output_at(targets)
    function = LossFunction(LossWeights(), template.full_faces, upsample_with(template), torch.device("cpu"))
    terms = all_terms(function, output, targets)
    assert set(terms) == set(LossWeights().as_dict())
    for name, value in terms.items():
        assert float(value) == pytest.approx(0.0, abs=1e-5), name


def perturbed_output(targets: LossTargets, seed: int) -> NetworkOutput:
    """The exact output with 2 cm (or 0.02 units) of seeded noise on every value, as leaves with gradients."""
    generator = torch.Generator().manual_seed(seed)
    return NetworkOutput(*(
        (value + 0.02 * torch.randn(value.shape, generator=generator)).requires_grad_()
        for value in output_at(targets)
    ))


def test_every_term_is_positive_off_the_ground_truth_and_has_gradients(template) -> None:
    targets = camera_targets(template)
    perturbed = perturbed_output(targets, seed=7)
    function = LossFunction(LossWeights(), template.full_faces, upsample_with(template), torch.device("cpu"))
    terms = all_terms(function, perturbed, targets)
    for name, value in terms.items():
        assert float(value.detach()) > 0.0, name
    total = function.total(terms)
    total.backward()
    for name, value in zip(NetworkOutput._fields, perturbed):
        assert value.grad is not None and torch.isfinite(value.grad).all() and value.grad.abs().sum() > 0, name


def test_surface_terms_on_a_strided_subset_of_windows(template) -> None:
    targets = camera_targets(template)
    perturbed = perturbed_output(targets, seed=3)
    upsample = upsample_with(template)
    every = LossFunction(LossWeights(), template.full_faces, upsample, torch.device("cpu"))
    subset = LossFunction(LossWeights(), template.full_faces, upsample, torch.device("cpu"), surface_windows=2)
    rows = [0, 3]  # BATCH = 6 windows, 2 wanted: every third, one from each run of 3
    faces = torch.as_tensor(template.full_faces.astype(np.int64))
    with torch.no_grad():  # values only
        all_windows = every.mesh_terms(perturbed, targets, target_index=WINDOW - 1, run_length=RUN)
        strided = subset.mesh_terms(perturbed, targets, target_index=WINDOW - 1, run_length=RUN)
        expected = normal_loss(perturbed.vertices[rows], targets.vertices[rows], faces)
    assert float(strided["normals"]) == pytest.approx(float(expected), rel=1e-6)
    assert float(strided["normals"]) != pytest.approx(float(all_windows["normals"]), rel=1e-6)
    for name in set(all_windows) - {"normals", "edges"}:  # every other term still sees the whole batch
        assert float(strided[name]) == pytest.approx(float(all_windows[name]), rel=1e-6), name


def test_spread_subset_keeps_every_row_unless_fewer_are_wanted() -> None:
    rows = np.arange(64)
    assert rows[spread_subset(64, 0)].tolist() == rows.tolist()
    assert rows[spread_subset(64, 64)].tolist() == rows.tolist()
    assert rows[spread_subset(64, 16)].tolist() == list(range(0, 64, 4))
    assert len(rows[spread_subset(64, 20)]) == 22  # stride 3: at least as many rows as wanted


def test_reprojection_measures_crop_normalised_units(template) -> None:
    targets = camera_targets(template)
    shifted = targets.joints_2d + torch.tensor([15.0, 0.0])  # 15 px right; boxes are 300 px: 0.1 units in x
    value = reprojection_l1(targets.joints, targets.root, targets.intrinsics, targets.boxes, shifted)
    assert float(value) == pytest.approx(0.5 * 0.1, rel=1e-4)  # mean over x and y


def test_normal_and_edge_terms_react_to_surface_changes_not_to_translation(template) -> None:
    targets = camera_targets(template)
    faces = torch.as_tensor(template.full_faces.astype(np.int64))
    edges = torch.as_tensor(unique_edges(template.full_faces))
    moved = targets.vertices + torch.tensor([0.1, -0.2, 0.3])
    assert float(normal_loss(moved, targets.vertices, faces)) == pytest.approx(0.0, abs=1e-6)
    assert float(edge_loss(moved, targets.vertices, edges)) == pytest.approx(0.0, abs=1e-6)
    scaled = targets.vertices * 1.1
    assert float(edge_loss(scaled, targets.vertices, edges)) > 0.0
    flipped = targets.vertices * torch.tensor([-1.0, 1.0, 1.0])  # mirror turns every normal
    assert float(normal_loss(flipped, targets.vertices, faces)) > 0.5


def test_unique_edges_counts_each_edge_once() -> None:
    two_triangles = np.array([[0, 1, 2], [2, 1, 3]])
    assert unique_edges(two_triangles).tolist() == [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]


def test_acceleration_loss_ignores_constant_velocity_offsets() -> None:
    joints = torch.randn(BATCH, WINDOW, 17, 3)
    drift = torch.arange(WINDOW, dtype=torch.float32)[None, :, None, None] * 0.05
    assert float(acceleration_loss(joints + drift, joints)) == pytest.approx(0.0, abs=1e-6)
    jerk = joints.clone()
    jerk[:, 1] += 0.1
    assert float(acceleration_loss(jerk, joints)) > 0.0


def test_stream_acceleration_follows_runs_of_windows_and_never_crosses_between_runs() -> None:
    runs, run_length = 3, 5
    truth = torch.randn(runs * run_length, 17, 3)
    steady = torch.arange(run_length, dtype=torch.float32).repeat(runs)[:, None, None] * 0.03
    jump_between_runs = torch.arange(runs, dtype=torch.float32).repeat_interleave(run_length)[:, None, None]
    assert float(stream_acceleration_loss(truth + steady + jump_between_runs, truth, run_length)) == pytest.approx(
        0.0, abs=1e-6
    )
    jitter = truth.clone()
    jitter[run_length + 2] += 0.05  # one published frame of the second run jumps
    per_element = 0.05 * (1 + 2 + 1) / (runs * (run_length - 2) * 17 * 3)
    assert float(stream_acceleration_loss(jitter, truth, run_length)) == pytest.approx(
        per_element * 17 * 3, rel=1e-4
    )
    tail = torch.randn(2, 17, 3)  # a batch tail shorter than a run is left out
    assert float(stream_acceleration_loss(torch.cat([jitter, tail]), torch.cat([truth, -tail]), run_length)) == (
        pytest.approx(float(stream_acceleration_loss(jitter, truth, run_length)))
    )
    assert float(stream_acceleration_loss(jitter, truth, run_length=2)) == 0.0  # no second difference in a run


def test_size_loss_is_the_relative_scale_error_and_ignores_placement_and_orientation(template) -> None:
    vertices = torch.as_tensor(template.full_rest_vertices, dtype=torch.float32).expand(2, -1, -1).clone()
    turn = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    moved = vertices @ turn.T + torch.tensor([0.3, -0.2, 4.0])
    assert float(relative_size_loss(moved, vertices)) == pytest.approx(0.0, abs=1e-6)
    scale = torch.tensor([1.1, 0.8])[:, None, None]  # 10 % too big, 20 % too small: mean 15 %
    assert float(relative_size_loss(scale * vertices, vertices)) == pytest.approx(0.15, rel=1e-5)
    # Relative, not absolute: a body half the size that is 10 % too big costs the same.
    assert float(relative_size_loss(0.55 * vertices, 0.5 * vertices)) == pytest.approx(0.1, rel=1e-5)
