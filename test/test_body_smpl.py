"""SMPL / SMPL-X through smplx's real loading code, with small synthetic model files.

The files written here have the real vertex counts (so smplx's keypoint
vertex ids are valid) but a procedural cylinder body, which keeps them cheap
while exercising smplx's loading and skinning code.
"""

import argparse
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from lihmr_ros.body.smpl_model import SmplBody, cluster_faces, farthest_point_indices, smpl_template_inputs
from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.body.template_builder import assemble_template
from lihmr_ros.body.upsampling import apply_upsampling
from lihmr_ros.commands import body as body_command

SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]


def _smplx_parents() -> list[int]:
    """SMPL's first 22 joints, jaw and eyes on the head, three-bone fingers on each wrist."""
    parents = SMPL_PARENTS[:22] + [15, 15, 15]
    for wrist, first in ((20, 25), (21, 40)):
        for finger in range(5):
            start = first + 3 * finger
            parents += [wrist, start, start + 1]
    return parents


def _cylinder(rings: int, per_ring: int) -> tuple[np.ndarray, np.ndarray]:
    """Open cylinder 1.7 m tall in SMPL's axes (Y up), rings from head to feet."""
    angles = np.linspace(0.0, 2.0 * np.pi, per_ring, endpoint=False)
    x = np.tile(0.15 * np.cos(angles), rings)
    z = np.tile(0.1 * np.sin(angles), rings)
    y = np.repeat(np.linspace(0.9, -0.8, rings), per_ring)
    ring, k = np.meshgrid(np.arange(rings - 1), np.arange(per_ring), indexing="ij")
    a = (ring * per_ring + k).ravel()
    b = (ring * per_ring + (k + 1) % per_ring).ravel()
    faces = np.concatenate([np.stack([a, a + per_ring, b], 1), np.stack([b, a + per_ring, b + per_ring], 1)])
    return np.stack([x, y, z], axis=1), faces


def _model_arrays(rings: int, per_ring: int, num_joints: int, num_shape: int) -> dict:
    vertices, faces = _cylinder(rings, per_ring)
    vertex_ring = np.repeat(np.arange(rings), per_ring)
    joint_ring = np.linspace(0, rings - 1, num_joints).round().astype(int)
    regressor = (vertex_ring[None, :] == joint_ring[:, None]) / per_ring  # each joint: the mean of one ring
    weights = np.zeros((vertices.shape[0], num_joints))
    weights[np.arange(vertices.shape[0]), np.abs(vertex_ring[:, None] - joint_ring[None, :]).argmin(axis=1)] = 1.0
    return {
        "v_template": vertices,
        "f": faces.astype(np.uint32),
        "J_regressor": regressor,
        "weights": weights,
        "shapedirs": 0.01 * np.random.default_rng(0).standard_normal((vertices.shape[0], 3, num_shape)),
        "posedirs": np.zeros((vertices.shape[0], 3, 9 * (num_joints - 1)), dtype=np.float32),
    }


def write_fake_smpl(path: Path) -> Path:
    """SMPL .pkl: 6,890 vertices, 24 joints, 10 betas."""
    data = _model_arrays(106, 65, 24, 10)
    data["kintree_table"] = np.stack([np.array(SMPL_PARENTS), np.arange(24)])
    path.write_bytes(pickle.dumps(data))
    return path


def write_fake_smplx(path: Path) -> Path:
    """SMPL-X .npz: 10,475 vertices, 55 joints, 10 betas + 10 expressions."""
    data = _model_arrays(419, 25, 55, 20)
    data["kintree_table"] = np.stack([np.array(_smplx_parents()), np.arange(55)])
    data.update(hands_componentsl=np.eye(45), hands_componentsr=np.eye(45), hands_meanl=np.zeros(45), hands_meanr=np.zeros(45))
    data.update(lmk_faces_idx=np.arange(51), lmk_bary_coords=np.full((51, 3), 1.0 / 3.0))
    np.savez_compressed(path, **data)  # the zero pose blend shapes compress to almost nothing
    return path


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("smpl_models")
    write_fake_smpl(folder / "SMPL_NEUTRAL.pkl")
    write_fake_smplx(folder / "SMPLX_NEUTRAL.npz")
    return folder


@pytest.mark.parametrize("kind, vertices, pose_size", [("smpl", 6890, 72), ("smplx", 10475, 66)])
def test_fake_models_load_from_a_folder_and_forward(model_dir, kind, vertices, pose_size):
    body = SmplBody(model_dir, kind=kind)
    assert body.name == kind and body.num_vertices == vertices and body.num_shape_params == 10
    pose = 0.2 * torch.randn(2, pose_size, generator=torch.Generator().manual_seed(0))
    output = body.forward(pose, torch.zeros(2, 10))
    assert output.vertices.shape == (2, vertices, 3) and output.joints.shape == (2, 17, 3)
    assert torch.isfinite(output.vertices).all()
    np.testing.assert_allclose(body.joint_regressor.sum(axis=1), 1.0, atol=1e-5)


def test_smpl_axes_become_camera_axes(model_dir):
    body = SmplBody(model_dir / "SMPL_NEUTRAL.pkl")
    rest = body.forward(body.neutral_pose(), body.neutral_shape()).vertices[0].numpy()
    template = pickle.loads((model_dir / "SMPL_NEUTRAL.pkl").read_bytes())["v_template"]
    # Y-up / facing +Z becomes y-down / facing -z: a 180-degree turn about x.
    np.testing.assert_allclose(rest, template * [1, -1, -1], atol=1e-5)


def test_coco_rows_come_from_joint_regressor_and_face_vertices(model_dir):
    from smplx.vertex_ids import vertex_ids

    body = SmplBody(model_dir, kind="smpl")
    regressor = body.joint_regressor
    assert regressor[0, vertex_ids["smplh"]["nose"]] == 1.0  # nose: one vertex
    np.testing.assert_allclose(regressor[11], body.model.J_regressor.numpy()[1])  # left hip: SMPL joint 1


def test_missing_file_error_names_the_expected_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "SMPL_FEMALE.pkl")):
        SmplBody(tmp_path, kind="smpl", gender="female")
    with pytest.raises(FileNotFoundError, match="SMPLX_NEUTRAL.npz"):
        SmplBody(tmp_path / "nowhere" / "model.npz", kind="smplx")


def test_wrong_vertex_count_is_rejected(tmp_path):
    data = _model_arrays(10, 10, 24, 10)
    data["kintree_table"] = np.stack([np.array(SMPL_PARENTS), np.arange(24)])
    path = tmp_path / "tiny.pkl"
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(ValueError, match="6890"):
        SmplBody(path)


def test_farthest_points_and_clustered_faces():
    points = np.random.default_rng(0).uniform(size=(500, 3))
    chosen = farthest_point_indices(points, 40)
    assert len(set(chosen.tolist())) == 40
    np.testing.assert_array_equal(chosen, farthest_point_indices(points, 40))
    faces = np.array([[0, 1, 2], [1, 2, 3], [2, 1, 0], [0, 0, 1]])
    clustered = cluster_faces(faces, np.array([0, 1, 2, 2]))
    np.testing.assert_array_equal(clustered, [[0, 1, 2]])  # degenerate and duplicate faces dropped


def test_smpl_template_builds_and_reconstructs_its_samples(model_dir):
    body = SmplBody(model_dir, kind="smpl")
    inputs = smpl_template_inputs(body, num_coarse=200, seed=0, num_samples=16)
    template = assemble_template(inputs)
    assert template.body_model == "smpl" and template.coarse_topology == "fps200"
    assert template.num_coarse_vertices == 200 and len(template.coarse_faces) > 100
    upsampled = apply_upsampling(inputs.coarse_samples, template.upsample_index, template.upsample_weight)
    error = np.linalg.norm(upsampled - inputs.full_samples, axis=-1)
    coarse_rows = farthest_point_indices(inputs.full_rest, 200)
    assert error[:, coarse_rows].max() < 1e-3, "vertices kept in the coarse mesh must come back unchanged"
    nearest_copy = inputs.coarse_samples[:, template.upsample_index[:, 0]]
    assert error.mean() < 0.8 * np.linalg.norm(nearest_copy - inputs.full_samples, axis=-1).mean()


def test_build_template_command_for_smpl(model_dir, tmp_path):
    parser = argparse.ArgumentParser()
    body_command.register(parser.add_subparsers(dest="command"))
    out = tmp_path / "smpl.npz"
    args = parser.parse_args(
        ["body", "build-template", "--body", "smpl", "--model-path", str(model_dir), "--coarse", "150",
         "--samples", "8", "--out", str(out)]
    )
    assert args.handler(args) == 0
    assert MeshTemplate.load(out).num_coarse_vertices == 150
    missing = parser.parse_args(["body", "build-template", "--body", "smplx"])
    with pytest.raises(SystemExit, match="model-path"):
        missing.handler(missing)
