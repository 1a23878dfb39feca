"""``lihmr train``: train the LIHMR network on synthetic data.

Examples::

    lihmr train --config config/train.yaml
    lihmr train --config config/train.yaml --out runs/try --max-steps 200
    lihmr train --config config/train.yaml --resume        # continue DIR/last.* where it stopped
    lihmr train --config config/ablation_train.yaml --network config/ablations/full_interaction.yaml \
        --out runs/ablation_full                            # same recipe, another architecture
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the network on synthetic shards (writes last/best .safetensors and log.csv)",
        description=(
            "Train LIHMR on data written by `lihmr synth`. Writes OUT/last.safetensors (+ last.state.pt for "
            "--resume), OUT/best.safetensors (best validation metric) and OUT/log.csv."
        ),
    )
    parser.add_argument("--config", type=Path, required=True, help="training YAML (see config/train.yaml)")
    parser.add_argument("--out", type=Path, default=None, help="run directory (overrides the config's out)")
    parser.add_argument(
        "--network", type=Path, default=None, help="network YAML (overrides the config's network; ablations)"
    )
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in this call")
    parser.add_argument("--resume", action="store_true", help="continue the run in the out directory")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lihmr_ros.training.config import TrainConfig

    if args.max_steps is not None and args.max_steps < 1:
        print("lihmr train: --max-steps must be at least 1", file=sys.stderr)
        return 2
    try:
        config = TrainConfig.from_yaml(args.config)
        if args.out is not None:
            config = config.with_overrides(out=str(args.out))
        if args.network is not None:  # a missing file is reported when the trainer reads it
            config = config.with_overrides(network=str(args.network))
    except (FileNotFoundError, ValueError) as error:
        print(f"lihmr train: {error}", file=sys.stderr)
        return 2

    from lihmr_ros.training.trainer import Trainer

    try:
        trainer = Trainer(config, resume=args.resume, report=lambda line: print(line, file=sys.stderr))
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"lihmr train: {error}", file=sys.stderr)
        return 2
    result = trainer.run(max_steps=args.max_steps, progress=not args.no_progress)
    best = "" if math.isnan(result.best_metric) else f", best {config.best_metric} {result.best_metric:.1f} mm"
    print(f"lihmr train: {result.steps} steps, last loss {result.last_loss:.4f}{best}; weights in {result.out}")
    return 0
