"""``lihmr export``: write a trained network as inference graphs.

The graphs are checked against PyTorch (onnxruntime parity) and against
TensorRT's ONNX operator support before the command reports success, so a
broken export fails here and not on the robot.  ``--format tensorrt`` then
builds TensorRT engines of the streaming graphs into the same directory, with
the runtime's engine-cache records (``lihmr_ros.runtime.tensorrt_engine``), so
re-running it after a change rebuilds only what changed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

PARITY_TOLERANCE_M = 1e-4


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export the trained network to ONNX graphs",
        description=(
            "Writes encoder.onnx, stage1.onnx, stage2.onnx, temporal.onnx (stages 1+2 fused) and manifest.json "
            "to --out, then checks onnxruntime against PyTorch and every operator against TensorRT's ONNX "
            "support list."
        ),
    )
    parser.add_argument(
        "--format", choices=("onnx", "tensorrt"), required=True, help="graph format (tensorrt: ONNX + engines)"
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="trained checkpoint (default: lihmr_ros/weights/lihmr_default.safetensors)",
    )
    parser.add_argument(
        "--template", type=Path, default=None, help="mesh template .npz (default: the packaged Anny template)"
    )
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 17)")
    tensorrt = parser.add_argument_group("--format tensorrt")
    tensorrt.add_argument("--max-people", type=int, default=4, help="largest person batch the engines accept")
    tensorrt.add_argument("--device", default="cuda", help="GPU to build for: cuda or cuda:N")
    tensorrt.add_argument("--precision", choices=("auto", "fp32", "fp16"), default="auto", help="engine precision")
    parser.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> int:
    from lihmr_ros.model.checkpoint import DEFAULT_CHECKPOINT, load_checkpoint
    from lihmr_ros.model.export import export_onnx, max_abs_error_vs_torch
    from lihmr_ros.model.templates import resolve_template
    from lihmr_ros.model.tensorrt_ops import unsupported_by_tensorrt

    if args.format == "tensorrt":
        from lihmr_ros.runtime import BackendUnavailableError
        from lihmr_ros.runtime.tensorrt_backend import check_tensorrt_available

        try:
            check_tensorrt_available(args.device)  # before minutes of export work, not after
        except BackendUnavailableError as error:
            raise SystemExit(f"lihmr export --format tensorrt: {error}") from error
    try:
        network = load_checkpoint(args.checkpoint or DEFAULT_CHECKPOINT, resolve_template(args.template))
    except (FileNotFoundError, ValueError) as error:  # missing file, or checkpoint/template mismatch
        raise SystemExit(f"lihmr export: {error}") from error
    manifest = export_onnx(network, args.out, opset=args.opset)
    errors = max_abs_error_vs_torch(network, args.out)
    failed = False
    for name, graph in manifest["graphs"].items():
        path = args.out / graph["file"]
        unsupported = sorted(unsupported_by_tensorrt(path))
        status = "ok"
        if errors[name] > PARITY_TOLERANCE_M:
            status, failed = f"onnxruntime differs from PyTorch by {errors[name]:.2e}", True
        if unsupported:
            status, failed = f"ops not supported by TensorRT: {', '.join(unsupported)}", True
        print(f"{path}  max|ort - torch| = {errors[name]:.2e}  {status}")
    print(f"{args.out / 'manifest.json'}")
    if failed:
        return 1
    if args.format == "tensorrt":
        _build_engines(args, manifest)
    return 0


def _build_engines(args: argparse.Namespace, manifest: dict) -> None:
    """Build (or reuse, when their records still match) the runtime's TensorRT engines in ``--out``."""
    import logging

    from lihmr_ros.model.checkpoint import DEFAULT_CHECKPOINT
    from lihmr_ros.runtime import BackendUnavailableError
    from lihmr_ros.runtime.onnx_graphs import OnnxGraphs, checkpoint_digest
    from lihmr_ros.runtime.tensorrt_backend import TensorRTBackend

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    graphs = OnnxGraphs(args.out, manifest, checkpoint_digest(args.checkpoint or DEFAULT_CHECKPOINT))
    try:
        backend = TensorRTBackend(
            graphs,
            engine_dir=args.out,
            timing_cache_dir=args.out,
            max_people=args.max_people,
            logger=logging.getLogger("lihmr export"),
            device=args.device,
            precision=args.precision,
        )
    except BackendUnavailableError as error:
        raise SystemExit(f"lihmr export --format tensorrt: {error}") from error
    print(backend.description)
    backend.close()
