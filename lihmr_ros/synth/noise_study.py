"""Measure how MediaPipe BlazePose errs on our renders, to fit the keypoint noise model.

Frames where BlazePose misses the person get projected ground truth plus
noise (:mod:`lihmr_ros.synth.keypoint_noise`); that noise is only honest if
it has the statistics of BlazePose's own errors on the same kind of images.
This study renders sequences, runs BlazePose on every ``stride``-th frame
exactly as data generation does (:class:`lihmr_ros.synth.detector.RenderDetector`:
whole frame, then a crop around the person) and compares with the projected
ground truth:

* detection rate, overall, per window (frame / crop) and by the person's size in pixels;
* per-joint error of found persons, in units of the person's size (longer
  side of the tight ground-truth joint box), split into a robust Gaussian
  scale (1.4826 x MAD of the x / y components) and an outlier rate (errors
  beyond 5 scales) with the outliers' own scale;
* confidences of visible and of hidden (occluded / out-of-frame) joints, and
  how often visible joints come back with near-zero confidence.

``lihmr synth --measure-noise`` runs it and writes JSON and Markdown reports;
the fitted values go into ``config/synth.yaml`` (``keypoints.noise``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lihmr_ros.body.coco import COCO17_NAMES
from lihmr_ros.synth.config import CONFIDENCE_QUANTILE_LEVELS, SynthConfig
from lihmr_ros.synth.keypoint_noise import joints_in_frame, person_scale

HEIGHT_BINS_PX = (0, 60, 120, 240, 480, 10_000)
_MAD_TO_SIGMA = 1.4826
OUTLIER_SCALES = 5.0
"""A joint farther than this many robust scales from its bias is an outlier."""
DROPOUT_CONFIDENCE = 0.05
"""A visible joint reported with a confidence below this counts as dropped."""


@dataclass
class FrameObservation:
    """Ground truth and BlazePose output for one render."""

    joints_px: np.ndarray
    visible: np.ndarray
    in_frame: np.ndarray
    detected: np.ndarray | None
    window: str | None = None
    """Where BlazePose found the person: ``frame``, ``crop`` or ``None``."""


def observe(config: SynthConfig, seed: int, sequences: int, stride: int, progress: bool = True) -> list[FrameObservation]:
    """Render ``sequences`` sequences and run BlazePose on every ``stride``-th frame."""
    from tqdm import tqdm

    from lihmr_ros.synth.dataset_writer import base_seed, single_threaded_torch
    from lihmr_ros.synth.detector import RenderDetector
    from lihmr_ros.synth.generator import SequenceGenerator
    from lihmr_ros.synth.shards import sequence_seed

    observations: list[FrameObservation] = []
    with single_threaded_torch():
        generator = SequenceGenerator(config, use_detector=False)
        detector = RenderDetector(config.keypoints)
        rng = np.random.default_rng(seed)
        try:
            for index in tqdm(range(sequences), unit="seq", disable=not progress, desc="measure keypoint noise"):
                data = generator.generate(sequence_seed(base_seed(seed, config), index), keep_images=True)
                for frame in range(0, data.num_frames, stride):
                    joints = data.joints_2d[frame].astype(np.float64)
                    in_frame = joints_in_frame(joints, *(int(v) for v in data.image_size))
                    if not in_frame.any():
                        continue
                    found = detector.detect(data.images[frame], joints, in_frame, rng)
                    observations.append(
                        FrameObservation(
                            joints,
                            data.visibility[frame],
                            in_frame,
                            None if found is None else found.keypoints,
                            None if found is None else found.window,
                        )
                    )
        finally:
            detector.close()
            generator.close()
    return observations


def robust_sigma(centred: np.ndarray) -> float:
    """Gaussian scale of already median-centred values from their median absolute deviation."""
    if centred.size == 0:
        return float("nan")
    return float(_MAD_TO_SIGMA * np.median(np.abs(centred)))


def _moments(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {"count": 0}
    return {
        "count": int(values.size),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "p10": float(np.quantile(values, 0.1)),
        "p50": float(np.quantile(values, 0.5)),
        "p90": float(np.quantile(values, 0.9)),
    }


def joint_bias_and_scale(errors: np.ndarray) -> tuple[np.ndarray, float]:
    """(N, 2) finite errors of one joint -> (mean of its inliers, robust scale); zero bias and NaN without errors.

    Each axis is centred on its own median first (the systematic offset is the bias, not spread); inliers lie
    within ``OUTLIER_SCALES`` scales of that centre on both axes.
    """
    if errors.shape[0] == 0:
        return np.zeros(2), float("nan")
    centre = np.median(errors, axis=0)
    sigma = robust_sigma((errors - centre).reshape(-1))
    inliers = errors[np.all(np.abs(errors - centre) <= OUTLIER_SCALES * sigma, axis=1)]
    return (inliers.mean(axis=0) if inliers.size else np.zeros(2)), sigma


def confidence_quantiles(values: np.ndarray) -> list[float] | None:
    """Quantiles at the levels a noise section stores its confidences at; ``None`` without values."""
    if values.size == 0:
        return None
    return [round(float(q), 3) for q in np.quantile(values, CONFIDENCE_QUANTILE_LEVELS)]


def summarise(observations: list[FrameObservation], max_detection_error: float) -> dict[str, Any]:
    """Statistics of a list of observations (see the module docstring)."""
    heights = np.array([np.ptp(o.joints_px[:, 1]) if np.isfinite(o.joints_px).all() else np.nan for o in observations])
    found = np.array([o.detected is not None for o in observations])
    by_height = []
    for low, high in zip(HEIGHT_BINS_PX[:-1], HEIGHT_BINS_PX[1:]):
        members = (heights >= low) & (heights < high)
        by_height.append(
            {"joint_span_px": [low, high], "frames": int(members.sum()),
             "detection_rate": float(found[members].mean()) if members.any() else None}
        )

    errors: list[np.ndarray] = []  # per frame (17, 2) normalised error, NaN where not comparable
    confidences_visible, confidences_hidden = [], []
    rejected = 0
    for observation in observations:
        if observation.detected is None:
            continue
        scale = person_scale(observation.joints_px)
        error = (observation.detected[:, :2] - observation.joints_px) / scale
        norm = np.linalg.norm(error, axis=1)
        if float(np.median(norm[observation.in_frame])) > max_detection_error:
            rejected += 1
            continue
        error[~observation.visible] = np.nan
        errors.append(error)
        confidences_visible.append(observation.detected[observation.visible, 2])
        confidences_hidden.append(observation.detected[~observation.visible, 2])
    stacked = np.stack(errors) if errors else np.full((0, 17, 2), np.nan)

    per_joint = []
    sigmas, biases, outlier_rates, outlier_values = [], [], [], []
    for joint, name in enumerate(COCO17_NAMES):
        joint_errors = stacked[:, joint]
        joint_errors = joint_errors[np.all(np.isfinite(joint_errors), axis=1)]
        bias, sigma = joint_bias_and_scale(joint_errors)
        components = (joint_errors - np.median(joint_errors, axis=0)).reshape(-1) if joint_errors.size else np.zeros(0)
        norms = np.linalg.norm(stacked[:, joint], axis=1)
        norms = norms[np.isfinite(norms)]
        outliers = components[np.abs(components) > OUTLIER_SCALES * sigma] if np.isfinite(sigma) else components[:0]
        sigmas.append(sigma)
        biases.append(bias)
        outlier_rates.append(outliers.size / max(components.size, 1))
        outlier_values.append(outliers)
        per_joint.append(
            {"joint": name, "samples": int(norms.size), "sigma": sigma,
             "median_error": float(np.median(norms)) if norms.size else None,
             "mean_error": float(norms.mean()) if norms.size else None,
             "p90_error": float(np.quantile(norms, 0.9)) if norms.size else None,
             "bias_x": float(biases[-1][0]) if norms.size else None,
             "bias_y": float(biases[-1][1]) if norms.size else None}
        )
    visible_conf = np.concatenate(confidences_visible) if confidences_visible else np.zeros(0)
    hidden_conf = np.concatenate(confidences_hidden) if confidences_hidden else np.zeros(0)
    all_outliers = np.concatenate(outlier_values) if outlier_values else np.zeros(0)
    windows = [o.window for o in observations]
    return {
        "frames": len(observations),
        "detection_rate": float(found.mean()) if observations else None,
        "found_on_whole_frame": float(np.mean([w == "frame" for w in windows])) if observations else None,
        "found_on_person_crop": float(np.mean([w == "crop" for w in windows])) if observations else None,
        "rejected_as_false_detection": rejected,
        "detection_by_joint_span": by_height,
        "per_joint": per_joint,
        "confidence_visible": _moments(visible_conf),
        "confidence_hidden": _moments(hidden_conf),
        "visible_dropout_rate": float((visible_conf < DROPOUT_CONFIDENCE).mean()) if visible_conf.size else None,
        "fitted_noise": {
            "sigma": [round(float(s), 4) for s in sigmas],
            "bias": [[round(float(b[0]), 4), round(float(b[1]), 4)] for b in biases],
            "outlier_probability": round(float(np.nanmean(outlier_rates)), 4),
            "outlier_sigma": round(float(np.sqrt(np.mean(all_outliers**2))), 4) if all_outliers.size else None,
            "dropout_probability": round(float((visible_conf < DROPOUT_CONFIDENCE).mean()), 4)
            if visible_conf.size else None,
            "confidence_visible": confidence_quantiles(visible_conf),
            "confidence_hidden": confidence_quantiles(hidden_conf),
        },
    }


def markdown_report(summary: dict[str, Any], command: str) -> str:
    """Human-readable report of :func:`summarise`'s output."""
    lines = [
        "# MediaPipe BlazePose error on synthetic renders",
        "",
        f"Measured with `{command}` ({summary['frames']} renders with the person at least partly in frame).",
        "Errors are in units of the person's size (longer side of the tight box around the projected",
        "ground-truth COCO-17 joints) and only count joints that are in frame and not occluded.",
        "",
        f"* Detection rate: **{summary['detection_rate']:.3f}**: {summary['found_on_whole_frame']:.3f} on the whole"
        f" frame, {summary['found_on_person_crop']:.3f} more on a crop around the person"
        f" ({summary['rejected_as_false_detection']} accepted detections above the error gate)",
        f"* Visible joints reported with confidence < {DROPOUT_CONFIDENCE}: {summary['visible_dropout_rate']:.4f}",
        "",
        "## Detection rate by person size",
        "",
        "| joint span (px) | renders | detection rate |",
        "|---|---|---|",
    ]
    for row in summary["detection_by_joint_span"]:
        rate = "-" if row["detection_rate"] is None else f"{row['detection_rate']:.3f}"
        lines.append(f"| {row['joint_span_px'][0]}-{row['joint_span_px'][1]} | {row['frames']} | {rate} |")
    lines += [
        "",
        "## Per-joint error of detected persons",
        "",
        "| joint | samples | sigma (robust) | median | mean | p90 | bias x (inliers) | bias y (inliers) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in summary["per_joint"]:
        if not row["samples"]:
            lines.append(f"| {row['joint']} | 0 | - | - | - | - | - | - |")
            continue
        lines.append(
            f"| {row['joint']} | {row['samples']} | {row['sigma']:.4f} | {row['median_error']:.4f} | "
            f"{row['mean_error']:.4f} | {row['p90_error']:.4f} | {row['bias_x']:+.4f} | {row['bias_y']:+.4f} |"
        )
    lines += ["", "## Confidence", "", "| joints | count | mean | std | p10 | p50 | p90 |", "|---|---|---|---|---|---|---|"]
    for key, label in (("confidence_visible", "visible"), ("confidence_hidden", "occluded / out of frame")):
        stats = summary[key]
        if not stats.get("count"):
            lines.append(f"| {label} | 0 | - | - | - | - | - |")
            continue
        lines.append(
            f"| {label} | {stats['count']} | {stats['mean']:.3f} | {stats['std']:.3f} | {stats['p10']:.3f} | "
            f"{stats['p50']:.3f} | {stats['p90']:.3f} |"
        )
    lines += [
        "",
        "## Fitted noise model (`keypoints.noise` in `config/synth.yaml`)",
        "",
        "```json",
        json.dumps(summary["fitted_noise"], indent=1),
        "```",
        "",
    ]
    return "\n".join(lines)


def write_reports(directory: Path, summary: dict[str, Any], command: str) -> tuple[Path, Path]:
    return write_report_pair(directory, "keypoint_noise", summary, markdown_report(summary, command))


def write_report_pair(directory: Path, stem: str, summary: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    """``<stem>.json`` (the summary) and ``<stem>.md`` (its report) in ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{stem}.json"
    markdown_path = directory / f"{stem}.md"
    json_path.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    markdown_path.write_text(markdown, encoding="utf-8")
    return json_path, markdown_path
