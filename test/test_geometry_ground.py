"""The floor constraint: plane conventions, the contact scale's known answers, the per-track median."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lihmr_ros.geometry.ground import (
    ANKLES, BODY_EDGES, FloorContact, GroundPlane, GroundScaleConfig, GroundScaler, floor_contact,
    look_rotation, rotation_from_quaternion, skeleton_size,
)
from lihmr_ros.synth.camera import Camera

SEEN_ANKLES = np.zeros((17, 3))
SEEN_ANKLES[list(ANKLES), 2] = 0.9
HIDDEN_ANKLES = np.zeros((17, 3))
EXACT = GroundScaleConfig(pitch_uncertainty_deg=0.0, foot_uncertainty_m=0.0)
"""A perfectly known floor and perfect feet: the floor alone sets the scale."""


def standing_body(distance: float, camera_height: float, height: float = 1.7) -> tuple[np.ndarray, GroundPlane]:
    """A column of points from the floor up to ``height`` m, ``distance`` m in front of a level camera
    (every third point serves as one of the 17 joints: see :func:`joints_of`)."""
    plane = GroundPlane.from_camera_pose(camera_height, 0.0)
    heights = np.linspace(0.0, height, 50)
    # Level camera: y points down, so a point h above the floor sits at y = camera_height - h.
    points = np.stack([np.full(50, 0.2), camera_height - heights, np.full(50, distance)], axis=1)
    return points, plane


def joints_of(body: np.ndarray) -> np.ndarray:
    return body[::3][:17]


@pytest.mark.parametrize("pitch_deg, roll_deg", [(0.0, 0.0), (25.0, 0.0), (-10.0, 4.0), (60.0, -20.0)])
def test_the_camera_pose_convention_matches_the_synthetic_cameras(pitch_deg: float, roll_deg: float) -> None:
    camera = Camera(np.eye(3), 640, 480, look_rotation(np.radians(pitch_deg), np.radians(roll_deg)),
                    np.array([0.0, -1.3, 0.0]))
    expected = camera.ground_plane()
    plane = GroundPlane.from_camera_pose(1.3, pitch_deg, roll_deg)
    np.testing.assert_allclose(plane.normal, expected.normal, atol=1e-12)
    assert plane.camera_height == pytest.approx(1.3)
    # Points on the world floor (y = 0) have height 0, points 1 m above it have height 1.
    world = np.array([[0.5, 0.0, 4.0], [-2.0, 0.0, 7.0], [1.0, -1.0, 3.0]])
    np.testing.assert_allclose(plane.heights(camera.to_camera(world)), [0.0, 0.0, 1.0], atol=1e-12)


@pytest.mark.parametrize("pitch_deg, roll_deg", [(0.0, 0.0), (30.0, 5.0)])
def test_a_floor_frame_pose_as_tf_gives_it_is_the_same_floor(pitch_deg: float, roll_deg: float) -> None:
    camera = Camera(np.eye(3), 640, 480, look_rotation(np.radians(pitch_deg), np.radians(roll_deg)),
                    np.array([0.0, -1.3, 0.0]))
    # A base_footprint-like frame on the synthetic floor (world y down): x along world x, z up, y = z cross x.
    world_from_floor = np.stack([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]], axis=1)
    origin = np.array([0.4, 0.0, 2.0])  # anywhere on the floor
    plane = GroundPlane.from_floor_pose(camera.world_to_camera @ world_from_floor, camera.to_camera(origin))
    np.testing.assert_allclose(plane.normal, camera.ground_plane().normal, atol=1e-12)
    assert plane.camera_height == pytest.approx(1.3)
    with pytest.raises(ValueError, match="must be above it"):
        GroundPlane.from_floor_pose(camera.world_to_camera @ world_from_floor, camera.to_camera(origin - [0, 2, 0]))


def test_quaternions_in_ros_order_become_rotations() -> None:
    half = np.sqrt(0.5)
    np.testing.assert_allclose(rotation_from_quaternion(0.0, 0.0, half, half),
                               [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], atol=1e-12)
    rotation = rotation_from_quaternion(0.3, -0.2, 0.5, 2.0)  # not unit: normalised first
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not a rotation quaternion"):
        rotation_from_quaternion(0.0, 0.0, 0.0, 0.0)


def test_a_camera_pitched_down_sees_up_tilted_towards_itself() -> None:
    plane = GroundPlane.from_camera_pose(1.0, 90.0)  # looking straight down at the floor
    np.testing.assert_allclose(plane.normal, [0.0, 0.0, -1.0], atol=1e-12)
    assert plane.heights(np.array([0.0, 0.0, 1.0])) == pytest.approx(0.0)  # 1 m ahead is the floor


def test_contact_scale_restores_a_body_shrunk_towards_the_camera() -> None:
    body, plane = standing_body(distance=4.0, camera_height=1.2)
    for shrink in (0.5, 0.8, 1.25):
        assert floor_contact(body * shrink, plane).scale == pytest.approx(1.0 / shrink)
        np.testing.assert_allclose(floor_contact(body * shrink, plane).scale * body * shrink, body)


def test_scaling_about_the_camera_keeps_every_pixel() -> None:
    body, plane = standing_body(distance=3.0, camera_height=1.5)
    shrunk = body * 0.7
    scaled = floor_contact(shrunk, plane).scale * shrunk
    np.testing.assert_allclose(scaled[:, :2] / scaled[:, 2:], shrunk[:, :2] / shrunk[:, 2:], atol=1e-12)
    assert plane.heights(scaled).min() == pytest.approx(0.0, abs=1e-12)


def test_the_grazing_angle_is_that_of_the_ray_to_the_lowest_point() -> None:
    body, plane = standing_body(distance=4.0, camera_height=1.2)
    contact = floor_contact(body * 0.5, plane)
    # The lowest point is on the floor 4 m ahead (0.2 m to the side), 1.2 m below the level camera.
    assert contact.grazing_angle == pytest.approx(np.arcsin(1.2 / np.linalg.norm([0.2, 1.2, 4.0])))


def test_the_floor_and_the_network_are_weighed_by_their_uncertainties() -> None:
    at_45_degrees = FloorContact(scale=1.44, grazing_angle=np.pi / 4)
    # The pitch term equals the network's variance here (0.08 rad at tan 45 deg = 1): half and half in log space.
    even = GroundScaleConfig(pitch_uncertainty_deg=float(np.degrees(0.08)), foot_uncertainty_m=0.0)
    assert even.floor_weight(at_45_degrees, camera_height=1.2) == pytest.approx(0.5)
    # Feet known to 0.096 m with the camera 1.2 m up cost the same variance as that pitch uncertainty.
    feet = GroundScaleConfig(pitch_uncertainty_deg=0.0, foot_uncertainty_m=0.096)
    assert feet.floor_weight(at_45_degrees, camera_height=1.2) == pytest.approx(0.5)
    assert EXACT.floor_weight(at_45_degrees, camera_height=1.2) == 1.0
    # A grazing ray makes the same pitch uncertainty weigh far more: the network keeps most of the say.
    grazing = FloorContact(scale=1.44, grazing_angle=np.radians(8.0))
    assert GroundScaleConfig().floor_weight(grazing, 1.2) < GroundScaleConfig().floor_weight(at_45_degrees, 1.2) < 1.0
    body, plane = standing_body(distance=1.2, camera_height=1.2)  # the feet about 45 degrees below the camera
    scaler = GroundScaler(dataclasses.replace(even, history=1))
    shrink = 1.0 / 1.44
    # sqrt(1.44) = 1.2: the body ends about halfway (in log scale) between the network's size and the floor's.
    assert scaler.update(1, plane, body * shrink, joints_of(body) * shrink, SEEN_ANKLES) == pytest.approx(1.2, rel=0.02)


def test_a_body_entirely_above_the_camera_has_no_floor_contact() -> None:
    body, plane = standing_body(distance=3.0, camera_height=1.0)
    above = body[plane.heights(body) > 1.05]
    assert floor_contact(above, plane) is None


def test_skeleton_size_sums_the_limb_and_torso_edges() -> None:
    joints = np.zeros((17, 3))
    joints[:, 0] = np.arange(17)  # joints on a line, 1 m apart by index
    assert skeleton_size(joints) == pytest.approx(sum(abs(a - b) for a, b in BODY_EDGES))
    assert skeleton_size(2.0 * joints) == pytest.approx(2.0 * skeleton_size(joints))


def test_the_scaler_keeps_each_person_at_one_size_whatever_the_network_guesses() -> None:
    body, plane = standing_body(distance=4.0, camera_height=1.2)
    scaler = GroundScaler(dataclasses.replace(EXACT, history=3))
    # The network guesses this person 0.8x, 0.65x, 1.1x their size: each frame is restored to the true one.
    for guess in (0.8, 0.65, 1.1):
        assert scaler.update(1, plane, body * guess, joints_of(body) * guess, SEEN_ANKLES) == pytest.approx(1.0 / guess)


def test_one_frame_off_the_floor_does_not_move_the_median_of_the_last_frames() -> None:
    body, plane = standing_body(distance=4.0, camera_height=1.2)
    jumped = body + 0.3 * plane.normal  # 30 cm in the air: its own floor contact would shrink it
    scaler = GroundScaler(dataclasses.replace(EXACT, history=3))
    assert scaler.update(1, plane, body, joints_of(body), SEEN_ANKLES) == pytest.approx(1.0)
    assert scaler.update(1, plane, body, joints_of(body), SEEN_ANKLES) == pytest.approx(1.0)
    assert scaler.update(1, plane, jumped, joints_of(jumped), SEEN_ANKLES) == pytest.approx(1.0)
    # The history holds the last three frames: two more such frames take over.
    scaler.update(1, plane, jumped, joints_of(jumped), SEEN_ANKLES)
    held = scaler.update(1, plane, jumped, joints_of(jumped), SEEN_ANKLES)
    assert held == pytest.approx(floor_contact(jumped, plane).scale)
    # Tracks are independent, and a discarded track starts again with no estimate.
    assert scaler.update(2, plane, body * 0.8, joints_of(body) * 0.8, SEEN_ANKLES) == pytest.approx(1.25)
    scaler.discard([1])
    assert scaler.update(1, plane, body * 0.8, joints_of(body) * 0.8, HIDDEN_ANKLES) is None


def test_frames_without_a_seen_ankle_do_not_count() -> None:
    body, plane = standing_body(distance=4.0, camera_height=1.2)
    jumped = body + 0.3 * plane.normal
    scaler = GroundScaler(EXACT)
    assert scaler.update(7, plane, body * 0.8, joints_of(body) * 0.8, HIDDEN_ANKLES) is None
    assert scaler.update(7, plane, body * 0.8, joints_of(body) * 0.8, SEEN_ANKLES) == pytest.approx(1.25)
    # Unseen feet: the frame is scaled by the track's size but adds nothing to it.
    for _ in range(5):
        assert scaler.update(7, plane, jumped, joints_of(jumped), HIDDEN_ANKLES) == pytest.approx(1.0)


def test_estimates_are_clamped_and_low_cameras_are_ignored() -> None:
    body, plane = standing_body(distance=4.0, camera_height=1.2)
    config = dataclasses.replace(EXACT, min_scale=0.8, max_scale=1.2)
    assert GroundScaler(config).update(1, plane, body * 0.5, joints_of(body) * 0.5, SEEN_ANKLES) == pytest.approx(1.2)
    assert GroundScaler(config).update(1, plane, body * 2.0, joints_of(body) * 2.0, SEEN_ANKLES) == pytest.approx(0.8)
    low_body, low_plane = standing_body(distance=4.0, camera_height=0.3)
    low = GroundScaler(GroundScaleConfig(min_camera_height=0.5))
    assert not low.usable(low_plane) and low.usable(plane)
    assert low.update(1, low_plane, low_body * 0.8, joints_of(low_body) * 0.8, SEEN_ANKLES) is None


def test_scales_held_at_the_clamp_are_flagged() -> None:
    config = GroundScaleConfig(min_scale=0.6, max_scale=1.6)
    assert config.at_limit(0.6) and config.at_limit(1.6) and config.at_limit(1.599) and config.at_limit(0.603)
    assert not config.at_limit(0.62) and not config.at_limit(1.0) and not config.at_limit(1.57)
    assert not config.at_limit(0.0), "0 means the floor was not used"
    assert config.count_floor_sized([0.0, 1.1, 1.6, 0.6, 0.0]) == (3, 2)
    assert config.count_floor_sized([]) == (0, 0) and config.count_floor_sized([0.0]) == (0, 0)


@pytest.mark.parametrize(
    "normal, height, message",
    [([0.0, -2.0, 0.0], 1.0, "unit vector"), ([0.0, np.nan, 0.0], 1.0, "finite"), ([0.0, -1.0], 1.0, "3 finite"),
     ([0.0, -1.0, 0.0], 0.0, "positive"), ([0.0, -1.0, 0.0], np.inf, "positive")],
)
def test_impossible_planes_are_refused(normal: list[float], height: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GroundPlane(np.asarray(normal), height)


def test_the_json_form_round_trips_and_refuses_other_shapes() -> None:
    plane = GroundPlane.from_camera_pose(1.1, 12.0, -3.0)
    again = GroundPlane.from_json(plane.to_json())
    np.testing.assert_allclose(again.normal, plane.normal)
    assert again.camera_height == plane.camera_height
    for bad in ([0.0, -1.0, 0.0], {"normal": [0.0, -1.0, 0.0]}, {"normal": [0, -1, 0], "height": 1.0}):
        with pytest.raises(ValueError, match="ground"):
            GroundPlane.from_json(bad)


@pytest.mark.parametrize(
    "settings, message",
    [({"history": 0}, "history"), ({"min_scale": 1.2}, "min_scale"), ({"max_scale": 0.9}, "max_scale"),
     ({"pitch_uncertainty_deg": -1.0}, "pitch_uncertainty_deg"), ({"network_size_uncertainty": 0.0}, "network"),
     ({"min_ankle_confidence": 1.5}, "min_ankle_confidence"), ({"min_camera_height": -1.0}, "min_camera_height")],
)
def test_scale_settings_are_checked(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GroundScaleConfig(**settings)
