"""``lihmr bag process IN OUT``: run the node's pipeline offline over every image of a rosbag2 bag.

The output bag holds every input message plus ``<namespace>/humans``,
``mesh_topology``, ``markers`` (and ``overlay`` with ``--overlay``), stamped
with the input images' stamps and stored at their bag times, as if the node
had run live and kept up with every frame.  The node's parameters come from
the same params file the node uses (default: the installed
``config/lihmr.yaml``) plus ``--param NAME:=VALUE``; ``window`` follows the
checkpoint unless given with ``--param``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ERROR_STATUS = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bag", help="process rosbag2 bags offline (lihmr bag process IN OUT)",
                                   description="Offline work on rosbag2 bags (MCAP or sqlite3).")
    actions = parser.add_subparsers(dest="bag_command", metavar="ACTION", required=True)
    process = actions.add_parser(
        "process", help="run the mesh recovery pipeline on every image of a bag; write a new bag with the results",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
    )
    process.add_argument("input", type=Path, metavar="IN", help="input bag directory")
    process.add_argument("output", type=Path, metavar="OUT", help="output bag directory (must not exist)")
    process.add_argument("--image-topic", help="camera topic (Image or CompressedImage); default: the bag's only one")
    process.add_argument("--camera-info-topic",
                         help="CameraInfo topic; default: camera_info beside the image topic, or the bag's only one")
    process.add_argument("--intrinsics", type=float, nargs=4, metavar=("FX", "FY", "CX", "CY"),
                         help="camera intrinsics in pixels of the bag's images (instead of camera_info)")
    process.add_argument("--assume-intrinsics", action="store_true",
                         help="without camera_info, place people with an assumed camera (distances are guesses)")
    process.add_argument("--params-file", type=Path, default=None,
                         help="ROS params file of lihmr_node (default: the installed config/lihmr.yaml)")
    process.add_argument("--weights", type=Path, default=None,
                         help="network checkpoint (default: the params file's, else the shipped weights)")
    process.add_argument("--param", action="append", default=[], metavar="NAME:=VALUE",
                         help="lihmr_node parameter, e.g. --param backend:=onnxruntime (repeatable)")
    process.add_argument("--namespace", default="/replay", help="namespace of the output topics (default /replay)")
    process.add_argument("--overlay", action="store_true", help="also write <namespace>/overlay images")
    process.add_argument("--storage", choices=("mcap", "sqlite3"), default=None,
                         help="output bag storage (default: the input's)")
    process.add_argument("--quiet", action="store_true", help="no progress bar")
    process.set_defaults(handler=_run_process)


def _settings(args: argparse.Namespace):
    """The node settings of this run (the node's own validation; window from the checkpoint by default)."""
    from lihmr_ros import paths
    from lihmr_ros.model.checkpoint import CheckpointMismatchError, read_metadata
    from lihmr_ros.replay import node_parameter_values
    from lihmr_ros.ros.settings import SettingsError, settings_from_values

    params_file = args.params_file if args.params_file is not None else paths.config_file("lihmr.yaml")
    values = node_parameter_values(params_file, args.param)
    if args.weights is not None:
        values["weights"] = str(args.weights.expanduser().resolve())
    if not any(item.startswith("window:=") for item in args.param) and values.get("weights"):
        try:
            values["window"] = read_metadata(Path(str(values["weights"])).expanduser())["network_config"].window
        except (CheckpointMismatchError, OSError) as error:
            raise SettingsError(f"invalid parameter 'weights': {error}") from error
    return settings_from_values(values)


def _run_process(args: argparse.Namespace) -> int:
    import logging

    from tqdm import tqdm

    from lihmr_ros.replay import ReplayOptions, ReplayTopicError, process_bag
    from lihmr_ros.ros.settings import SettingsError

    logging.basicConfig(level=logging.INFO, format="[bag process] %(message)s")
    options = ReplayOptions(
        image_topic=args.image_topic, camera_info_topic=args.camera_info_topic,
        intrinsics=tuple(args.intrinsics) if args.intrinsics else None, assume_intrinsics=args.assume_intrinsics,
        namespace=args.namespace, overlay=args.overlay, storage=args.storage,
    )
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if args.quiet:
            return
        if bar is None:
            bar = tqdm(total=total, unit="img", desc="processing")
        bar.update(done - bar.n)

    try:
        summary = process_bag(args.input, args.output, _settings(args), options, progress)
    except (SettingsError, ReplayTopicError, FileNotFoundError, FileExistsError) as error:
        print(f"lihmr bag process: error: {error}")
        return ERROR_STATUS
    finally:
        if bar is not None:
            bar.close()
    print(format_summary(summary))
    return 0


def format_summary(summary) -> str:
    """A short report: what was read, what was written, how fast."""
    processed = max(summary.processed, 1)
    lines = [
        f"input   {summary.input_path}: {summary.images} images on {summary.topics.image}"
        f" ({'compressed' if summary.topics.compressed else 'raw'}), intrinsics from {summary.camera}",
        f"output  {summary.output_path}: {summary.processed} images processed, {summary.frames_with_people} with "
        f"people, {summary.people / processed:.2f} people per image",
        f"speed   {summary.pipeline_ms / processed:.1f} ms per image in the pipeline, {summary.wall_s:.1f} s in all",
        "topics  " + ", ".join(f"{topic} {count}" for topic, count in sorted(summary.written.items())),
    ]
    if summary.bad_images or summary.bad_camera_infos:
        lines.append(f"skipped {summary.bad_images} unusable images, {summary.bad_camera_infos} unusable "
                     f"camera_info messages; first: {summary.first_error}")
    if summary.floor_sized_people:
        lines.append(f"floor   sized {summary.floor_sized_people} of {summary.people} person-frames, "
                     f"{summary.floor_clamped_people} held at ground.min_scale / ground.max_scale")
    if summary.floor_clamped_people:
        lines.append("warning the floor disagrees with these people's bodies beyond the clamp: check "
                     "ground.camera_height and ground.camera_pitch_deg against the camera mount, and that the "
                     "people stand on that floor")
    lines += [f"not copied: {topic}" for topic in summary.skipped_topics]
    return "\n".join(lines)
