"""The ``lihmr`` console command.

Each subcommand lives in its own module under ``lihmr_ros.commands`` and exposes
``register(subparsers)``; this file only wires them together, so adding a
command never touches another command's code and ``lihmr --help`` stays cheap
(heavy imports happen inside each command's handler, not at registration).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# Modules under lihmr_ros.commands, in the order they appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "bench",
    "export",
    "body",
    "synth",
    "node",
    "encode",
    "train",
    "average",
    "eval",
    "compare",
    "eval_real",
    "demo",
    "bag",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="lihmr",
        description="Real-time 3D human mesh recovery (LIHMR) for ROS 2.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"lihmr_ros.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lihmr`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
