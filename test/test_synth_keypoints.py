"""Detector-like keypoint noise and its measurement (lihmr_ros.synth.keypoint_noise, noise_study)."""

from __future__ import annotations

import numpy as np
import pytest

from lihmr_ros.synth.config import KeypointNoiseSettings
from lihmr_ros.synth.keypoint_noise import corrupt_keypoints, person_scale
from lihmr_ros.synth.noise_study import FrameObservation, markdown_report, summarise


def _skeleton(height_px: float = 200.0) -> np.ndarray:
    joints = np.zeros((17, 2))
    joints[:, 0] = 300 + np.linspace(-0.15, 0.15, 17) * height_px
    joints[:, 1] = 100 + np.linspace(0.0, 1.0, 17) * height_px
    return joints


def test_person_scale_is_the_longer_side_of_the_joint_box() -> None:
    joints = _skeleton(200.0)
    assert person_scale(joints) == pytest.approx(200.0)
    joints[3] = np.nan
    assert person_scale(joints) == pytest.approx(200.0)
    assert person_scale(np.full((17, 2), np.nan)) == 0.0


def test_noise_scales_with_person_size_and_follows_the_settings() -> None:
    bias = [(0.0, 0.0)] * 17
    bias[13] = (0.01, -0.02)  # knees placed high, as BlazePose does
    settings = KeypointNoiseSettings(
        sigma=tuple([0.01] * 8 + [0.04] * 9), bias=tuple(bias), outlier_probability=0.0, dropout_probability=0.0,
        confidence_visible=tuple(np.linspace(0.85, 0.95, 11)), confidence_hidden=tuple(np.linspace(0.1, 0.3, 11)),
    )
    rng = np.random.default_rng(0)
    visible = np.ones(17, dtype=bool)
    visible[:4] = False
    in_frame = np.ones(17, dtype=bool)
    samples = []
    for height in (100.0, 400.0):
        joints = _skeleton(height)
        noisy = np.stack([corrupt_keypoints(joints, visible, in_frame, settings, rng) for _ in range(3000)])
        error = (noisy[..., :2] - joints) / height
        samples.append(noisy)
        np.testing.assert_allclose(error[:, :8].std(axis=(0, 2)), 0.01, rtol=0.08)
        np.testing.assert_allclose(error[:, 8:].std(axis=(0, 2)), 0.04, rtol=0.08)
        np.testing.assert_allclose(error[:, 13].mean(axis=0), [0.01, -0.02], atol=0.003)
        np.testing.assert_allclose(error[:, 12].mean(axis=0), [0.0, 0.0], atol=0.003)
    confidence = samples[0][..., 2]
    assert confidence[:, visible].mean() == pytest.approx(0.9, abs=0.005)
    assert confidence[:, visible].min() >= 0.85 and confidence[:, visible].max() <= 0.95
    assert confidence[:, ~visible].mean() == pytest.approx(0.2, abs=0.005)


def test_out_of_frame_and_dropped_joints_get_zero_confidence() -> None:
    settings = KeypointNoiseSettings(dropout_probability=0.5)
    rng = np.random.default_rng(1)
    in_frame = np.ones(17, dtype=bool)
    in_frame[15:] = False
    keypoints = np.stack(
        [corrupt_keypoints(_skeleton(), in_frame, in_frame, settings, rng) for _ in range(2000)]
    )
    assert np.all(keypoints[:, 15:, 2] == 0.0)
    assert np.mean(keypoints[:, :15, 2] == 0.0) == pytest.approx(0.5, abs=0.03)
    assert keypoints.dtype == np.float32 and keypoints.shape == (2000, 17, 3)


def test_noise_study_recovers_a_known_error_model() -> None:
    rng = np.random.default_rng(2)
    visible_quantiles = (0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.96, 0.98, 0.99, 1.0)
    truth = KeypointNoiseSettings(
        sigma=tuple(np.linspace(0.01, 0.05, 17)), bias=((0.004, -0.01),) * 17, outlier_probability=0.0,
        dropout_probability=0.0, confidence_visible=visible_quantiles, confidence_hidden=tuple(np.linspace(0, 0.6, 11)),
    )
    observations = []
    for index in range(1500):
        joints = _skeleton(float(rng.uniform(80, 400)))
        visible = rng.random(17) > 0.1
        in_frame = np.ones(17, dtype=bool)
        missed = index % 4 == 0  # one in four renders: the detector finds nobody
        detected = None if missed else corrupt_keypoints(joints, visible, in_frame, truth, rng)
        observations.append(FrameObservation(joints, visible, in_frame, detected, None if missed else "frame"))
    summary = summarise(observations, max_detection_error=0.3)
    assert summary["detection_rate"] == pytest.approx(0.75, abs=1e-9)
    fitted = summary["fitted_noise"]
    np.testing.assert_allclose(fitted["sigma"], truth.sigma, rtol=0.1)
    np.testing.assert_allclose(fitted["bias"], truth.bias, atol=0.003)
    np.testing.assert_allclose(fitted["confidence_visible"][1:-1], visible_quantiles[1:-1], atol=0.02)
    np.testing.assert_allclose(fitted["confidence_hidden"][1:-1], np.linspace(0, 0.6, 11)[1:-1], atol=0.03)
    assert fitted["outlier_probability"] < 0.01
    report = markdown_report(summary, "lihmr synth --measure-noise")
    assert "| left_ankle |" in report and "Detection rate: **0.750**: 0.750 on the whole frame" in report


def test_detections_far_from_the_person_are_counted_as_false() -> None:
    joints = _skeleton()
    wrong = np.concatenate([joints + 150.0, np.ones((17, 1))], axis=1)
    observation = FrameObservation(joints, np.ones(17, dtype=bool), np.ones(17, dtype=bool), wrong)
    summary = summarise([observation], max_detection_error=0.3)
    assert summary["rejected_as_false_detection"] == 1
    assert summary["per_joint"][0]["samples"] == 0
