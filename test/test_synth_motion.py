"""Sequence motion and camera placement (lihmr_ros.synth.motion, lihmr_ros.synth.camera)."""

from __future__ import annotations

import numpy as np
import pytest

from lihmr_ros.synth.camera import CameraSampler, intrinsics_from_fov, look_rotation, project
from lihmr_ros.synth.config import CameraSettings, MotionSettings
from lihmr_ros.synth.motion import MotionSampler, facing_direction, heading_rotation


@pytest.fixture(scope="module")
def body_and_sampler():
    from lihmr_ros.body.anny_model import AnnyBody
    from lihmr_ros.body.pose_sampler import AnnyPoseSampler

    body = AnnyBody()
    return body, AnnyPoseSampler(body, root_yaw_deg=(0.0, 0.0), root_tilt_deg=8.0)


@pytest.mark.parametrize("walk_probability", [0.0, 1.0])
def test_motion_is_smooth_and_travels_at_the_sampled_speed(body_and_sampler, walk_probability: float) -> None:
    body, pose_sampler = body_and_sampler
    settings = MotionSettings(frames=(40, 40), walk_probability=walk_probability, walk_speed_mps=(1.0, 1.2))
    sampler = MotionSampler(pose_sampler, settings)
    motion = sampler.sample(np.random.default_rng(4), 40, leg_length_m=0.85)
    assert motion.walking == (walk_probability == 1.0)
    assert motion.poses.shape == (40, 104, 4, 4)
    rotations = motion.poses[..., :3, :3].double()
    identity = np.broadcast_to(np.eye(3), rotations.shape)
    np.testing.assert_allclose((rotations @ rotations.transpose(-1, -2)).numpy(), identity, atol=1e-5)

    joints = body.forward(motion.poses, body.neutral_shape()).joints.numpy()
    relative = joints - joints[:, [11, 12]].mean(axis=1, keepdims=True)
    step = np.linalg.norm(np.diff(relative, axis=0), axis=-1)
    assert step.max() < 0.15  # 4.5 m/s relative to the hips: a swinging foot, not a jump between key poses
    assert np.abs(np.diff(motion.heading)).max() < np.radians(5.0)

    speed = np.linalg.norm(np.diff(motion.ground_position, axis=0), axis=1) * settings.fps
    np.testing.assert_allclose(motion.ground_position[20], 0.0, atol=1e-12)  # centred on the middle frame
    if motion.walking:
        assert 1.0 - 1e-6 <= speed.min() and speed.max() <= 1.2 + 1e-6
        # Walking people move the way they face.
        direction = np.diff(motion.ground_position, axis=0) / speed[:, None] * settings.fps
        alignment = np.sum(direction * facing_direction(motion.heading[1:]), axis=1)
        assert alignment.min() > 0.99
        # The legs swing: hip flexion alternates sign over the sequence.
        thigh = joints[:, 13, 2] - joints[:, 11, 2]
        assert thigh.max() > 0.05 and thigh.min() < -0.05
    else:
        assert speed.max() <= settings.drift_speed_mps[1] + 1e-6


def test_heading_rotation_turns_the_body_front() -> None:
    front = np.array([0.0, 0.0, -1.0])  # reference pose faces -z
    for heading in (0.0, 0.7, -2.0):
        turned = heading_rotation(np.array(heading)) @ front
        np.testing.assert_allclose(turned[[0, 2]], facing_direction(np.array(heading)), atol=1e-12)
        assert turned[1] == pytest.approx(0.0)


def test_intrinsics_match_the_field_of_view_and_projection() -> None:
    intrinsics = intrinsics_from_fov(640, 480, 90.0, np.array([2.0, -1.0]))
    assert intrinsics[0, 0] == pytest.approx(320.0)
    assert intrinsics[0, 2] == pytest.approx(321.5) and intrinsics[1, 2] == pytest.approx(238.5)
    edge = project(np.array([1.0, 0.0, 1.0]), intrinsics)  # 45 degrees right: the image's right edge
    assert edge[0] == pytest.approx(641.5)
    assert np.isnan(project(np.array([0.0, 0.0, -1.0]), intrinsics)).all()


def test_camera_placement_follows_the_settings() -> None:
    settings = CameraSettings(distance_m=(3.0, 3.0), height_m=(1.0, 1.0), tilt_jitter_deg=0.0, roll_deg=0.0,
                              aim_height=(0.5, 0.5), lateral_spread=0.0)
    placement = CameraSampler(settings).sample(np.random.default_rng(0), body_height_m=1.8)
    camera = placement.camera
    rotation = camera.world_to_camera
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(placement.path_offset, [0.0, 3.0], atol=1e-12)
    assert camera.position[1] == pytest.approx(-1.0)
    # Aimed at half the body height: that point projects onto the principal point's row and column.
    aim = camera.to_camera(np.array([0.0, -0.9, 3.0]))
    pixel = project(aim, camera.intrinsics)
    np.testing.assert_allclose(pixel, camera.intrinsics[:2, 2], atol=1e-9)
    assert settings.horizontal_fov_deg[0] - 1e-6 <= camera.horizontal_fov_deg <= settings.horizontal_fov_deg[1] + 1e-6
    np.testing.assert_allclose(look_rotation(0.0, 0.0), np.eye(3))
