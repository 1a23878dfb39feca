"""``lihmr bench``: cost and speed measurements, one sub-command per target.

``lihmr bench model`` measures the network (low-dimensional vs full-dimension
refiner in the same run); ``lihmr bench node`` measures the running system
(camera process -> lihmr_node -> subscriber) end to end.  Each target registers itself below through its own
``_register_<target>`` function so that new targets do not touch the others.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="measure cost and speed (model, ...)")
    targets = parser.add_subparsers(dest="bench_target", metavar="TARGET", required=True)
    _register_model(targets)
    _register_node(targets)


def _register_model(targets: argparse._SubParsersAction) -> None:
    parser = targets.add_parser(
        "model",
        help="params, GFLOPs and CPU latency of the low-dim vs full-dim refiner and the streaming network",
        description=(
            "Builds the network twice (interaction low and full) on the same template and measures, for one "
            "person: stage-2 refiner params / GFLOPs / latency (torch and onnxruntime), whole-network params "
            "and GFLOPs per streaming frame, and the streaming frame latency (encoder on the newest crop, "
            "stages 1+2 over the window). Weights do not affect cost, so no checkpoint is needed."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--config", type=Path, default=None, help="network config YAML (default: built-in defaults = config/model.yaml)"
    )
    parser.add_argument(
        "--template", type=Path, default=None, help="mesh template .npz (default: the packaged Anny template)"
    )
    parser.add_argument("--repeats", type=int, default=50, help="timed runs per measurement (median reported)")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads for torch and onnxruntime")
    parser.add_argument("--warmup", type=float, default=0.3, help="seconds of untimed runs before each measurement")
    backends = parser.add_argument_group(
        "inference backends",
        "With --backend (repeatable), time the runtime's streaming frame (encode the newest crop of each person, "
        "then stages 1+2 over their windows) through each backend instead, and report latency and throughput. "
        "Weights: --checkpoint, else a seeded random-init network of --config when given, else the shipped "
        "default weights when present, else a random-init default network.",
    )
    backends.add_argument(
        "--backend", action="append", choices=("torch", "onnxruntime", "tensorrt"), help="backend to time"
    )
    backends.add_argument("--batch", type=int, default=None, help="persons per frame (default 1)")
    backends.add_argument("--checkpoint", type=Path, default=None, help="trained checkpoint to load")
    backends.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    backends.add_argument(
        "--flip-averaging", action="store_true",
        help="time each backend with flip averaging (node parameter flip_averaging): every person run twice",
    )
    backends.add_argument(
        "--cache-dir", type=Path, default=None, help="ONNX/engine cache root (default ~/.cache/lihmr/engines)"
    )
    parser.set_defaults(handler=_bench_model)


def _bench_model(args: argparse.Namespace) -> int:
    from lihmr_ros.model.config import NetworkConfig
    from lihmr_ros.model.cost import compare_interactions, format_table
    from lihmr_ros.model.templates import resolve_template

    if args.repeats < 1 or args.threads < 1 or args.warmup < 0:
        raise SystemExit("lihmr bench model: --repeats and --threads must be >= 1, --warmup >= 0")
    if args.backend:
        return _bench_backends(args)
    if (args.batch is not None or args.checkpoint is not None or args.cache_dir is not None
            or args.device != "auto" or args.flip_averaging):
        raise SystemExit(
            "lihmr bench model: --batch, --checkpoint, --device, --cache-dir and --flip-averaging apply to "
            "--backend runs only"
        )
    try:
        config = NetworkConfig.from_yaml(args.config) if args.config else NetworkConfig()
        template = resolve_template(args.template)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"lihmr bench model: {error}") from error
    report = compare_interactions(
        config, template, repeats=args.repeats, threads=args.threads, warmup_s=args.warmup
    )
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


def _bench_backends(args: argparse.Namespace) -> int:
    """``--backend``: latency and throughput of each requested backend, one after the other."""
    import logging
    import tempfile

    from lihmr_ros.model.checkpoint import DEFAULT_CHECKPOINT
    from lihmr_ros.runtime import BackendUnavailableError, create_backend
    from lihmr_ros.runtime.bench import bench_backend, random_init_checkpoint

    batch = 1 if args.batch is None else args.batch
    if batch < 1:
        raise SystemExit("lihmr bench model: --batch must be >= 1")
    if args.checkpoint is not None and args.config is not None:
        raise SystemExit("lihmr bench model: a checkpoint carries its own config; give --checkpoint or --config")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="lihmr-bench-") as scratch:
        if args.checkpoint is not None:
            checkpoint, weights = args.checkpoint, str(args.checkpoint)
        elif args.config is None and DEFAULT_CHECKPOINT.is_file():
            checkpoint, weights = DEFAULT_CHECKPOINT, str(DEFAULT_CHECKPOINT)
        else:
            checkpoint = random_init_checkpoint(args.config, args.template, Path(scratch))
            weights = f"random init (seed 0) of {args.config or 'the default config'}"
        results = {}
        for name in dict.fromkeys(args.backend):
            try:
                backend = create_backend(
                    name, checkpoint, max_people=batch, device=args.device, cache_dir=args.cache_dir,
                    threads=args.threads, template_path=args.template, flip_averaging=args.flip_averaging,
                )
            except BackendUnavailableError as error:
                raise SystemExit(f"lihmr bench model: {error}") from error
            try:
                results[name] = bench_backend(backend, batch, args.repeats, args.warmup)
            finally:
                backend.close()
    report = {"batch": batch, "threads": args.threads, "repeats": args.repeats, "weights": weights,
              "flip_averaging": args.flip_averaging, "backends": results}
    if "torch" in results:
        torch_ms = results["torch"]["frame_ms"]
        report["frame_speedup_over_torch"] = {name: torch_ms / result["frame_ms"] for name, result in results.items()}
    print(json.dumps(report, indent=2) if args.json else _format_backends(report))
    return 0


def _format_backends(report: dict) -> str:
    lines = [
        f"{report['batch']} person(s) per frame, {report['threads']} CPU threads, median of {report['repeats']}; "
        f"weights: {report['weights']}",
        f"{'backend':14s}{'encode ms':>11s}{'infer ms':>10s}{'frame ms':>10s}{'frames/s':>10s}{'persons/s':>11s}",
    ]
    for name, result in report["backends"].items():
        lines.append(
            f"{name:14s}{result['encode_ms']:>11.2f}{result['infer_ms']:>10.2f}{result['frame_ms']:>10.2f}"
            f"{result['frames_per_s']:>10.1f}{result['persons_per_s']:>11.1f}"
        )
    for name, result in report["backends"].items():
        lines.append(f"{name}: {result['description']}")
    for name, speedup in report.get("frame_speedup_over_torch", {}).items():
        if name != "torch":
            lines.append(f"{name} frame is {speedup:.2f}x faster than torch")
    return "\n".join(lines)


NODE_SCENES = {"one": "messi5.jpg", "many": "vtest.avi"}
"""``--scene``: one full-body player (a still, repeated) or several walking pedestrians (video), from opencv-doc."""


def _register_node(targets: argparse._SubParsersAction) -> None:
    parser = targets.add_parser(
        "node",
        help="output FPS and end-to-end latency of lihmr_node fed by a camera process over DDS",
        description=(
            "Starts lihmr_node and a camera process (separate processes, own ROS domain, shared-memory transport) "
            "that publishes real footage at a fixed rate, records the node's results, and reports output FPS, "
            "latency from the camera's publish stamp to the result's arrival (p50/p95), frames in/out/dropped and "
            "the node's per-stage times from /diagnostics. Nobody subscribes to overlay or markers, so the node "
            "skips drawing them, as on a robot that only consumes meshes. A benchmark: it prints numbers, it does "
            "not pass or fail."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--frames", type=int, default=150, help="frames to publish (default 150)")
    parser.add_argument("--rate", type=float, default=30.0, help="camera rate in Hz (default 30)")
    parser.add_argument("--scene", choices=tuple(NODE_SCENES), default="one",
                        help="one: messi5.jpg (one person); many: vtest.avi (pedestrians); default one")
    parser.add_argument("--size", default="640x480", metavar="WxH", help="published image size (default 640x480)")
    parser.add_argument("--weights", type=Path, default=None,
                        help="network checkpoint (default: the shipped lihmr_default.safetensors)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME:=VALUE",
                        help="extra lihmr_node parameter, e.g. --param backend:=torch (repeatable)")
    parser.add_argument("--domain-id", type=int, default=None, help="ROS domain (default: a random one)")
    parser.set_defaults(handler=_bench_node)


def _bench_node(args: argparse.Namespace) -> int:
    import tempfile

    from lihmr_ros.commands.demo import checkpoint_window, parse_node_parameters
    from lihmr_ros.demo import session
    from lihmr_ros.demo.camera_process import CameraSettings, camera_intrinsics, parse_size
    from lihmr_ros.demo.frames import OPENCV_DATA_DIR
    from lihmr_ros.demo.processes import random_domain_id
    from lihmr_ros.demo.summary import format_summary, summarize

    footage = OPENCV_DATA_DIR / NODE_SCENES[args.scene]
    try:
        if args.frames < 2 or not args.rate > 0:
            raise ValueError(f"--frames must be >= 2 and --rate positive, got {args.frames} and {args.rate}")
        if not footage.is_file():
            raise FileNotFoundError(f"{footage} is missing: install the Debian package opencv-doc (scripts/setup.sh)")
        width, height = parse_size(args.size)
        node_parameters = parse_node_parameters(args.param)
        weights = args.weights.resolve() if args.weights is not None else None
        window = checkpoint_window(weights)
    except (ValueError, OSError) as error:
        raise SystemExit(f"lihmr bench node: {error}") from error
    camera = CameraSettings(
        source=str(footage), fps=args.rate, max_frames=args.frames, start=0, width=width, height=height,
        intrinsics=camera_intrinsics(width, height, None, None, None, None),
        image_topic=session.IMAGE_TOPIC, camera_info_topic=session.CAMERA_INFO_TOPIC,
        frame_id="camera_optical_frame",
    )
    quiet = (lambda line: None) if args.json else (lambda line: print(f"[bench] {line}", flush=True))
    with tempfile.TemporaryDirectory(prefix="lihmr-bench-node-") as scratch:
        config = session.SessionConfig(
            camera=camera, weights=weights, window=window, bag_path=Path(scratch) / "bag",
            log_dir=Path(scratch) / "logs", topics=session.RESULT_TOPICS,
            domain_id=args.domain_id if args.domain_id is not None else random_domain_id(),
            node_parameters=node_parameters,
        )
        try:
            report = session.run_session(config, progress=quiet)
        except session.SessionError as error:
            raise SystemExit(f"lihmr bench node: {error}") from error
        summary = summarize(report.bag_path, session.HUMANS_TOPIC, session.DIAGNOSTICS_TOPIC,
                            frames_in=report.camera["published"], input_fps=args.rate)
    summary.update({"scene": args.scene, "image_size": [width, height], "camera_late_frames": report.camera["late"],
                    "node_start_s": round(report.node_start_s, 1), "weights": str(weights or "shipped default"),
                    "node_parameters": node_parameters})
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0
