"""``lihmr average``: the uniform weight average of checkpoints of one network (a "model soup").

Example (two consecutive training phases, then the shipping rule decides)::

    lihmr average runs/lihmr_phase9/best.safetensors runs/lihmr_phase10/best.safetensors \\
        --out runs/soup_9_10.safetensors
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "average",
        help="average the weights of checkpoints of one network",
        description=(
            "Write the uniform average of two or more checkpoints with the same network config and mesh template "
            "(e.g. consecutive training phases); the sources and their SHA-256 are recorded in the output's "
            "metadata. Judge the result like any checkpoint: `lihmr eval --report`, then `lihmr compare`."
        ),
    )
    parser.add_argument("checkpoints", type=Path, nargs="+", help="checkpoints to average (two or more)")
    parser.add_argument("--out", type=Path, required=True, help="output checkpoint (.safetensors)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lihmr_ros.model.checkpoint import average_checkpoints

    try:
        out = average_checkpoints(args.checkpoints, args.out)
    except (FileNotFoundError, ValueError) as error:
        print(f"lihmr average: {error}", file=sys.stderr)
        return 2
    print(f"lihmr average: {len(args.checkpoints)} checkpoints averaged into {out}")
    return 0
