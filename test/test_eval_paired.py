"""Paired per-sequence comparison of two evaluation reports and the shipping rule (`lihmr compare`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lihmr_ros.cli import main
from lihmr_ros.evaluation.paired import (
    COMPARED_METRICS,
    paired_difference,
    read_report,
    ships,
)


def _write_report(path: Path, per_sequence: dict[str, dict[str, float | None]]) -> Path:
    """A file in the layout `lihmr eval --report` writes (overall: the plain mean, enough for these tests)."""
    overall = {
        metric: sum(v[metric] for v in per_sequence.values() if v[metric] is not None) / len(per_sequence)
        for metric in next(iter(per_sequence.values()))
    }
    path.write_text(json.dumps({"data": "/data/selection", "overall": overall, "per_sequence": per_sequence}))
    return path


def _reports(tmp_path: Path, baseline: dict[str, list[float]], candidate: dict[str, list[float]]):
    """Two report files from per-metric lists of per-sequence values (sequence i is named seq_i)."""
    def per_sequence(values: dict[str, list[float]]) -> dict[str, dict[str, float | None]]:
        count = len(next(iter(values.values())))
        return {
            f"seq_{index:02d}": {
                metric: (None if math.isnan(values[metric][index]) else values[metric][index]) for metric in values
            }
            for index in range(count)
        }
    return (
        read_report(_write_report(tmp_path / "baseline.json", per_sequence(baseline))),
        read_report(_write_report(tmp_path / "candidate.json", per_sequence(candidate))),
    )


def _all_metrics(values: list[float]) -> dict[str, list[float]]:
    return {metric: list(values) for metric in COMPARED_METRICS}


def test_a_constant_improvement_has_a_point_interval_and_ships(tmp_path: Path) -> None:
    baseline, candidate = _reports(
        tmp_path, _all_metrics([50.0, 60.0, 70.0, 80.0]), _all_metrics([48.0, 58.0, 68.0, 78.0])
    )
    differences = {metric: paired_difference(baseline, candidate, metric) for metric in COMPARED_METRICS}
    for difference in differences.values():
        assert difference.mean == pytest.approx(-2.0)
        assert difference.low == pytest.approx(-2.0) and difference.high == pytest.approx(-2.0)
        assert (difference.better, difference.sequences) == (4, 4)
    assert ships(differences)


def test_two_sequences_give_the_known_bootstrap_interval(tmp_path: Path) -> None:
    """Differences -3 and -1: a resample is all -3 (or all -1) with probability 1/4, so the 2.5 / 97.5
    percentiles of the resampled means are exactly the two extremes."""
    baseline, candidate = _reports(tmp_path, _all_metrics([10.0, 10.0]), _all_metrics([7.0, 9.0]))
    difference = paired_difference(baseline, candidate, "mpve")
    assert difference.mean == pytest.approx(-2.0)
    assert (difference.low, difference.high) == (pytest.approx(-3.0), pytest.approx(-1.0))


def test_improvements_that_cancel_out_do_not_ship(tmp_path: Path) -> None:
    baseline, candidate = _reports(
        tmp_path, _all_metrics([50.0, 50.0, 50.0, 50.0, 50.0, 50.0]), _all_metrics([45.0, 55.0, 46.0, 54.0, 47.0, 53.0])
    )
    difference = paired_difference(baseline, candidate, "pa_mpjpe")
    assert difference.low < 0.0 < difference.high
    assert not difference.significantly_better
    assert difference.better == 3


def test_better_on_pa_mpjpe_only_does_not_ship(tmp_path: Path) -> None:
    baseline_values = _all_metrics([50.0, 60.0, 70.0])
    candidate_values = _all_metrics([49.0, 59.0, 69.0])
    candidate_values["mpve"] = [50.0, 61.0, 70.0]
    baseline, candidate = _reports(tmp_path, baseline_values, candidate_values)
    differences = {metric: paired_difference(baseline, candidate, metric) for metric in COMPARED_METRICS}
    assert differences["pa_mpjpe"].significantly_better
    assert not differences["mpve"].significantly_better
    assert not ships(differences)


def test_a_sequence_without_detections_drops_out_of_the_pairing(tmp_path: Path) -> None:
    baseline, candidate = _reports(
        tmp_path, _all_metrics([50.0, math.nan, 70.0]), _all_metrics([49.0, 30.0, 69.0])
    )
    difference = paired_difference(baseline, candidate, "mpjpe")
    assert difference.sequences == 2 and difference.mean == pytest.approx(-1.0)


def test_reports_of_different_sequences_are_refused(tmp_path: Path) -> None:
    baseline = read_report(_write_report(tmp_path / "a.json", {"seq_a": {"mpve": 1.0}, "seq_b": {"mpve": 2.0}}))
    candidate = read_report(_write_report(tmp_path / "b.json", {"seq_a": {"mpve": 1.0}, "seq_c": {"mpve": 2.0}}))
    with pytest.raises(ValueError, match="different sequences.*seq_b, seq_c"):
        paired_difference(baseline, candidate, "mpve")


def test_a_file_that_is_not_a_report_says_so(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"mpjpe": 80.0, "pa_mpjpe": 50.0}))
    with pytest.raises(ValueError, match="no per-sequence results"):
        read_report(path)
    path.write_text(json.dumps({"overall": {}, "per_sequence": {"seq_00": 51.0}}))
    with pytest.raises(ValueError, match="seq_00 are not metric mappings"):
        read_report(path)
    with pytest.raises(FileNotFoundError, match="lihmr eval --report"):
        read_report(tmp_path / "missing.json")


def test_compare_command_prints_the_table_and_the_decision(tmp_path: Path, capsys) -> None:
    _reports(tmp_path, _all_metrics([50.0, 60.0, 70.0]), _all_metrics([52.0, 61.0, 73.0]))
    assert main(["compare", str(tmp_path / "baseline.json"), str(tmp_path / "candidate.json")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines[1:5]] == list(COMPARED_METRICS)
    assert lines[-1].startswith("candidate does not ship")

    assert main(["compare", str(tmp_path / "candidate.json"), str(tmp_path / "baseline.json"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ships"] is True
    assert result["differences"]["mpve"]["mean"] == pytest.approx(-2.0)
    assert result["differences"]["mpve"]["better"] == 3


def test_compare_command_exits_2_with_the_reason(tmp_path: Path, capsys) -> None:
    _reports(tmp_path, _all_metrics([50.0, 60.0]), _all_metrics([52.0, 61.0]))
    assert main(["compare", str(tmp_path / "baseline.json"), str(tmp_path / "nothing.json")]) == 2
    assert "nothing.json does not exist" in capsys.readouterr().err
