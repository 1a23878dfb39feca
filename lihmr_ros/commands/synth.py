"""``lihmr synth``: generate synthetic training / test data, or export it for ``lihmr eval``.

Examples::

    lihmr synth --out data/synth_train --sequences 2000 --workers 2
    lihmr synth --out data/synth_test --sequences 200 --split test
    lihmr synth --out data/synth_eval --sequences 20 --split test --eval-format
    lihmr synth --out reports/noise --sequences 60 --measure-noise
    lihmr synth --out reports/noise --measure-noise --from-data data/synth_mp
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="generate synthetic sequences (Anny bodies, rendered frames, BlazePose keypoints)",
        description=(
            "Render synthetic sequences of Anny bodies and store crops, detector keypoints and 3D ground truth "
            "in sharded .npz files with a manifest.json (deterministic per seed, resumable)."
        ),
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--sequences", type=int, default=None, help="number of sequences to generate (all modes but --from-data)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bytes)")
    parser.add_argument("--split", choices=("train", "test"), default="train", help="which split's settings to use")
    parser.add_argument(
        "--config", type=Path, default=None, help="synth YAML (default: built-in values, as in config/synth.yaml)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (one per CPU core)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--eval-format",
        action="store_true",
        help="write full frames + camera.json + gt.npz per sequence (the `lihmr eval` layout) instead of shards",
    )
    mode.add_argument(
        "--measure-noise",
        action="store_true",
        help="measure MediaPipe's keypoint error on renders and write keypoint_noise.{json,md} to --out",
    )
    parser.add_argument(
        "--stride", type=int, default=4, help="with --measure-noise: run BlazePose on every N-th frame (default 4)"
    )
    parser.add_argument(
        "--from-data",
        type=Path,
        default=None,
        metavar="DIR",
        help="with --measure-noise: fit the whole noise model, its structure over time included, to the BlazePose "
        "keypoints a data set made with keypoints.source: mediapipe already holds (no rendering; "
        "writes keypoint_noise_structure.{json,md})",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lihmr_ros.synth.config import load_config

    if args.from_data is not None:
        return _measure_from_data(args)
    if args.sequences is None or args.sequences < 1:
        print("lihmr synth: --sequences must be at least 1", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("lihmr synth: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config, args.split)
    except (FileNotFoundError, ValueError) as error:
        print(f"lihmr synth: {error}", file=sys.stderr)
        return 2
    progress = not args.no_progress

    if args.measure_noise:
        from lihmr_ros.synth.noise_study import observe, summarise, write_reports

        if args.stride < 1:
            print("lihmr synth: --stride must be at least 1", file=sys.stderr)
            return 2
        observations = observe(config, args.seed, args.sequences, args.stride, progress)
        summary = summarise(observations, config.keypoints.max_detection_error)
        command = (
            f"lihmr synth --measure-noise --out {shlex.quote(str(args.out))} --sequences {args.sequences} "
            f"--seed {args.seed} --split {args.split} --stride {args.stride}"
        )
        json_path, markdown_path = write_reports(args.out, summary, command)
        print(f"detection rate {summary['detection_rate']:.3f} on {summary['frames']} renders")
        print(f"wrote {json_path} and {markdown_path}")
        return 0

    if args.eval_format:
        from lihmr_ros.synth.eval_export import export_eval_dataset

        summary = export_eval_dataset(args.out, config, args.seed, args.sequences, progress)
        rate = summary.frames / summary.seconds if summary.seconds > 0 else 0.0
        print(f"wrote {summary.sequences} sequences ({summary.frames} frames) to {args.out} in {summary.seconds:.1f} s "
              f"({rate:.1f} samples/s)")
        return 0

    from lihmr_ros.synth.dataset_writer import generate_dataset

    try:
        result = generate_dataset(args.out, config, args.seed, args.sequences, args.workers, progress)
    except ValueError as error:
        print(f"lihmr synth: {error}", file=sys.stderr)
        return 2
    counts = result.manifest["counts"]
    print(
        f"{args.out}: {counts['sequences']} sequences, {counts['frames']} frames "
        f"({counts['valid_frames']} valid, {counts['mediapipe_frames']} with MediaPipe keypoints), "
        f"{counts['bytes'] / 1e6:.1f} MB"
    )
    print(
        f"this run: {result.shards_written} shards written, {result.shards_skipped} reused, "
        f"{result.frames_generated} samples in {result.seconds:.1f} s = {result.samples_per_second:.1f} samples/s"
    )
    return 0


def _measure_from_data(args: argparse.Namespace) -> int:
    """``--measure-noise --from-data DIR``: fit the structured noise model to a data set's BlazePose keypoints."""
    from lihmr_ros.synth.noise_structure import read_errors, summarise, write_reports

    if not args.measure_noise:
        print("lihmr synth: --from-data only goes with --measure-noise", file=sys.stderr)
        return 2
    try:
        summary = summarise(read_errors(args.from_data))
    except (FileNotFoundError, ValueError) as error:
        print(f"lihmr synth: {error}", file=sys.stderr)
        return 2
    command = (
        f"lihmr synth --measure-noise --from-data {shlex.quote(str(args.from_data))} "
        f"--out {shlex.quote(str(args.out))}"
    )
    json_path, markdown_path = write_reports(args.out, summary, command)
    fitted = summary["fitted_noise"]
    print(
        f"{summary['frames_with_blazepose']} frames with BlazePose keypoints in {summary['sequences']} sequences: "
        f"sequence share {fitted['sequence_share']}, drift share {fitted['temporal_share']} "
        f"(frame-to-frame {fitted['temporal_correlation']}), outliers {fitted['outlier_probability']} "
        f"(persistence {fitted['outlier_persistence']})"
    )
    print(f"wrote {json_path} and {markdown_path}")
    return 0
