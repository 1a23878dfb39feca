"""Metric placement of a root-relative body in the camera frame (lihmr_ros.geometry)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from lihmr_ros.geometry import CameraIntrinsics, PlacementConfig, PlacementError, place_root

CAMERA = CameraIntrinsics.from_matrix([615.0, 0.0, 322.5, 0.0, 610.0, 236.0, 0.0, 0.0, 1.0], 640, 480)

# A standing person, root-relative COCO-17 joints in camera axes (metres, y down, facing the camera).
STANDING = np.array(
    [
        [0.00, -0.62, -0.08], [-0.03, -0.66, -0.06], [0.03, -0.66, -0.06], [-0.07, -0.64, 0.0], [0.07, -0.64, 0.0],
        [-0.18, -0.45, 0.0], [0.18, -0.45, 0.0], [-0.22, -0.18, 0.02], [0.22, -0.18, 0.02], [-0.24, 0.06, -0.05],
        [0.24, 0.06, -0.05], [-0.10, 0.0, 0.0], [0.10, 0.0, 0.0], [-0.11, 0.42, -0.03], [0.11, 0.42, -0.03],
        [-0.12, 0.82, 0.02], [0.12, 0.82, 0.02],
    ]
)


def _keypoints(translation: np.ndarray, camera: CameraIntrinsics = CAMERA, confidence: float = 0.9) -> np.ndarray:
    uv = camera.project(STANDING + translation)
    return np.concatenate([uv, np.full((17, 1), confidence)], axis=1)


@pytest.mark.parametrize("translation", [(0.0, 0.0, 3.0), (0.8, -0.2, 2.2), (-1.5, 0.3, 7.5)])
def test_exact_keypoints_recover_the_translation_below_a_millimetre(translation: tuple[float, float, float]) -> None:
    truth = np.asarray(translation)
    placement = place_root(STANDING, _keypoints(truth), CAMERA)
    assert placement.method == "keypoints" and placement.root_is_metric
    assert np.linalg.norm(placement.translation - truth) < 1e-3
    assert placement.reprojection_rms_px < 1e-6
    assert placement.num_joints == 17


def test_noisy_keypoints_give_a_reasonable_translation() -> None:
    rng = np.random.default_rng(3)
    truth = np.array([0.4, 0.1, 4.0])
    errors = []
    for _ in range(50):
        keypoints = _keypoints(truth)
        keypoints[:, :2] += rng.normal(0.0, 2.0, (17, 2))
        errors.append(place_root(STANDING, keypoints, CAMERA).translation - truth)
    errors = np.abs(np.asarray(errors))
    # 2 px noise on a ~220 px tall person at 4 m: lateral error stays at centimetres, depth at about a decimetre.
    assert errors[:, :2].mean() < 0.02
    assert errors[:, 2].mean() < 0.12


def test_outlier_and_unconfident_keypoints_do_not_drag_the_body() -> None:
    truth = np.array([-0.3, 0.0, 3.5])
    keypoints = _keypoints(truth)
    keypoints[9, :2] += (120.0, -80.0)  # a confident but wrong wrist: the robust weights must absorb it
    keypoints[15, :2] = (0.0, 0.0)  # garbage with confidence below the threshold: ignored
    keypoints[15, 2] = 0.1
    placement = place_root(STANDING, keypoints, CAMERA)
    assert np.linalg.norm(placement.translation - truth) < 0.05
    assert placement.num_joints == 16

    least_squares = place_root(STANDING, keypoints, CAMERA, config=PlacementConfig(huber_fraction=1e6))
    assert np.linalg.norm(least_squares.translation - truth) > np.linalg.norm(placement.translation - truth)


def test_too_few_joints_fall_back_to_the_box_prior() -> None:
    truth = np.array([0.5, -0.1, 5.0])
    keypoints = _keypoints(truth)
    keypoints[3:, 2] = 0.0  # only nose and eyes seen
    uv = CAMERA.project(STANDING + truth)
    joint_box = np.concatenate([uv.min(axis=0), uv.max(axis=0)])
    placement = place_root(STANDING, keypoints, CAMERA, box=joint_box, config=PlacementConfig(box_to_joint_span=1.0))
    assert placement.method == "box_prior"
    assert placement.num_joints == 3
    # The box gives distance from size and direction from its centre: decimetres, not metres.
    assert np.linalg.norm(placement.translation - truth) < 0.3


def test_without_camera_info_the_assumed_camera_is_flagged_not_metric() -> None:
    assumed = CameraIntrinsics.assumed(640, 480)
    assert (assumed.fx, assumed.fy, assumed.cx, assumed.cy, assumed.is_assumed) == (640.0, 640.0, 319.5, 239.5, True)
    truth = np.array([0.2, 0.0, 3.0])
    placement = place_root(STANDING, _keypoints(truth, assumed), assumed)
    assert not placement.root_is_metric
    assert np.linalg.norm(placement.translation - truth) < 1e-3


def test_camera_info_messages_and_resizing() -> None:
    info = SimpleNamespace(k=[500.0, 0.0, 319.5, 0.0, 500.0, 239.5, 0.0, 0.0, 1.0], width=640, height=480)
    camera = CameraIntrinsics.from_camera_info(info)
    np.testing.assert_allclose(camera.matrix, np.asarray(info.k).reshape(3, 3))
    half = camera.resized(320, 240)
    assert (half.fx, half.cx, half.cy) == (250.0, 159.5, 119.5)  # the image centre stays the centre
    point = np.array([0.3, -0.2, 2.0])
    np.testing.assert_allclose((camera.project(point) + 0.5) / 2 - 0.5, half.project(point))


@pytest.mark.parametrize(
    ("k", "message_part"),
    [
        ([0.0] * 9, "uncalibrated"),
        ([500.0, 0, 320, 0, -1.0, 240, 0, 0, 1], "focal lengths must be positive"),
        ([500.0, 0, 320, 0, 500.0, 240], "9 values"),
        ([np.nan, 0, 320, 0, 500.0, 240, 0, 0, 1], "finite"),
    ],
)
def test_bad_intrinsics_are_rejected(k: list[float], message_part: str) -> None:
    with pytest.raises(ValueError, match=message_part):
        CameraIntrinsics.from_matrix(k, 640, 480)


def test_degenerate_placement_inputs_raise_clear_errors() -> None:
    keypoints = _keypoints(np.array([0.0, 0.0, 3.0]))
    with pytest.raises(PlacementError, match=r"joints must be \(17, 3\)"):
        place_root(STANDING[:5], keypoints, CAMERA)
    with pytest.raises(PlacementError, match=r"keypoints must be \(17, 3\)"):
        place_root(STANDING, keypoints[:, :2], CAMERA)
    nan_keypoints = keypoints.copy()
    nan_keypoints[0, 0] = np.nan
    with pytest.raises(PlacementError, match="NaN"):
        place_root(STANDING, nan_keypoints, CAMERA)
    unseen = keypoints.copy()
    unseen[:, 2] = 0.05
    with pytest.raises(PlacementError, match="only 0 keypoints .* pass the person's box"):
        place_root(STANDING, unseen, CAMERA)
    with pytest.raises(PlacementError, match="positive size"):
        place_root(STANDING, unseen, CAMERA, box=np.array([10.0, 10.0, 10.0, 50.0]))
    collapsed = keypoints.copy()
    collapsed[:, :2] = (300.0, 200.0)  # every keypoint on one pixel: nothing fixes the scale
    with pytest.raises(PlacementError):
        place_root(np.zeros((17, 3)), collapsed, CAMERA)


def test_a_fit_behind_the_camera_fails_or_falls_back_to_the_box() -> None:
    keypoints = _keypoints(np.array([0.0, 0.0, 3.0]))
    upside_down = STANDING * np.array([1.0, -1.0, 1.0])  # joints that contradict the keypoints
    with pytest.raises(PlacementError, match="behind or at the camera"):
        place_root(upside_down, keypoints, CAMERA)
    box = np.array([250.0, 60.0, 400.0, 420.0])
    placement = place_root(upside_down, keypoints, CAMERA, box=box)
    assert placement.method == "box_prior"
    assert placement.translation[2] > 0.0
