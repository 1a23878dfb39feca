"""Detector-like keypoint noise and its measurement (lihmr_ros.synth.keypoint_noise, noise_study, noise_structure)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lihmr_ros.synth.config import KeypointNoiseSettings
from lihmr_ros.synth.keypoint_noise import KeypointNoiseProcess, person_scale
from lihmr_ros.synth.noise_structure import SequenceErrors, fit_time_structure, lag_correlations
from lihmr_ros.synth.noise_structure import markdown_report as structure_report
from lihmr_ros.synth.noise_structure import summarise as structure_summary
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
        process = KeypointNoiseProcess(settings, sequence_seed=int(height))
        noisy = np.stack([process.corrupt(frame, joints, visible, in_frame, rng) for frame in range(3000)])
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
    process = KeypointNoiseProcess(settings, sequence_seed=1)
    keypoints = np.stack([process.corrupt(frame, _skeleton(), in_frame, in_frame, rng) for frame in range(2000)])
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
    process = KeypointNoiseProcess(truth, sequence_seed=2)
    for index in range(1500):
        joints = _skeleton(float(rng.uniform(80, 400)))
        visible = rng.random(17) > 0.1
        in_frame = np.ones(17, dtype=bool)
        missed = index % 4 == 0  # one in four renders: the detector finds nobody
        detected = None if missed else process.corrupt(index, joints, visible, in_frame, rng)
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


def _structured_truth() -> KeypointNoiseSettings:
    hidden_sigma = [0.02] * 11 + [0.1] * 6
    hidden_bias = [(0.0, 0.0)] * 11 + [(0.0, -0.1)] * 6
    return KeypointNoiseSettings(
        sigma=(0.02,) * 17, bias=((0.0, 0.0),) * 17, outlier_probability=0.05, outlier_sigma=0.3,
        dropout_probability=0.0, sequence_share=0.3, temporal_share=0.5, temporal_correlation=0.9,
        outlier_persistence=0.6, hidden_sigma=tuple(hidden_sigma), hidden_bias=tuple(hidden_bias),
    )


def test_structure_study_recovers_a_known_structured_model() -> None:
    """Sequences drawn from a known structured model: the study fits back its shares, drift, outliers and guesses."""
    truth = _structured_truth()
    rng = np.random.default_rng(3)
    sequences = []
    for index in range(160):
        process = KeypointNoiseProcess(truth, sequence_seed=index)
        joints = _skeleton(float(rng.uniform(100, 400)))
        in_frame = np.ones(17, dtype=bool)
        visible = in_frame.copy()
        if index % 3 == 0:
            visible[11:] = False  # legs behind a box for the whole sequence
        frames = [process.corrupt(frame, joints, visible, in_frame, rng) for frame in range(48)]
        error = (np.stack(frames)[..., :2] - joints) / person_scale(joints)
        confidence = np.stack(frames)[..., 2]
        sequences.append(
            SequenceErrors(error, np.tile(visible, (48, 1)), np.tile(in_frame & ~visible, (48, 1)), confidence)
        )
    fitted = structure_summary(sequences)["fitted_noise"]
    assert fitted["sequence_share"] == pytest.approx(0.3, abs=0.08)
    assert fitted["temporal_share"] == pytest.approx(0.5, abs=0.1)
    assert fitted["temporal_correlation"] == pytest.approx(0.9, abs=0.04)
    assert fitted["outlier_probability"] == pytest.approx(0.05, abs=0.01)
    assert fitted["outlier_persistence"] == pytest.approx(0.6, abs=0.06)
    np.testing.assert_allclose(fitted["sigma"], 0.02, rtol=0.12)
    np.testing.assert_allclose(fitted["hidden_sigma"][11:], 0.1, rtol=0.15)
    # Each sequence's offset moves a joint's mean over only ~50 occluded sequences: the legs together are tighter.
    assert np.mean(np.array(fitted["hidden_bias"])[11:, 1]) == pytest.approx(-0.1, abs=0.015)
    # No head joint is ever occluded here: they take the pooled scale of the occluded legs.
    np.testing.assert_allclose(fitted["hidden_sigma"][:11], 0.1, rtol=0.15)
    assert "| 16 |" in structure_report(structure_summary(sequences), "lihmr synth --measure-noise --from-data x")


def test_independent_frames_fit_no_structure() -> None:
    correlation, counts = lag_correlations([np.random.default_rng(4).normal(size=(400, 17, 2)) for _ in range(4)])
    assert np.all(np.abs(correlation) < 0.03) and counts[0] == 4 * 399 * 34
    assert fit_time_structure(np.zeros(16), np.full(16, 1000))[:2] == (0.0, 0.0)


def test_structure_leaves_the_generators_random_stream_alone() -> None:
    """The offset, the drift and the occluded joints' model change keypoints only: renders drawing after them
    see the same stream (outlier settings decide how many displacements are drawn, so they are kept here)."""
    joints = _skeleton()
    in_frame = np.ones(17, dtype=bool)
    visible = in_frame.copy()
    visible[15:] = False
    plain = dataclasses.replace(
        _structured_truth(), sequence_share=0.0, temporal_share=0.0, hidden_sigma=None, hidden_bias=None
    )
    streams, keypoints = [], []
    for settings in (plain, _structured_truth()):
        rng = np.random.default_rng(5)
        process = KeypointNoiseProcess(settings, sequence_seed=9)
        keypoints.append(np.stack([process.corrupt(frame, joints, visible, in_frame, rng) for frame in range(200)]))
        streams.append(rng.random(4))
    np.testing.assert_array_equal(streams[0], streams[1])
    assert not np.allclose(keypoints[0], keypoints[1])


def test_structured_errors_persist_over_frames_and_skipped_frames_loosen_them() -> None:
    settings = dataclasses.replace(_structured_truth(), outlier_probability=0.0, outlier_persistence=None)
    joints = _skeleton(100.0)
    every = np.ones(17, dtype=bool)
    pairs: dict[int, list[np.ndarray]] = {1: [], 20: []}
    for index in range(300):
        for gap in pairs:
            process = KeypointNoiseProcess(settings, sequence_seed=index)
            rng = np.random.default_rng(index)
            first = process.corrupt(0, joints, every, every, rng)
            second = process.corrupt(gap, joints, every, every, rng)
            pairs[gap].append(np.stack([first[:, 0], second[:, 0]]) - joints[:, 0])
    near, far = (np.corrcoef(np.concatenate(pairs[gap], axis=1))[0, 1] for gap in (1, 20))
    assert near == pytest.approx(0.3 + 0.5 * 0.9, abs=0.05)
    assert far == pytest.approx(0.3 + 0.5 * 0.9**20, abs=0.05)
    with pytest.raises(ValueError, match="time order"):
        process.corrupt(1, joints, every, every, rng)
