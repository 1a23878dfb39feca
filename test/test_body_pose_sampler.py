"""Random Anny poses and shapes: determinism, joint-range symmetry, anatomy, interpolation."""

import numpy as np
import pytest
import torch

from lihmr_ros.body.anny_model import AnnyBody
from lihmr_ros.body.coco import COCO17_NAMES
from lihmr_ros.body.pose_sampler import (
    DEFAULT_JOINT_RANGES,
    SAGITTAL_MIRROR,
    AnnyPoseSampler,
    JointRange,
    base_name,
    interpolate,
)
from lihmr_ros.body.shape_sampler import AnnyShapeSampler

QUIET_BONE_PREFIXES = ("finger", "metacarpal", "toe", "eye")


@pytest.fixture(scope="module")
def body() -> AnnyBody:
    return AnnyBody()


@pytest.fixture(scope="module")
def sampler(body) -> AnnyPoseSampler:
    return AnnyPoseSampler(body)


def _joint(body: AnnyBody, pose: torch.Tensor, name: str) -> np.ndarray:
    return body.forward(pose, body.neutral_shape()).joints[0, COCO17_NAMES.index(name)].numpy()


def _pose_with(body: AnnyBody, sampler: AnnyPoseSampler, bone: str, angles: tuple[float, float, float]):
    pose = body.neutral_pose()
    pose[0, body.bone_labels.index(bone), :3, :3] = torch.as_tensor(sampler.rotation_for(bone, angles))
    return pose


def test_same_seed_same_poses_and_shapes(sampler):
    first = sampler.sample(np.random.default_rng(5), 6), sampler.sample_shapes(np.random.default_rng(5), 6)
    again = sampler.sample(np.random.default_rng(5), 6), sampler.sample_shapes(np.random.default_rng(5), 6)
    other = sampler.sample(np.random.default_rng(6), 6)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert not torch.allclose(first[0], other)


def test_poses_are_finite_rotations_without_translation(sampler):
    poses = sampler.sample(np.random.default_rng(0), 32).double()
    assert poses.shape == (32, 104, 4, 4) and torch.isfinite(poses).all()
    rotations = poses[..., :3, :3]
    identity = torch.eye(3, dtype=torch.float64).expand_as(rotations)
    assert torch.allclose(rotations @ rotations.transpose(-1, -2), identity, atol=1e-5)
    assert torch.allclose(torch.linalg.det(rotations), torch.ones(32, 104, dtype=torch.float64), atol=1e-5)
    assert torch.count_nonzero(poses[..., :3, 3]) == 0
    assert torch.equal(poses[..., 3, :], torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64).expand(32, 104, 4))


def test_finger_toe_and_eye_bones_stay_quiet(body, sampler):
    poses = sampler.sample(np.random.default_rng(1), 16)
    quiet = [i for i, label in enumerate(body.bone_labels) if label.startswith(QUIET_BONE_PREFIXES)]
    assert len(quiet) > 50
    assert torch.equal(poses[:, quiet], torch.eye(4).expand(16, len(quiet), 4, 4))


def test_ranges_are_mirrored_left_right(body, sampler):
    posed = set(sampler.posed_bone_labels)
    sided = [label for label in posed if label.endswith(".L")]
    assert len(sided) >= 8 and all(label[:-2] + ".R" in posed for label in sided)
    rng = np.random.default_rng(2)
    for left in sided:
        angles = tuple(rng.uniform(-40, 40, size=3))
        right = sampler.rotation_for(left[:-2] + ".R", angles)
        np.testing.assert_allclose(right, SAGITTAL_MIRROR @ sampler.rotation_for(left, angles) @ SAGITTAL_MIRROR)
    for name, joint in DEFAULT_JOINT_RANGES.items():
        if name in body.bone_labels:  # central bones: no preferred side for bending or turning
            for low, mode, high in (joint.outward, joint.twist):
                assert low == -high and mode == 0.0, name


def test_mirrored_pose_gives_a_mirrored_body(body, sampler):
    """The mirror premise: Anny is left/right symmetric, so mirroring every bone mirrors the body."""
    pose = sampler.sample(np.random.default_rng(4), 1)
    mirror = torch.as_tensor(SAGITTAL_MIRROR, dtype=pose.dtype)
    mirrored = pose.clone()
    for index, label in enumerate(body.bone_labels):
        twin = label[:-2] + {".L": ".R", ".R": ".L"}[label[-2:]] if label[-2:] in (".L", ".R") else label
        mirrored[0, body.bone_labels.index(twin), :3, :3] = mirror @ pose[0, index, :3, :3] @ mirror
    shape = body.neutral_shape()
    joints = body.forward(pose, shape).joints[0].numpy()
    mirrored_joints = body.forward(mirrored, shape).joints[0].numpy()
    flip = [COCO17_NAMES.index(n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")) for n in COCO17_NAMES]
    np.testing.assert_allclose(mirrored_joints[flip] * [-1, 1, 1], joints, atol=4e-3)


def test_angle_names_match_anatomy(body, sampler):
    rest = _pose_with(body, sampler, "spine01", (0.0, 0.0, 0.0))
    ankle, wrist = _joint(body, rest, "left_ankle"), _joint(body, rest, "left_wrist")
    knee_bent = _joint(body, _pose_with(body, sampler, "lowerleg01.L", (-90.0, 0.0, 0.0)), "left_ankle")
    assert knee_bent[2] > ankle[2] + 0.2 and knee_bent[1] < ankle[1] - 0.2, "knee flexion swings the foot back and up"
    hip_flexed = _joint(body, _pose_with(body, sampler, "upperleg01.L", (60.0, 0.0, 0.0)), "left_ankle")
    assert hip_flexed[2] < ankle[2] - 0.3, "hip flexion swings the leg to the front (-z)"
    arm_raised = _joint(body, _pose_with(body, sampler, "upperarm01.L", (0.0, 90.0, 0.0)), "left_wrist")
    assert arm_raised[1] < wrist[1] - 0.4, "abduction raises the arm"
    elbow_bent = _joint(body, _pose_with(body, sampler, "lowerarm01.L", (60.0, 0.0, 0.0)), "left_wrist")
    assert elbow_bent[2] < wrist[2] - 0.05 and elbow_bent[1] < wrist[1], "elbow flexion lifts the hand forward"
    nose = _joint(body, rest, "nose")
    bowed = _joint(body, _pose_with(body, sampler, "spine05", (30.0, 0.0, 0.0)), "nose")
    assert bowed[2] < nose[2] - 0.2, "forward trunk flexion moves the head towards the camera"


def test_interpolate_endpoints_midpoint_and_batches(sampler):
    a, b = sampler.sample(np.random.default_rng(8), 3), sampler.sample(np.random.default_rng(9), 3)
    assert torch.allclose(interpolate(a, b, 0.0), a, atol=1e-5)
    assert torch.allclose(interpolate(a, b, 1.0), b, atol=1e-5)
    middle = interpolate(a, b, 0.5).double()
    ad, bd = a.double()[..., :3, :3], b.double()[..., :3, :3]

    def angle(x, y):
        cosine = ((x.transpose(-1, -2) @ y).diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
        return torch.arccos(cosine.clamp(-1, 1))

    assert torch.allclose(angle(ad, middle[..., :3, :3]), angle(ad, bd) / 2, atol=1e-3)
    per_item = interpolate(a, b, torch.tensor([0.0, 1.0, 0.0]))
    assert torch.allclose(per_item[1], b[1], atol=1e-5) and torch.allclose(per_item[2], a[2], atol=1e-5)
    with pytest.raises(ValueError):
        interpolate(a, b[:2], 0.5)


def test_unknown_bone_in_ranges_is_rejected(body):
    with pytest.raises(ValueError, match="tail"):
        AnnyPoseSampler(body, {"tail": JointRange(forward=(-1.0, 0.0, 1.0))})


def test_shapes_cover_children_to_elderly_within_unit_range(body):
    shapes = AnnyShapeSampler(body).sample(np.random.default_rng(0), 400).numpy()
    assert shapes.shape == (400, 6) and np.all((shapes >= 0) & (shapes <= 1))
    age = shapes[:, body.shape_labels.index("age")]
    # Anny's age axis: ~0.24 at 5 years, 0.77 at 18, 0.83 at 64 (the prior's morphological-age mapping).
    assert (age < 0.5).mean() > 0.1 and (age > 0.77).mean() > 0.5 and age.max() > 0.83


def test_base_name_strips_only_the_side():
    assert base_name("upperarm01.L") == "upperarm01" and base_name("spine03") == "spine03"
