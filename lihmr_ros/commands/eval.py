"""``lihmr eval``: accuracy of the whole streaming pipeline on sequences with 3D ground truth.

Examples::

    lihmr eval --data data/synth_eval --weights runs/lihmr/best.safetensors
    lihmr eval --data data/synth_eval --json       # one JSON object on stdout
    lihmr eval --data data/synth_eval --report out/candidate.json   # per-sequence results for `lihmr compare`
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lihmr_ros.evaluation.runner import EvalReport

JSON_KEYS: tuple[str, ...] = (
    "mpjpe", "pa_mpjpe", "mpve", "pa_mpve", "accel", "detected_fraction", "frames",
    "orientation_deg", "orientation_deg_p90", "size_error", "size_ratio_median", "root_error",
)
"""The keys of ``--json`` output: the evaluation contract's seven, then the global error breakdown."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate the node's pipeline on DIR/<sequence>/{frames/,camera.json,gt.npz}",
        description=(
            "Run the same streaming pipeline as the node (BlazePose keypoints, tracking, causal windows) over "
            "every sequence of DIR and report MPJPE, PA-MPJPE, MPVE, PA-MPVE (mm), acceleration error "
            "(mm/frame^2), global orientation and size errors, the error of the placed mid-hip (mm), and the "
            "fraction of frames with a detection. Sequences whose camera.json gives the floor "
            '("ground": {"normal": [x, y, z], "camera_height": m}) have people scaled onto it, as the node does '
            "with its ground.* parameters."
        ),
    )
    parser.add_argument("--data", type=Path, required=True, help="evaluation data directory")
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped weights)")
    parser.add_argument("--backend", default="auto", help="auto, tensorrt, onnxruntime or torch (as the node)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the metrics only")
    parser.add_argument(
        "--no-ground", action="store_true",
        help="ignore the floors of camera.json: sizes and distances from the network alone (node default)",
    )
    parser.add_argument(
        "--flip-averaging", action="store_true",
        help="average each person's body with the mirrored estimate (node parameter flip_averaging)",
    )
    parser.add_argument(
        "--report", type=Path, default=None,
        help="also write overall and per-sequence metrics to this JSON file (input of `lihmr compare`)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lihmr_ros.evaluation.runner import PipelineFactory, evaluate
    from lihmr_ros.evaluation.sequences import find_sequences, load_sequence
    from lihmr_ros.model.checkpoint import DEFAULT_CHECKPOINT, CheckpointMismatchError
    from lihmr_ros.ros.settings import SettingsError

    weights = args.weights or DEFAULT_CHECKPOINT
    logger = logging.getLogger("lihmr.eval")
    logging.basicConfig(level=logging.WARNING if args.json else logging.INFO, stream=sys.stderr)
    try:
        sequences = [load_sequence(path) for path in find_sequences(args.data)]
        factory = PipelineFactory(weights, args.backend, args.device, logger, args.flip_averaging)
    except (FileNotFoundError, ValueError, SettingsError, CheckpointMismatchError) as error:
        print(f"lihmr eval: {error}", file=sys.stderr)
        return 2
    progress = (lambda line: None) if args.json else (lambda line: print(line, file=sys.stderr))
    try:
        report = evaluate(sequences, factory, progress, use_ground=not args.no_ground)
    finally:
        factory.close()
    metrics = report.metrics
    if args.report is not None:
        _write_report(args.report, report, weights, args.data, args.flip_averaging)
    if args.json:
        print(json.dumps({key: _json_number(metrics[key]) for key in JSON_KEYS}))
        return 0
    print(
        f"{len(sequences)} sequences, {metrics['frames']} frames with a visible person, "
        f"detected {metrics['detected_fraction']:.3f}\n"
        f"MPJPE {metrics['mpjpe']:.1f} mm  PA-MPJPE {metrics['pa_mpjpe']:.1f} mm  "
        f"MPVE {metrics['mpve']:.1f} mm  PA-MPVE {metrics['pa_mpve']:.1f} mm  "
        f"accel {metrics['accel']:.2f} mm/frame^2  ({report.milliseconds_per_frame:.1f} ms/frame)\n"
        f"orientation error {metrics['orientation_deg']:.1f} deg median, {metrics['orientation_deg_p90']:.1f} deg "
        f"90th percentile  size error {100 * metrics['size_error']:.1f} % "
        f"(median predicted / true size {metrics['size_ratio_median']:.3f})  "
        f"root error {metrics['root_error']:.0f} mm"
    )
    return 0


def _write_report(path: Path, report: "EvalReport", weights: Path, data: Path, flip_averaging: bool) -> None:
    """Save what `lihmr compare` pairs: the pooled metrics and every sequence's own, and on how many
    sequences people were scaled onto the floor (sizes from the camera mount rather than the network)."""
    document = {
        "weights": str(weights),
        "flip_averaging": flip_averaging,
        "data": str(Path(data).resolve()),
        "sequences_on_floor": report.sequences_on_floor,
        "overall": {key: _json_number(value) for key, value in report.metrics.items()},
        "per_sequence": {
            name: {key: _json_number(value) for key, value in metrics.items()}
            for name, metrics in report.per_sequence.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def _json_number(value: float | int) -> float | int | None:
    """NaN (a metric without any detected frame) becomes null: JSON has no NaN."""
    return None if isinstance(value, float) and math.isnan(value) else value
