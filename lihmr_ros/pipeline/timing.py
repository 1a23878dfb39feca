"""Per-stage wall-clock timing of one pipeline call.

The node reports these numbers in its diagnostics and the benchmarks print
them, so a slow stage is visible without a profiler.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator


class StageClock:
    """Accumulates milliseconds per named stage; a stage timed twice adds up."""

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self._elapsed_ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self._elapsed_ms[name] = self._elapsed_ms.get(name, 0.0) + 1000.0 * (time.perf_counter() - began)

    def finish(self, stages: tuple[str, ...]) -> dict[str, float]:
        """Milliseconds for every name in ``stages`` (0 for stages that did not run) plus ``total``."""
        timings = {name: self._elapsed_ms.get(name, 0.0) for name in stages if name != "total"}
        timings["total"] = 1000.0 * (time.perf_counter() - self._start)
        return timings
