"""How much of people's real size variation the predicted meshes follow (numpy, no torch).

The mean size error (:mod:`lihmr_ros.evaluation.metrics`) says how far off
sizes are, not why.  Regressing log predicted size on log true size over the
sequences of an evaluation tells the two causes apart: a slope near 1 means
the network reads each person's size and misses by noise; a slope near 0
means it predicts about the same size for everyone (the training prior's
mean), so small people come out too big and big people too small.  One
camera gives size only through body proportions, so the slope is the
measure to watch when trying to improve it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lihmr_ros.evaluation.paired import read_report
from lihmr_ros.evaluation.sequences import load_sequence


@dataclass(frozen=True)
class SizeRegression:
    """Fit of log predicted size on log true size, one point per sequence with a prediction."""

    sequences: int
    slope: float
    """1: sizes follow the truth; 0: the same size for everyone."""
    correlation: float
    """Pearson correlation of the size ratio (predicted / true) with the true size; strongly negative
    when predictions regress to the mean; NaN when every ratio is the same (sizes followed exactly)."""
    median_ratio: float
    """Median over sequences of the median predicted / true size."""


def true_size(vertices: np.ndarray) -> float:
    """Median over visible frames of the RMS distance of the mesh's (F, V, 3) vertices from their centroid
    (NaN frames skipped), metres; NaN when no frame is visible."""
    visible = np.isfinite(vertices).all(axis=(1, 2))
    if not visible.any():
        return float("nan")
    centred = vertices[visible] - vertices[visible].mean(axis=1, keepdims=True)
    return float(np.median(np.sqrt(np.square(centred).sum(axis=-1).mean(axis=-1))))


def size_regression(data_dir: Path, report_path: Path) -> SizeRegression:
    """Pairs the per-sequence ``size_ratio_median`` of a ``lihmr eval --report`` file with the true size of
    each sequence's ground truth under ``data_dir`` (the evaluation layout) and fits the regression."""
    report = read_report(Path(report_path))
    true_sizes, ratios = [], []
    for name, metrics in sorted(report.per_sequence.items()):
        if "size_ratio_median" not in metrics:
            raise ValueError(
                f"report {report_path} has no size_ratio_median for {name}: it predates that metric; "
                "run lihmr eval --report again"
            )
        ratio = metrics["size_ratio_median"]
        if not np.isfinite(ratio):
            continue  # no detection in this sequence
        size = true_size(load_sequence(Path(data_dir) / name).vertices.astype(np.float64))
        if np.isfinite(size):
            true_sizes.append(size)
            ratios.append(ratio)
    if len(ratios) < 3:
        raise ValueError(f"{len(ratios)} sequences with a prediction in {report_path}; a fit needs at least 3")
    true_array, ratio_array = np.array(true_sizes), np.array(ratios)
    slope = np.polyfit(np.log(true_array), np.log(true_array * ratio_array), 1)[0]
    return SizeRegression(
        sequences=len(ratios),
        slope=float(slope),
        correlation=float(np.corrcoef(true_array, ratio_array)[0, 1]) if ratio_array.std() > 0 else float("nan"),
        median_ratio=float(np.median(ratio_array)),
    )
