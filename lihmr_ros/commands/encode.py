"""``lihmr encode``: pre-encode a synthetic data set with a trained encoder (compact, crop-free copy).

Example (phase 3 of the shipped weights, docs/model_card.md)::

    lihmr encode --data data/synth_train --data data/synth_train2 \\
        --weights runs/lihmr_continue/best.safetensors --out data/encoded_train
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "encode",
        help="replace a synthetic data set's crops by a trained encoder's features (for frozen-encoder training)",
        description=(
            "Write a copy of a `lihmr synth` data set in which each crop is replaced by the image features of the "
            "encoder in --weights (eval mode, as at run time), with targets compacted for "
            "`full_mesh_targets: upsampled` training: about 1.3 kB per frame instead of 50 kB. Train on it with "
            "init_weights set to the same checkpoint; the trainer then freezes the encoder."
        ),
    )
    parser.add_argument(
        "--data", type=Path, required=True, action="append",
        help="data set written by `lihmr synth` (repeat to merge several into one training set)",
    )
    parser.add_argument("--weights", type=Path, required=True, help="checkpoint whose encoder makes the features")
    parser.add_argument("--out", type=Path, required=True, help="output directory (created)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument(
        "--mirrored", action="store_true",
        help="also store the features of every crop flipped left/right, for training with augment.mirror "
        "(twice the encoding time)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lihmr_ros.training.encoded import encode_dataset
    from lihmr_ros.training.trainer import resolve_device

    if any(args.out.resolve() == data.resolve() for data in args.data):
        print("lihmr encode: --out must differ from every --data", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        manifest = encode_dataset(
            args.data, args.weights, args.out, resolve_device(args.device),
            report=lambda line: print(line, file=sys.stderr), mirrored=args.mirrored,
        )
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"lihmr encode: {error}", file=sys.stderr)
        return 2
    frames = sum(entry["frames"] for entry in manifest["shards"])
    size = sum(entry["bytes"] for entry in manifest["shards"])
    print(f"lihmr encode: {frames} frames in {len(manifest['shards'])} shards, {size / 2**20:.1f} MiB, "
          f"{time.perf_counter() - started:.0f} s; written to {args.out}")
    return 0
