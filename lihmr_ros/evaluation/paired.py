"""Paired comparison of two checkpoints evaluated on the same sequences, and the shipping rule.

Pooled means over a few dozen sequences move by a millimetre or two between
close checkpoints, less than the spread between sequences, so comparing two
pooled means cannot tell which checkpoint is better. Pairing removes the
sequences' own difficulty: for every sequence both checkpoints saw, take the
candidate's error minus the baseline's, then bootstrap the mean of those
differences over sequences (resampled with replacement). A candidate ships
only if the whole 95 % interval lies below zero for every metric of
``SHIPPING_METRICS`` (docs/model_card.md, "Selection split").

Reports are the JSON files ``lihmr eval --report FILE`` writes:
``{"overall": {metric: value}, "per_sequence": {name: {metric: value}}, ...}``
with ``null`` where a metric is undefined (a sequence with no detection).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

COMPARED_METRICS: tuple[str, ...] = ("mpjpe", "pa_mpjpe", "mpve", "pa_mpve")
"""Errors compared, in millimetres; lower is better for all of them."""
SHIPPING_METRICS: tuple[str, ...] = ("pa_mpjpe", "mpve")
"""The issue's two targets: a candidate must beat the baseline on both."""
DEFAULT_DRAWS = 5000
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class EvalReportFile:
    """The parts of a saved ``lihmr eval --report`` file a comparison needs."""

    path: Path
    overall: dict[str, float]
    per_sequence: dict[str, dict[str, float]]
    data: str


@dataclass(frozen=True)
class PairedDifference:
    """Candidate minus baseline for one metric, over the sequences where both are defined."""

    metric: str
    baseline: float
    """The baseline's pooled value (over frames, as ``lihmr eval`` reports it)."""
    candidate: float
    mean: float
    """Mean over sequences of the per-sequence difference (negative: the candidate is better)."""
    low: float
    high: float
    """Bootstrap interval of ``mean`` at the requested confidence."""
    better: int
    """Sequences on which the candidate's error is lower."""
    sequences: int

    @property
    def significantly_better(self) -> bool:
        return self.high < 0.0


def read_report(path: Path) -> EvalReportFile:
    """Load a report file, failing with a message that says what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"report {path} does not exist (write one with `lihmr eval --report {path}`)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"report {path} is not JSON: {error}") from error
    if not isinstance(raw, Mapping) or not isinstance(raw.get("per_sequence"), Mapping) or not raw["per_sequence"]:
        raise ValueError(f"report {path} has no per-sequence results (is it a `lihmr eval --report` file?)")
    if not isinstance(raw.get("overall"), Mapping):
        raise ValueError(f"report {path} has no overall results")
    malformed = [name for name, metrics in raw["per_sequence"].items() if not isinstance(metrics, Mapping)]
    if malformed:
        raise ValueError(f"report {path}: the results of {', '.join(malformed[:3])} are not metric mappings")
    return EvalReportFile(
        path=path,
        overall={key: _number(value) for key, value in raw["overall"].items()},
        per_sequence={
            name: {key: _number(value) for key, value in metrics.items()}
            for name, metrics in raw["per_sequence"].items()
        },
        data=str(raw.get("data", "")),
    )


def _number(value: Any) -> float:
    """JSON ``null`` (undefined metric) becomes NaN so it drops out of the pairing."""
    return float("nan") if value is None else float(value)


def paired_difference(
    baseline: EvalReportFile,
    candidate: EvalReportFile,
    metric: str,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> PairedDifference:
    """Bootstrap the mean per-sequence difference ``candidate - baseline`` of ``metric``."""
    if set(baseline.per_sequence) != set(candidate.per_sequence):
        only_one = sorted(set(baseline.per_sequence) ^ set(candidate.per_sequence))
        raise ValueError(
            f"{baseline.path} and {candidate.path} cover different sequences ({', '.join(only_one[:5])}"
            f"{', ...' if len(only_one) > 5 else ''}): evaluate both on the same data"
        )
    if draws < 100 or not 0.0 < confidence < 1.0:
        raise ValueError(f"need at least 100 draws and a confidence in (0, 1), got {draws} and {confidence}")
    names = sorted(baseline.per_sequence)
    differences = np.array(
        [candidate.per_sequence[name].get(metric, math.nan) - baseline.per_sequence[name].get(metric, math.nan)
         for name in names]
    )
    differences = differences[np.isfinite(differences)]
    if differences.size < 2:
        raise ValueError(f"fewer than two sequences have {metric} in both reports: nothing to compare")
    rng = np.random.default_rng(seed)
    means = np.array([rng.choice(differences, differences.size).mean() for _ in range(draws)])
    tail = 100.0 * (1.0 - confidence) / 2.0
    return PairedDifference(
        metric=metric,
        baseline=baseline.overall.get(metric, math.nan),
        candidate=candidate.overall.get(metric, math.nan),
        mean=float(differences.mean()),
        low=float(np.percentile(means, tail)),
        high=float(np.percentile(means, 100.0 - tail)),
        better=int((differences < 0).sum()),
        sequences=int(differences.size),
    )


def ships(differences: Mapping[str, PairedDifference]) -> bool:
    """The shipping rule: significantly better on every metric of ``SHIPPING_METRICS``."""
    missing = [metric for metric in SHIPPING_METRICS if metric not in differences]
    if missing:
        raise ValueError(f"the shipping rule needs {', '.join(missing)}")
    return all(differences[metric].significantly_better for metric in SHIPPING_METRICS)
