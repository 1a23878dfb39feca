"""``lihmr demo``: run the whole system on recorded footage and keep what a robot would record.

A camera process publishes a video or image folder as ``sensor_msgs/Image`` +
``CameraInfo``, ``lihmr_node`` runs as its own process with the installed
params file, and a recorder writes the camera and every node output into a
rosbag2 bag; afterwards the bag is turned into an overlay video, per-track
meshes and a summary in ``--out``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = Path("out/demo")
BAG_NAME = "bag"


def register(subparsers: argparse._SubParsersAction) -> None:
    from lihmr_ros.demo.camera_process import add_camera_arguments

    parser = subparsers.add_parser(
        "demo",
        help="run camera -> lihmr_node -> recorder on real footage; write a bag, overlay video, meshes, summary",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
    )
    add_camera_arguments(parser)
    parser.add_argument("--weights", type=Path, default=None,
                        help="network checkpoint for the node (default: the shipped lihmr_default.safetensors)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    parser.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap", help="bag storage (default mcap)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME:=VALUE",
                        help="extra lihmr_node parameter, e.g. --param max_people:=2 (repeatable)")
    parser.add_argument("--domain-id", type=int, default=None,
                        help="ROS domain for this run (default: a random one, so runs never see each other)")
    parser.add_argument("--snapshots", type=int, default=3,
                        help="overlay frames also saved as overlay_<n>.png (default 3)")
    parser.set_defaults(handler=_run_demo)


def parse_node_parameters(items: list[str]) -> dict[str, str]:
    """``["max_people:=2"]`` -> ``{"max_people": "2"}``, rejecting anything without ``:=``."""
    parameters = {}
    for item in items:
        name, separator, value = item.partition(":=")
        if not separator or not name:
            raise ValueError(f"--param expects NAME:=VALUE, got {item!r}")
        parameters[name] = value
    return parameters


def checkpoint_window(weights: Path | None) -> int:
    """The temporal window of ``weights`` (default: the shipped checkpoint), which the node must be given."""
    from lihmr_ros.model.checkpoint import DEFAULT_CHECKPOINT, read_metadata

    path = weights if weights is not None else DEFAULT_CHECKPOINT
    if not path.is_file():
        hint = (" (the shipped weights are not installed in this checkout; pass --weights CHECKPOINT)"
                if weights is None else "")
        raise FileNotFoundError(f"checkpoint {path} does not exist{hint}")
    return int(read_metadata(path)["network_config"].window)


def _clear_previous_run(out: Path) -> None:
    """Remove what an earlier demo wrote to ``out`` (and nothing else), so a re-run starts clean."""
    import shutil

    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file; give a directory")
    for name in (BAG_NAME, "meshes", "logs"):
        shutil.rmtree(out / name, ignore_errors=True)
    for pattern in ("overlay.mp4", "overlay_*.png", "summary.json"):
        for path in out.glob(pattern):
            path.unlink()


def _run_demo(args: argparse.Namespace) -> int:
    import json

    from lihmr_ros.demo import outputs, session
    from lihmr_ros.demo.camera_process import settings_from_arguments
    from lihmr_ros.demo.processes import random_domain_id
    from lihmr_ros.demo.summary import format_summary, summarize

    try:
        camera = settings_from_arguments(args, session.IMAGE_TOPIC, session.CAMERA_INFO_TOPIC)
        node_parameters = parse_node_parameters(args.param)
        weights = args.weights.resolve() if args.weights is not None else None
        window = checkpoint_window(weights)
        if args.snapshots < 0:
            raise ValueError(f"--snapshots must be >= 0, got {args.snapshots}")
        out = args.out.resolve()
        _clear_previous_run(out)
    except (ValueError, OSError) as error:
        raise SystemExit(f"lihmr demo: {error}") from error

    config = session.SessionConfig(
        camera=camera, weights=weights, window=window, bag_path=out / BAG_NAME, log_dir=out / "logs",
        domain_id=args.domain_id if args.domain_id is not None else random_domain_id(),
        storage=args.storage, node_parameters=node_parameters,
    )
    report_line = lambda line: print(f"[demo] {line}", flush=True)  # noqa: E731
    try:
        report = session.run_session(config, progress=report_line)
    except session.SessionError as error:
        raise SystemExit(f"lihmr demo: {error}") from error
    except KeyboardInterrupt:
        raise SystemExit(f"lihmr demo: interrupted; processes stopped, partial bag in {config.bag_path}") from None

    report_line("writing overlay video, meshes and summary from the bag")
    summary = summarize(report.bag_path, session.HUMANS_TOPIC, session.DIAGNOSTICS_TOPIC,
                        frames_in=report.camera["published"], input_fps=camera.fps)
    overlay_frames = outputs.write_overlay_video(
        report.bag_path, session.OVERLAY_TOPIC, session.HUMANS_TOPIC, out / "overlay.mp4",
        snapshot_dir=out, snapshots=args.snapshots,
    )
    meshes = outputs.write_track_meshes(report.bag_path, session.HUMANS_TOPIC, session.TOPOLOGY_TOPIC,
                                        out / "meshes")
    summary.update({
        "input": camera.source,
        "image_size": [camera.width, camera.height],
        "camera_late_frames": report.camera["late"],
        "node_start_s": round(report.node_start_s, 1),
        "stream_s": round(report.stream_s, 1),
        "overlay_frames": overlay_frames,
        "bag": str(report.bag_path),
        "bag_messages": report.bag_counts,
        "meshes": {track: f"meshes/{name}" for track, name in meshes.items()},
        "weights": str(weights) if weights is not None else "shipped default",
    })
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(format_summary(summary))
    print(f"outputs in {out}: bag/ ({args.storage}), overlay.mp4 ({overlay_frames} frames), "
          f"{len(meshes)} meshes in meshes/, summary.json")
    return 0
