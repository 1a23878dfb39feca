#!/usr/bin/env python3
"""Print how much of the real size variation a checkpoint's meshes follow (docs/model_card.md, Next).

Usage: ``python scripts/size_regression.py DATA_DIR REPORT.json [REPORT2.json ...]`` where each report was
written by ``lihmr eval --data DATA_DIR --report REPORT.json``.  Prints, per report, the number of
sequences, the slope of log predicted size on log true size (1 = sizes follow the truth, 0 = one size
for everyone), the correlation of predicted / true size with true size, and the median ratio.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lihmr_ros.evaluation.size_regression import size_regression


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    data_dir = Path(argv[0])
    for report in argv[1:]:
        try:
            fit = size_regression(data_dir, Path(report))
        except (FileNotFoundError, ValueError) as error:
            print(f"size_regression: {error}", file=sys.stderr)
            return 2
        print(
            f"{report}: {fit.sequences} sequences, slope {fit.slope:.3f}, "
            f"corr(ratio, true size) {fit.correlation:+.3f}, median predicted/true {fit.median_ratio:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
