"""Side-by-side table of ablation runs (``scripts/ablations.sh``): accuracy and cost per variant.

Accuracy is each run's last validation row in its ``log.csv`` (the same
network-only validation as training); cost is counted on the run's own
architecture (stage-2 refiner and whole streaming frame, FLOPs of matrix
products and convolutions), so accuracy and GFLOPs sit next to each other as
the paper reports them.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from lihmr_ros.body import load_template
from lihmr_ros.model.cost import count_gflops, count_parameters, example_calls
from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.training.config import TrainConfig

METRICS = ("mpjpe", "pa_mpjpe", "mpve", "pa_mpve", "accel")


def last_validation(run: Path) -> dict[str, float]:
    """The newest log row that has validation metrics, with its step."""
    with (run / "log.csv").open(newline="") as stream:
        rows = [row for row in csv.DictReader(stream) if row.get("val_pa_mpjpe")]
    if not rows:
        raise ValueError(f"{run}/log.csv has no validation row yet; finish the run first")
    row = rows[-1]
    return {"step": int(row["step"]), **{name: float(row[f"val_{name}"]) for name in METRICS}}


def ablation_rows(runs: list[Path]) -> list[dict[str, float | int | str]]:
    template = load_template()
    rows = []
    for run in runs:
        network = LIHMRNet(TrainConfig.from_yaml(run / "train_config.yaml").network_config(), template).eval()
        calls = example_calls(network)
        rows.append({
            "variant": run.name.removeprefix("ablation_"),
            **last_validation(run),
            "refiner_gflops": count_gflops(calls.refine),
            "frame_gflops": count_gflops(calls.stream_frame),
            "params": count_parameters(network),
        })
    return rows


def format_rows(rows: list[dict[str, float | int | str]]) -> str:
    header = "| variant | step | MPJPE | PA-MPJPE | MPVE | PA-MPVE | accel | refiner GFLOPs | frame GFLOPs | params |"
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(
            f"| {row['variant']} | {row['step']} | " + " | ".join(f"{row[name]:.1f}" for name in METRICS)
            + f" | {row['refiner_gflops']:.4f} | {row['frame_gflops']:.3f} | {row['params']:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="ablation run directories (log.csv, train_config.yaml)")
    args = parser.parse_args(argv)
    print(format_rows(ablation_rows(args.runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
