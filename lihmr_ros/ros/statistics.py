"""Counters and latencies the node reports on ``/diagnostics``.

Updated from two threads (the subscription callback counts arrivals and
drops, the worker counts results and timings), read by the diagnostics
timer, which takes a snapshot and starts a new period, so rates and
latencies describe the last period rather than the node's whole life.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from lihmr_ros.pipeline.results import STAGES


@dataclass
class _Period:
    started: float
    received: int = 0
    processed: int = 0
    dropped: int = 0
    bad_input: int = 0
    failures: int = 0
    people: int = 0
    floor_people: int = 0
    floor_clamped: int = 0
    stage_sum_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    stage_max_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    latency_sum_ms: float = 0.0
    latency_max_ms: float = 0.0


@dataclass(frozen=True)
class StatisticsSnapshot:
    """One period's numbers plus totals since start."""

    period_s: float
    input_rate_hz: float
    output_rate_hz: float
    dropped: int
    bad_input: int
    failures: int
    mean_people: float
    floor_people: int
    """People (summed over the period's images) whose size and distance the floor set."""
    floor_clamped: int
    """Of those, people held at the floor-scale clamp (the floor and the body disagree: check the mount)."""
    stage_mean_ms: dict[str, float]
    stage_max_ms: dict[str, float]
    latency_mean_ms: float
    """Arrival of the image in the node to the result being published."""
    latency_max_ms: float
    total_received: int
    total_processed: int
    total_dropped: int
    total_bad_input: int
    total_failures: int


class PipelineStatistics:
    """Thread-safe counters, one period at a time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._period = _Period(started=clock())
        self._totals = dict(received=0, processed=0, dropped=0, bad_input=0, failures=0)

    def count_received(self, dropped_previous: bool) -> None:
        with self._lock:
            self._period.received += 1
            self._totals["received"] += 1
            if dropped_previous:
                self._period.dropped += 1
                self._totals["dropped"] += 1

    def count_bad_input(self) -> None:
        with self._lock:
            self._period.bad_input += 1
            self._totals["bad_input"] += 1

    def count_failure(self) -> None:
        with self._lock:
            self._period.failures += 1
            self._totals["failures"] += 1

    def count_processed(
        self, people: int, timings_ms: dict[str, float], latency_ms: float, floor_people: int = 0,
        floor_clamped: int = 0,
    ) -> None:
        """One published result: its people, of whom ``floor_people`` were sized by the floor and
        ``floor_clamped`` held at its clamp, stage times and arrival-to-publish latency."""
        with self._lock:
            period = self._period
            period.processed += 1
            self._totals["processed"] += 1
            period.people += people
            period.floor_people += floor_people
            period.floor_clamped += floor_clamped
            for stage in STAGES:
                value = timings_ms.get(stage, 0.0)
                period.stage_sum_ms[stage] += value
                period.stage_max_ms[stage] = max(period.stage_max_ms[stage], value)
            period.latency_sum_ms += latency_ms
            period.latency_max_ms = max(period.latency_max_ms, latency_ms)

    def snapshot(self) -> StatisticsSnapshot:
        """The current period's numbers; a new period starts now."""
        with self._lock:
            now = self._clock()
            period, self._period = self._period, _Period(started=now)
            totals = dict(self._totals)
        elapsed = max(now - period.started, 1e-9)
        processed = max(period.processed, 1)
        return StatisticsSnapshot(
            period_s=elapsed,
            input_rate_hz=period.received / elapsed,
            output_rate_hz=period.processed / elapsed,
            dropped=period.dropped,
            bad_input=period.bad_input,
            failures=period.failures,
            mean_people=period.people / processed,
            floor_people=period.floor_people,
            floor_clamped=period.floor_clamped,
            stage_mean_ms={stage: total / processed for stage, total in period.stage_sum_ms.items()},
            stage_max_ms=dict(period.stage_max_ms),
            latency_mean_ms=period.latency_sum_ms / processed,
            latency_max_ms=period.latency_max_ms,
            total_received=totals["received"],
            total_processed=totals["processed"],
            total_dropped=totals["dropped"],
            total_bad_input=totals["bad_input"],
            total_failures=totals["failures"],
        )
