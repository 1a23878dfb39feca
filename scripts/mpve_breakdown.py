#!/usr/bin/env python3
"""Break a checkpoint's MPVE down into global rotation (heading, tilt), global size and the rest
(docs/model_card.md, "Where MPVE comes from").

Usage: ``python scripts/mpve_breakdown.py DATA_DIR [--weights W] [--flip-averaging]``.  Runs the node's
pipeline over every sequence of the ``lihmr eval`` layout in DATA_DIR with the network's own sizes (no floor),
then prints MPVE (mm) as measured and with each global part replaced by the truth
(:mod:`lihmr_ros.evaluation.mpve_breakdown`), and the size error's per-person bias against its noise.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import numpy as np

from lihmr_ros.evaluation.mpve_breakdown import CORRECTIONS, breakdown_sequence, summarise
from lihmr_ros.evaluation.runner import PipelineFactory, run_sequence
from lihmr_ros.evaluation.sequences import find_sequences, load_sequence
from lihmr_ros.model.checkpoint import DEFAULT_CHECKPOINT


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="evaluation data directory (lihmr eval layout)")
    parser.add_argument("--weights", type=Path, default=DEFAULT_CHECKPOINT, help="checkpoint (default: shipped)")
    parser.add_argument("--flip-averaging", action="store_true", help="as the node parameter flip_averaging")
    args = parser.parse_args(argv)
    # The node's pipeline starts no DDS participant, but should anything in it ever do, it stays on this machine.
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.setdefault("ROS_DOMAIN_ID", "61")
    factory = PipelineFactory(args.weights, "auto", "auto", logging.getLogger("mpve_breakdown"), args.flip_averaging)
    breakdowns = []
    try:
        for path in find_sequences(args.data):
            sequence = load_sequence(path)
            prediction = run_sequence(factory.fresh(None), sequence)
            usable = prediction.detected & np.isfinite(sequence.vertices).all(axis=(1, 2))
            if usable.any():
                breakdowns.append(breakdown_sequence(
                    prediction.vertices[usable], prediction.joints3d[usable],
                    sequence.vertices[usable], sequence.joints3d[usable],
                ))
    finally:
        factory.close()
    summary = summarise(breakdowns)
    print(f"{args.weights}{' (flip-averaged)' if args.flip_averaging else ''} on {args.data}: "
          f"{len(breakdowns)} sequences, {summary['frames']} detected frames")
    for name in CORRECTIONS:
        label = "MPVE as measured" if name == "none" else f"with the true {name.replace('_', ' ')}"
        print(f"  {label:<36} {summary[f'mpve_{name}']:6.1f} mm")
    print(f"  log size ratio: per-person bias {summary['log_size_bias']:.3f}, "
          f"frame-to-frame noise {summary['log_size_noise']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
