"""Evaluation metrics against answers known in closed form (lihmr_ros.evaluation.metrics)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from lihmr_ros.evaluation.metrics import MetricAccumulator, acceleration_errors_mm, procrustes_aligned

LEFT_HIP, RIGHT_HIP = 11, 12


def random_joints(frames: int, seed: int = 0) -> np.ndarray:
    """(F, 17, 3) body-sized random joints in front of a camera."""
    rng = np.random.default_rng(seed)
    return rng.normal(scale=0.4, size=(frames, 17, 3)) + np.array([0.0, 0.0, 3.0])


def summary_of(predicted: np.ndarray, target: np.ndarray, detected: np.ndarray | None = None, **vertices) -> dict:
    accumulator = MetricAccumulator()
    detected = np.ones(len(target), dtype=bool) if detected is None else detected
    accumulator.add_sequence(predicted, target, detected, **vertices)
    return accumulator.summary()


def test_procrustes_removes_rotation_scale_and_translation() -> None:
    target = random_joints(4)
    rotation = Rotation.from_euler("xyz", [30, -50, 120], degrees=True).as_matrix()
    moved = 1.7 * target @ rotation.T + np.array([0.3, -2.0, 5.0])
    np.testing.assert_allclose(procrustes_aligned(moved, target), target, atol=1e-9)
    result = summary_of(moved, target)
    assert result["pa_mpjpe"] == pytest.approx(0.0, abs=1e-6)
    assert result["mpjpe"] > 100.0  # rotated and scaled: the non-aligned error sees it


def test_orientation_and_size_errors_of_a_known_rotation_and_scale() -> None:
    target = random_joints(10, seed=4)
    angles = np.arange(1, 11) * 10.0  # frame f turned by 10 (f + 1) degrees about a tilted axis
    axis = np.array([0.3, 1.0, -0.2]) / np.linalg.norm([0.3, 1.0, -0.2])
    rotations = Rotation.from_rotvec(np.radians(angles)[:, None] * axis).as_matrix()
    predicted = 1.25 * np.einsum("fij,fnj->fni", rotations, target)  # and a quarter too big
    result = summary_of(predicted, target)
    assert result["orientation_deg"] == pytest.approx(np.median(angles), abs=1e-6)
    assert result["orientation_deg_p90"] == pytest.approx(np.percentile(angles, 90), abs=1e-6)
    assert result["size_error"] == pytest.approx(0.25, abs=1e-9)
    assert result["size_ratio_median"] == pytest.approx(1.25, abs=1e-9)
    assert result["pa_mpjpe"] == pytest.approx(0.0, abs=1e-6)


def test_size_ratio_keeps_the_sign_that_the_size_error_drops() -> None:
    target = random_joints(3, seed=5)
    too_small = summary_of(0.8 * target, target)
    too_big = summary_of(1.2 * target, target)
    assert too_small["size_error"] == pytest.approx(too_big["size_error"], abs=1e-9)
    assert too_small["size_ratio_median"] == pytest.approx(0.8, abs=1e-9)
    assert too_big["size_ratio_median"] == pytest.approx(1.2, abs=1e-9)


def test_a_perfect_prediction_has_no_orientation_or_size_error() -> None:
    target = random_joints(3, seed=6)
    result = summary_of(target + np.array([0.1, 0.0, 0.4]), target)
    assert result["orientation_deg"] == pytest.approx(0.0, abs=1e-4)
    assert result["size_error"] == pytest.approx(0.0, abs=1e-9)


def test_procrustes_does_not_use_a_reflection() -> None:
    target = random_joints(1, seed=3)
    mirrored = target * np.array([-1.0, 1.0, 1.0])
    assert summary_of(mirrored, target)["pa_mpjpe"] > 10.0


def test_mpjpe_of_a_known_offset() -> None:
    target = random_joints(3)
    predicted = target.copy()
    predicted[:, 0] += np.array([0.0, 0.017, 0.0])  # the nose 17 mm off: 1 mm over 17 joints
    assert summary_of(predicted, target)["mpjpe"] == pytest.approx(1.0, abs=1e-6)


def test_mpjpe_ignores_a_global_translation_which_the_root_error_measures() -> None:
    target = random_joints(3)
    result = summary_of(target + np.array([0.3, 0.0, -0.4]), target)
    assert result["mpjpe"] == pytest.approx(0.0, abs=1e-9)
    assert result["root_error"] == pytest.approx(500.0)  # a (0.3, 0, -0.4) m offset is 0.5 m away


def test_mpve_aligns_vertices_by_the_joints_mid_hip() -> None:
    target = random_joints(2)
    vertices = random_joints(2, seed=5)
    shift = np.array([0.0, 0.0, 0.01])  # predicted body 10 mm further away: cancels with its own mid-hip
    offset_vertices = vertices + shift + np.array([0.002, 0.0, 0.0])  # 2 mm of real vertex error
    result = summary_of(target + shift, target, predicted_vertices=offset_vertices, target_vertices=vertices)
    assert result["mpve"] == pytest.approx(2.0, abs=1e-6)
    assert result["pa_mpve"] == pytest.approx(0.0, abs=1e-6)


def test_acceleration_of_constant_velocity_motion_is_zero_and_a_known_acceleration_is_found() -> None:
    frames = 10
    base = random_joints(1)[0]
    velocity = np.random.default_rng(1).normal(scale=0.01, size=(17, 3))
    velocity[[LEFT_HIP, RIGHT_HIP]] = 0.0
    time = np.arange(frames)[:, None, None]
    target = np.repeat(base[None], frames, axis=0)
    linear = target + time * velocity
    assert summary_of(linear, target)["accel"] == pytest.approx(0.0, abs=1e-9)
    accelerating = target.copy()
    accelerating[:, 0, 1] += 0.5 * 0.004 * time[:, 0, 0] ** 2  # nose: 4 mm/frame^2
    assert summary_of(accelerating, target)["accel"] == pytest.approx(4.0 / 17.0, abs=1e-9)


def test_acceleration_only_over_consecutive_usable_frames() -> None:
    usable = np.array([True, True, False, True, True, True])
    target = random_joints(6)
    errors = acceleration_errors_mm(target, target, usable)
    assert errors.shape == (1,)  # only the triple (3, 4, 5) is consecutive


def test_nan_frames_are_skipped_and_detection_fraction_counts_visible_frames() -> None:
    target = random_joints(7)
    target[1] = np.nan  # person not visible
    predicted = target.copy()
    predicted[3] = 1e6  # garbage on a frame the pipeline missed: must not count
    detected = np.array([True, True, True, False, True, True, True])
    result = summary_of(predicted, target, detected)
    assert result["frames"] == 6
    assert result["detected_fraction"] == pytest.approx(5 / 6)
    assert result["mpjpe"] == pytest.approx(0.0, abs=1e-9)
    assert result["accel"] == pytest.approx(0.0, abs=1e-9)  # from the one usable triple (4, 5, 6)


def test_no_detection_gives_undefined_metrics() -> None:
    target = random_joints(3)
    result = summary_of(np.full_like(target, np.nan), target, np.zeros(3, dtype=bool))
    assert np.isnan(result["mpjpe"]) and result["detected_fraction"] == 0.0 and result["frames"] == 3


def test_nan_prediction_on_a_detected_frame_is_an_error() -> None:
    target = random_joints(2)
    predicted = target.copy()
    predicted[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        summary_of(predicted, target)


def test_mpve_breakdown_puts_a_heading_error_and_a_size_error_where_they_belong() -> None:
    from lihmr_ros.evaluation.mpve_breakdown import breakdown_sequence, summarise

    rng = np.random.default_rng(7)
    joints = rng.normal(0.0, 0.3, size=(4, 17, 3))
    joints[:, [5, 6], 1] -= 0.5  # shoulders above the hips (y down)
    joints[:, [11, 12], 1] += 0.4
    vertices = rng.normal(0.0, 0.4, size=(4, 50, 3))
    up = joints[:, [5, 6]].mean(axis=1) - joints[:, [11, 12]].mean(axis=1)
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    heading = Rotation.from_rotvec(np.radians(25.0) * up).as_matrix()  # turned about the body's own up axis
    centre = 0.5 * (joints[:, 11] + joints[:, 12])[:, None]  # the mid-hip, where MPVE aligns the bodies

    def turned(points: np.ndarray) -> np.ndarray:
        return 1.1 * np.einsum("fij,fnj->fni", heading, points - centre) + centre

    result = breakdown_sequence(turned(vertices), turned(joints), vertices, joints)
    mpve = {name: errors.mean() for name, errors in result.mpve.items()}
    offsets = vertices - centre
    only_size = np.linalg.norm(0.1 * offsets, axis=2).mean()
    only_heading = np.linalg.norm(np.einsum("fij,fnj->fni", heading, offsets) - offsets, axis=2).mean()
    assert mpve["heading"] == pytest.approx(only_size)  # the heading undone, the size error is left
    assert mpve["scale"] == pytest.approx(only_heading)
    assert mpve["rotation"] == pytest.approx(only_size)
    assert mpve["tilt"] == pytest.approx(mpve["none"])  # no lean to undo
    assert mpve["rotation_and_scale"] < 1e-9
    np.testing.assert_allclose(result.log_size_ratio, np.log(1.1), atol=1e-9)
    summary = summarise([result])
    assert summary["log_size_bias"] == pytest.approx(np.log(1.1)) and summary["log_size_noise"] < 1e-9
