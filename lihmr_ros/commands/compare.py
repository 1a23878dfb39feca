"""``lihmr compare``: is a candidate checkpoint better than the baseline on the same sequences?

Examples::

    make eval-selection EVAL_ARGS="--report out/shipped.json"
    make eval-selection EVAL_ARGS="--weights runs/lihmr_phase10/best.safetensors --report out/phase10.json"
    lihmr compare out/shipped.json out/phase10.json

Prints, per error, the pooled values, the mean per-sequence difference with its
paired-bootstrap interval, and whether the candidate passes the shipping rule of
docs/model_card.md (see :mod:`lihmr_ros.evaluation.paired`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from lihmr_ros.evaluation.paired import DEFAULT_CONFIDENCE, DEFAULT_DRAWS

    parser = subparsers.add_parser(
        "compare",
        help="paired per-sequence comparison of two `lihmr eval --report` files, and the shipping decision",
        description=(
            "Pair two evaluation reports of the same sequences (baseline first, candidate second), bootstrap the "
            "mean per-sequence difference of MPJPE, PA-MPJPE, MPVE and PA-MPVE over sequences, and say whether "
            "the candidate ships: its PA-MPJPE and MPVE intervals must both lie below zero."
        ),
    )
    parser.add_argument("baseline", type=Path, help="report of the shipped (or reference) checkpoint")
    parser.add_argument("candidate", type=Path, help="report of the checkpoint that would replace it")
    parser.add_argument("--draws", type=int, default=DEFAULT_DRAWS, help="bootstrap resamples (default %(default)s)")
    parser.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE, help="interval (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap random seed (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lihmr_ros.evaluation.paired import COMPARED_METRICS, SHIPPING_METRICS, paired_difference, read_report, ships

    try:
        baseline, candidate = read_report(args.baseline), read_report(args.candidate)
        differences = {
            metric: paired_difference(baseline, candidate, metric, args.draws, args.seed, args.confidence)
            for metric in COMPARED_METRICS
        }
    except (FileNotFoundError, ValueError) as error:
        print(f"lihmr compare: {error}", file=sys.stderr)
        return 2
    if baseline.data and candidate.data and baseline.data != candidate.data:
        print(f"lihmr compare: warning: the reports come from different directories ({baseline.data} and "
              f"{candidate.data}); their sequence names match, so the data are assumed equal", file=sys.stderr)
    decision = ships(differences)
    if args.json:
        print(json.dumps({
            "ships": decision,
            "differences": {metric: vars(difference) for metric, difference in differences.items()},
        }))
        return 0
    percent = round(100 * args.confidence)
    print(f"{'metric':<9} {'baseline':>9} {'candidate':>9} {'mean diff':>10} {f'{percent} % interval':>17} better")
    for metric, difference in differences.items():
        print(
            f"{metric:<9} {difference.baseline:9.1f} {difference.candidate:9.1f} {difference.mean:+10.2f} "
            f"{f'{difference.low:+.2f}..{difference.high:+.2f}':>17} {difference.better}/{difference.sequences}"
        )
    verdict = "ships" if decision else "does not ship"
    print(f"candidate {verdict}: it must beat the baseline on {' and '.join(SHIPPING_METRICS)} with the whole "
          "interval below zero")
    return 0
