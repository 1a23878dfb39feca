"""Fit the whole keypoint noise model, its structure over time included, to BlazePose on a data set.

:mod:`lihmr_ros.synth.noise_study` runs BlazePose on every few renders and
so sees each frame alone.  A data set made with ``keypoints.source:
mediapipe`` already holds, for every frame where BlazePose found the person,
its keypoints beside the projected ground truth, frame after frame: tens of
thousands of frames at no rendering cost, and consecutive ones, which is
what measuring how errors persist needs.  ``lihmr synth --measure-noise
--from-data DIR`` runs this module and writes reports whose ``fitted_noise``
is a complete ``keypoints.noise`` section (``config/synth.yaml``).

Errors are in person sizes (:func:`lihmr_ros.synth.keypoint_noise.person_scale`)
and the model is that of :class:`lihmr_ros.synth.keypoint_noise.KeypointNoiseProcess`:

* per joint, a bias and a robust Gaussian scale for visible joints, and for
  joints in frame but occluded (which BlazePose guesses) their own;
* outliers: visible joints farther than 5 scales from their bias; their rate,
  their displacement's scale and the chance that one lasts to the next frame;
* over time: the correlation of a joint's standardised inlier error between
  frames ``k`` apart, pooled over joints and sequences for ``k = 1..16``, fitted
  as ``sequence_share + temporal_share * rho**k`` (a constant per-sequence
  part, an autoregressive drift, and white noise for the rest);
* confidences of visible and of occluded / out-of-frame joints as quantiles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lihmr_ros.body.coco import COCO17_NAMES
from lihmr_ros.synth.generator import KEYPOINTS_MEDIAPIPE
from lihmr_ros.synth.keypoint_noise import joints_in_frame, person_scale
from lihmr_ros.synth.noise_study import (
    DROPOUT_CONFIDENCE,
    OUTLIER_SCALES,
    confidence_quantiles,
    joint_bias_and_scale,
    write_report_pair,
)

MAX_LAG = 16
"""Largest frame distance whose error correlation is measured (sequences hold about 50 frames)."""
_MIN_HIDDEN_SAMPLES = 50
"""A joint seen occluded fewer times than this takes the pooled occluded-joint scale and bias."""
_RHO_GRID = np.linspace(0.0, 0.99, 100)


@dataclass(frozen=True)
class SequenceErrors:
    """BlazePose against the projected ground truth over one sequence's frames."""

    error: np.ndarray
    """(F, 17, 2) error in person sizes; NaN on frames without BlazePose keypoints and on joints out of frame."""
    visible: np.ndarray
    """(F, 17) bool: in frame and not occluded."""
    hidden: np.ndarray
    """(F, 17) bool: in frame but occluded."""
    confidence: np.ndarray
    """(F, 17) BlazePose's confidence, NaN on frames without BlazePose keypoints."""


def read_errors(directory: Path) -> list[SequenceErrors]:
    """Every sequence of a ``lihmr synth`` data set, as BlazePose errors (only frames where it found the person)."""
    from lihmr_ros.synth.dataset import SynthDataset

    dataset = SynthDataset(Path(directory))
    sequences = []
    for record in dataset.sequences():
        arrays = record.arrays
        truth = arrays["joints_2d"].astype(np.float64)
        in_frame = joints_in_frame(truth, *(float(v) for v in record.image_size))
        found = arrays["keypoint_source"] == KEYPOINTS_MEDIAPIPE
        error = np.full(truth.shape, np.nan)
        confidence = np.full(truth.shape[:2], np.nan)
        for frame in np.flatnonzero(found):
            error[frame] = (arrays["keypoints_px"][frame, :, :2] - truth[frame]) / person_scale(truth[frame])
            confidence[frame] = arrays["keypoints_px"][frame, :, 2]
        error[~in_frame] = np.nan
        visible = arrays["visibility"].astype(bool) & in_frame
        sequences.append(SequenceErrors(error, visible, in_frame & ~visible, confidence))
    if not any(np.isfinite(s.confidence).any() for s in sequences):
        raise ValueError(
            f"{directory} has no frame with BlazePose keypoints: make it with keypoints.source: mediapipe"
        )
    return sequences


def lag_correlations(standardised: list[np.ndarray], max_lag: int = MAX_LAG) -> tuple[np.ndarray, np.ndarray]:
    """Pooled correlation of standardised errors ``k`` frames apart, ``k = 1..max_lag``, and the pair counts.

    ``standardised`` holds one (F, 17, 2) array per sequence, NaN where a joint
    has no usable error; errors are already centred (bias removed), so the
    correlation is ``mean(a * b) / mean(a**2)`` over all pairs at that lag.
    """
    products = np.zeros(max_lag + 1)
    counts = np.zeros(max_lag + 1, dtype=np.int64)
    for values in standardised:
        for lag in range(0, min(max_lag, values.shape[0] - 1) + 1):
            pair = values[lag:] * values[: values.shape[0] - lag]
            finite = np.isfinite(pair)
            products[lag] += pair[finite].sum()
            counts[lag] += int(finite.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        covariance = products / counts
    return covariance[1:] / covariance[0], counts[1:]


def fit_time_structure(correlation: np.ndarray, counts: np.ndarray) -> tuple[float, float, float]:
    """``correlation[k-1] ~ s + t * rho**k`` -> (s, t, rho) with s, t >= 0 and s + t <= 1.

    A grid over ``rho`` with non-negative least squares for (s, t) at each,
    weighted by the number of pairs behind each lag.
    """
    lags = np.arange(1, correlation.size + 1, dtype=np.float64)
    usable = np.isfinite(correlation) & (counts > 0)
    weights = np.sqrt(counts[usable].astype(np.float64))
    best: tuple[float, float, float, float] | None = None
    for rho in _RHO_GRID:
        design = np.stack([np.ones(usable.sum()), rho ** lags[usable]], axis=1) * weights[:, None]
        target = correlation[usable] * weights
        for columns in ((0, 1), (0,), (1,)):
            coefficients = np.zeros(2)
            solution, *_ = np.linalg.lstsq(design[:, columns], target, rcond=None)
            coefficients[list(columns)] = solution
            if np.any(coefficients < 0) or coefficients.sum() > 1:
                continue
            residual = float(np.sum((design @ coefficients - target) ** 2))
            if best is None or residual < best[0]:
                best = (residual, float(coefficients[0]), float(coefficients[1]), float(rho))
    if best is None:
        return 0.0, 0.0, 0.0
    return best[1], best[2], best[3]


def summarise(sequences: list[SequenceErrors]) -> dict[str, Any]:
    """The fitted ``keypoints.noise`` section and the measurements behind it (see the module docstring)."""
    errors = np.concatenate([s.error for s in sequences])
    visible = np.concatenate([s.visible for s in sequences]) & np.all(np.isfinite(errors), axis=-1)
    hidden = np.concatenate([s.hidden for s in sequences]) & np.all(np.isfinite(errors), axis=-1)
    confidence = np.concatenate([s.confidence for s in sequences])
    found = np.isfinite(confidence[:, 0])

    if not visible.any():
        raise ValueError("no visible joint with a BlazePose keypoint to measure")
    biases, sigmas = np.zeros((17, 2)), np.zeros(17)
    pooled_bias, pooled_sigma = joint_bias_and_scale(errors[visible])
    for joint in range(17):
        biases[joint], sigmas[joint] = joint_bias_and_scale(errors[visible[:, joint], joint])
        if not np.isfinite(sigmas[joint]):  # never seen (only in tiny data sets): all visible joints pooled
            biases[joint], sigmas[joint] = pooled_bias, pooled_sigma
    pooled_hidden_bias, pooled_hidden_sigma = joint_bias_and_scale(errors[hidden])
    hidden_biases, hidden_sigmas = np.zeros((17, 2)), np.zeros(17)
    hidden_counts = hidden.sum(axis=0)
    for joint in range(17):
        if hidden_counts[joint] >= _MIN_HIDDEN_SAMPLES:
            hidden_biases[joint], hidden_sigmas[joint] = joint_bias_and_scale(errors[hidden[:, joint], joint])
        else:
            hidden_biases[joint], hidden_sigmas[joint] = pooled_hidden_bias, pooled_hidden_sigma
    occluded_measured = bool(hidden.any())

    standardised, outlier_flags = [], []
    for sequence in sequences:
        centred = (sequence.error - biases) / sigmas[:, None]
        usable = sequence.visible & np.all(np.isfinite(centred), axis=-1)
        outlier = usable & np.any(np.abs(centred) > OUTLIER_SCALES, axis=-1)
        inlier = np.where((usable & ~outlier)[..., None], centred, np.nan)
        standardised.append(inlier)
        outlier_flags.append(np.where(usable, outlier.astype(np.float64), np.nan))
    correlation, pairs = lag_correlations(standardised)
    sequence_share, temporal_share, temporal_correlation = fit_time_structure(correlation, pairs)

    stays, continues = 0, 0
    for flags in outlier_flags:
        now, following = flags[:-1], flags[1:]
        ongoing = (now == 1.0) & np.isfinite(following)
        stays += int(np.sum(following[ongoing] == 1.0))
        continues += int(ongoing.sum())
    flags_all = np.concatenate(outlier_flags)
    outlier_rate = float(np.nanmean(flags_all))
    outlier_mask = np.concatenate([f == 1.0 for f in outlier_flags])
    outlier_components = (errors - biases)[outlier_mask]
    visible_confidence = confidence[visible]
    hidden_confidence = confidence[found[:, None] & ~visible]

    per_joint = [
        {"joint": name, "visible_samples": int(visible[:, j].sum()), "sigma": float(sigmas[j]),
         "bias": [float(b) for b in biases[j]], "hidden_samples": int(hidden_counts[j]),
         "hidden_sigma": float(hidden_sigmas[j]) if occluded_measured else None,
         "hidden_bias": [float(b) for b in hidden_biases[j]] if occluded_measured else None}
        for j, name in enumerate(COCO17_NAMES)
    ]
    return {
        "sequences": len(sequences),
        "frames": int(errors.shape[0]),
        "frames_with_blazepose": int(found.sum()),
        "per_joint": per_joint,
        "lag_correlation": [round(float(c), 4) for c in correlation],
        "lag_pairs": [int(c) for c in pairs],
        "outlier_pairs": continues,
        "fitted_noise": {
            "sigma": [round(float(s), 4) for s in sigmas],
            "bias": [[round(float(b[0]), 4), round(float(b[1]), 4)] for b in biases],
            "outlier_probability": round(outlier_rate, 4),
            "outlier_sigma": round(float(np.sqrt(np.mean(outlier_components**2))), 4)
            if outlier_components.size else 0.0,
            "dropout_probability": round(float((visible_confidence < DROPOUT_CONFIDENCE).mean()), 4),
            "confidence_visible": confidence_quantiles(visible_confidence),
            "confidence_hidden": confidence_quantiles(hidden_confidence),
            "sequence_share": round(sequence_share, 3),
            "temporal_share": round(temporal_share, 3),
            "temporal_correlation": round(temporal_correlation, 3),
            "outlier_persistence": round(stays / continues, 3) if continues else None,
            "hidden_sigma": [round(float(s), 4) for s in hidden_sigmas] if occluded_measured else None,
            "hidden_bias": [[round(float(b[0]), 4), round(float(b[1]), 4)] for b in hidden_biases]
            if occluded_measured else None,
        },
    }


def markdown_report(summary: dict[str, Any], command: str) -> str:
    """Human-readable report of :func:`summarise`'s output."""
    fitted = summary["fitted_noise"]
    model = [fitted["sequence_share"] + fitted["temporal_share"] * fitted["temporal_correlation"] ** k
             for k in range(1, len(summary["lag_correlation"]) + 1)]
    lines = [
        "# BlazePose's keypoint errors over time, fitted from a data set",
        "",
        f"Measured with `{command}`: {summary['sequences']} sequences, {summary['frames']} frames, "
        f"{summary['frames_with_blazepose']} with BlazePose keypoints. Errors in person sizes (longer side of the",
        "tight box around the projected ground-truth COCO-17 joints).",
        "",
        "## Per joint",
        "",
        "| joint | visible | sigma | bias x | bias y | occluded | sigma | bias x | bias y |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summary["per_joint"]:
        occluded = (
            f"{row['hidden_sigma']:.4f} | {row['hidden_bias'][0]:+.4f} | {row['hidden_bias'][1]:+.4f}"
            if row["hidden_sigma"] is not None else "- | - | -"
        )
        lines.append(
            f"| {row['joint']} | {row['visible_samples']} | {row['sigma']:.4f} | {row['bias'][0]:+.4f} | "
            f"{row['bias'][1]:+.4f} | {row['hidden_samples']} | {occluded} |"
        )
    lines += [
        "",
        f"Occluded joints seen fewer than {_MIN_HIDDEN_SAMPLES} times take the scale and bias of all occluded joints "
        "pooled (none: null,",
        "occluded joints then err like visible ones).",
        "",
        "## Correlation of a joint's error between frames k apart",
        "",
        "| k | pairs | measured | fitted |",
        "|---|---|---|---|",
    ]
    for lag, (measured, pairs, fit) in enumerate(zip(summary["lag_correlation"], summary["lag_pairs"], model), 1):
        lines.append(f"| {lag} | {pairs} | {measured:.3f} | {fit:.3f} |")
    lines += [
        "",
        f"Fitted: {fitted['sequence_share']:.3f} of the variance is one offset per sequence, "
        f"{fitted['temporal_share']:.3f} drifts with frame-to-frame correlation {fitted['temporal_correlation']:.3f}, "
        f"the rest is new on every frame. Outliers: {fitted['outlier_probability']:.4f} of visible joints, "
        f"{fitted['outlier_persistence']} of them still displaced on the next frame "
        f"({summary['outlier_pairs']} outlier-to-next-frame pairs).",
        "",
        "## Fitted noise model (a `keypoints.noise` section)",
        "",
        "```yaml",
        *(f"{key}: {json.dumps(value)}" for key, value in fitted.items()),
        "```",
        "",
    ]
    return "\n".join(lines)


def write_reports(directory: Path, summary: dict[str, Any], command: str) -> tuple[Path, Path]:
    return write_report_pair(directory, "keypoint_noise_structure", summary, markdown_report(summary, command))
