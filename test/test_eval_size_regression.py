"""Size regression of an evaluation (lihmr_ros.evaluation.size_regression): known slopes, bad reports."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from lihmr_ros.evaluation.size_regression import size_regression, true_size

SCALES = (0.6, 0.8, 1.0, 1.2, 1.4)


def cloud(seed: int = 0) -> np.ndarray:
    """(3, 50, 3) a random point cloud repeated over three frames, the middle one not visible."""
    points = np.random.default_rng(seed).normal(size=(50, 3))
    frames = np.stack([points, np.full_like(points, np.nan), points + 2.0])
    return frames


def write_split(tmp_path: Path, ratios: dict[str, float | None]) -> tuple[Path, Path]:
    """An evaluation layout of scaled copies of one cloud and a report holding ``ratios`` per sequence."""
    data = tmp_path / "data"
    for scale, name in zip(SCALES, ratios):
        (data / name / "frames").mkdir(parents=True)
        for frame in range(3):
            cv2.imwrite(str(data / name / "frames" / f"{frame:06d}.png"), np.zeros((4, 4, 3), np.uint8))
        (data / name / "camera.json").write_text(json.dumps({"K": [[100, 0, 2], [0, 100, 2], [0, 0, 1]], "fps": 30}))
        np.savez(data / name / "gt.npz", vertices=scale * cloud(), joints3d=np.zeros((3, 17, 3)))
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"overall": {}, "per_sequence": {
        name: {"size_ratio_median": ratio, "size_error": None if ratio is None else abs(ratio - 1)}
        for name, ratio in ratios.items()
    }}))
    return data, report


def test_true_size_is_the_rms_radius_and_ignores_invisible_frames_and_placement() -> None:
    points = cloud()
    centred = points[0] - points[0].mean(axis=0)
    assert true_size(points) == pytest.approx(float(np.sqrt(np.square(centred).sum(axis=1).mean())))
    assert np.isnan(true_size(np.full((2, 5, 3), np.nan)))


@pytest.mark.parametrize("exponent", [1.0, 0.5, 0.0])
def test_slope_is_how_much_of_the_true_size_the_prediction_follows(tmp_path: Path, exponent: float) -> None:
    base = true_size(cloud())
    sizes = {f"seq_{k}": scale * base for k, scale in enumerate(SCALES)}
    # Predicted size = 0.9 * true ** exponent (1: follows the truth, 0: the same for everyone).
    ratios = {name: 0.9 * size ** exponent / size for name, size in sizes.items()}
    fit = size_regression(*write_split(tmp_path, ratios))
    assert fit.sequences == len(SCALES)
    assert fit.slope == pytest.approx(exponent, abs=1e-9)
    if exponent < 1.0:
        assert fit.correlation < -0.9  # small people too big, big people too small
    else:
        assert np.isnan(fit.correlation)  # one ratio for all: nothing to correlate


def test_sequences_without_a_prediction_drop_out_and_too_few_are_refused(tmp_path: Path) -> None:
    fit = size_regression(*write_split(tmp_path, {"a": 1.0, "b": None, "c": 1.0, "d": 1.0, "e": None}))
    assert fit.sequences == 3 and fit.slope == pytest.approx(1.0) and fit.median_ratio == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 3"):
        size_regression(*write_split(tmp_path / "few", {"a": 1.0, "b": None, "c": 1.0}))


def test_a_report_from_before_the_size_ratio_metric_is_refused_clearly(tmp_path: Path) -> None:
    data, report = write_split(tmp_path, {"a": 1.0, "b": 1.0, "c": 1.0})
    old = json.loads(report.read_text())
    for metrics in old["per_sequence"].values():
        del metrics["size_ratio_median"]
    report.write_text(json.dumps(old))
    with pytest.raises(ValueError, match="predates that metric"):
        size_regression(data, report)
