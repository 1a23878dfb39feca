"""The training log: one CSV row per logged step, flushed at once.

A fixed header (step, learning rate, throughput, every loss term, every
validation metric) keeps the file loadable by any spreadsheet or pandas even
though validation runs only every few thousand steps: its cells are empty on
other rows.  On resume rows are appended, so one file tells the whole run.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Mapping

from lihmr_ros.training.config import LossWeights

VALIDATION_COLUMNS: tuple[str, ...] = ("val_mpjpe", "val_pa_mpjpe", "val_mpve", "val_pa_mpve", "val_accel")


def log_columns() -> tuple[str, ...]:
    losses = tuple(f"loss_{name}" for name in LossWeights().as_dict())
    return ("step", "learning_rate", "windows_per_second", "loss", *losses, *VALIDATION_COLUMNS)


class CsvLog:
    """Appends rows to ``path``; writes the header when the file is new."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.columns = log_columns()
        if self.path.is_file() and self.path.stat().st_size > 0:
            with self.path.open(newline="") as stream:
                header = next(csv.reader(stream), [])
            if tuple(header) != self.columns:
                raise ValueError(f"{self.path} was written with other columns; use another --out directory")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("w", newline="") as stream:
                csv.writer(stream).writerow(self.columns)

    def write(self, row: Mapping[str, float | int]) -> None:
        """One row; missing columns stay empty, NaN is written empty too."""
        unknown = set(row) - set(self.columns)
        if unknown:
            raise ValueError(f"unknown log column(s): {', '.join(sorted(unknown))}")
        cells = [_cell(row.get(name)) for name in self.columns]
        with self.path.open("a", newline="") as stream:
            csv.writer(stream).writerow(cells)


def _cell(value: float | int | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.6g}"
