"""Anny wrapper: forward, camera axes, COCO regressors, coarse topologies, cache location."""

import os

import numpy as np
import pytest
import torch

from lihmr_ros.body.anny_model import COARSE_TOPOLOGIES, AnnyBody, default_anny_cache_dir, import_anny
from lihmr_ros.body.coco import COCO17_NAMES, mid_hip
from lihmr_ros.body.pose_sampler import AnnyPoseSampler

EXPECTED_COARSE_VERTICES = {"notoes_collapse10pc": 1229, "notoes_collapse5pc": 615, "notoes_collapse3pc": 369}


@pytest.fixture(scope="module")
def full() -> AnnyBody:
    return AnnyBody()


def _joint(joints: np.ndarray, name: str) -> np.ndarray:
    return joints[COCO17_NAMES.index(name)]


def test_forward_shapes_and_dtype(full):
    output = full.forward(full.neutral_pose(3), full.neutral_shape(3))
    assert output.vertices.shape == (3, 13718, 3)
    assert output.joints.shape == (3, 17, 3)
    assert output.vertices.dtype == torch.float32
    assert full.faces.shape == (27420, 3) and full.faces.max() < full.num_vertices
    assert full.num_shape_params == 6 and full.shape_labels[:2] == ("gender", "age")


def test_reference_body_is_upright_and_faces_the_camera(full):
    output = full.forward(full.neutral_pose(), full.neutral_shape())
    vertices, joints = output.vertices[0].numpy(), output.joints[0].numpy()
    root = mid_hip(joints)
    nose, ankles = _joint(joints, "nose"), (_joint(joints, "left_ankle") + _joint(joints, "right_ankle")) / 2
    assert nose[1] < root[1] < ankles[1], "head must be at -y (up in the image), feet at +y"
    shoulders = (_joint(joints, "left_shoulder") + _joint(joints, "right_shoulder")) / 2
    assert nose[2] < shoulders[2] - 0.05, "the face must point towards the camera (-z)"
    assert _joint(joints, "left_shoulder")[0] > root[0] > _joint(joints, "right_shoulder")[0], "person's left at +x"
    height = vertices[:, 1].max() - vertices[:, 1].min()
    assert 1.55 < height < 1.85, f"typical adult should be adult-sized, got {height:.2f} m"


def test_coco_regressor_rows_sum_to_one_and_joints_lie_inside_the_body(full):
    np.testing.assert_allclose(full.joint_regressor.sum(axis=1), 1.0, atol=1e-5)
    sampler = AnnyPoseSampler(full)
    rng = np.random.default_rng(7)
    output = full.forward(sampler.sample(rng, 4), sampler.sample_shapes(rng, 4))
    for vertices, joints in zip(output.vertices.numpy(), output.joints.numpy()):
        assert np.all(joints >= vertices.min(axis=0) - 1e-6) and np.all(joints <= vertices.max(axis=0) + 1e-6)


@pytest.mark.parametrize("topology", COARSE_TOPOLOGIES)
def test_coarse_topology_forward_and_transferred_regressor(full, topology):
    coarse = AnnyBody(topology, full_body=full)
    assert coarse.num_vertices == EXPECTED_COARSE_VERTICES[topology]
    assert coarse.bone_labels == full.bone_labels, "coarse topologies share the full rig"
    np.testing.assert_allclose(coarse.joint_regressor.sum(axis=1), 1.0, atol=1e-5)
    sampler = AnnyPoseSampler(full)
    rng = np.random.default_rng(3)
    pose, shape = sampler.sample(rng, 4), sampler.sample_shapes(rng, 4)
    coarse_joints = coarse.forward(pose, shape).joints
    full_joints = full.forward(pose, shape).joints
    error_mm = 1000 * torch.linalg.norm(coarse_joints - full_joints, dim=-1).mean().item()
    # Measured with `lihmr body measure-upsampling`: 2.8 / 3.8 / 6.9 mm mean for 10pc / 5pc / 3pc.
    assert error_mm < 12.0


def test_bad_inputs_are_rejected_with_the_expected_shape(full):
    with pytest.raises(ValueError, match=r"\(B, 104, 4, 4\)"):
        full.forward(torch.zeros(2, 72), full.neutral_shape(2))
    with pytest.raises(ValueError, match="phenotypes"):
        full.forward(full.neutral_pose(2), torch.zeros(2, 10))
    with pytest.raises(ValueError, match="notoes_collapse3pc"):
        AnnyBody("smpl")


def test_cache_directory_defaults_under_xdg_and_respects_the_user(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_anny_cache_dir() == tmp_path / "lihmr" / "anny"
    anny = import_anny()  # conftest exports ANNY_CACHE_DIR: it must win over the default
    assert str(anny.paths.get_anny_cache_path()) == os.environ["ANNY_CACHE_DIR"]
