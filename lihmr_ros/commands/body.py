"""``lihmr body ...``: build mesh templates, measure upsampling, preview random poses."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``lihmr body`` and its subcommands."""
    parser = subparsers.add_parser("body", help="body models and mesh templates")
    body_commands = parser.add_subparsers(dest="body_command", metavar="SUBCOMMAND", required=True)

    build = body_commands.add_parser(
        "build-template",
        help="generate the MeshTemplate (.npz) the network is built around",
        description="Generate a MeshTemplate: rest pose, coarse mesh, upsampling table and COCO regressors. "
        "Deterministic for a seed.",
    )
    build.add_argument("--body", choices=("anny", "smpl", "smplx"), default="anny", help="body model (default: anny)")
    build.add_argument(
        "--coarse",
        default=None,
        help="Anny coarse topology (default: the shipped default); for SMPL/SMPL-X the number of coarse vertices",
    )
    build.add_argument("--model-path", type=Path, default=None, help="SMPL/SMPL-X model file or folder (not for anny)")
    build.add_argument("--gender", default="neutral", help="SMPL/SMPL-X gender of the model file (default: neutral)")
    build.add_argument("--out", type=Path, default=None, help="output .npz (default: the package's assets folder)")
    build.add_argument("--seed", type=int, default=0, help="random seed of the fitting bodies (default: 0)")
    build.add_argument("--samples", type=int, default=300, help="random bodies used to fit the upsampling")
    build.add_argument("--neighbours", type=int, default=None, help="coarse vertices per full vertex")
    build.set_defaults(handler=_build_template)

    measure = body_commands.add_parser(
        "measure-upsampling",
        help="print held-out upsampling errors of every Anny coarse topology (markdown table)",
    )
    measure.add_argument("--seed", type=int, default=0)
    measure.add_argument("--samples", type=int, default=300, help="fitting bodies per topology")
    measure.add_argument("--test-samples", type=int, default=100, help="held-out bodies per topology")
    measure.add_argument("--neighbours", type=int, default=None, help="coarse vertices per full vertex")
    measure.set_defaults(handler=_measure_upsampling)

    preview = body_commands.add_parser("preview-poses", help="render random Anny poses and shapes to a PNG")
    preview.add_argument("--out", type=Path, default=Path("body_poses.png"))
    preview.add_argument("--seed", type=int, default=0)
    preview.add_argument("--count", type=int, default=8)
    preview.add_argument("--random-shapes", action="store_true", help="draw shapes from the prior, not the template body")
    preview.set_defaults(handler=_preview_poses)


def _build_template(args: argparse.Namespace) -> int:
    from lihmr_ros.body import ASSETS_DIR
    from lihmr_ros.body.template_builder import DEFAULT_NEIGHBOURS, assemble_template

    neighbours = args.neighbours or DEFAULT_NEIGHBOURS
    if args.body == "anny":
        if args.model_path is not None:
            raise SystemExit("--model-path is only for smpl/smplx: Anny ships with its package")
        from lihmr_ros.body.anny_template import DEFAULT_COARSE_TOPOLOGY, anny_template_inputs

        coarse = args.coarse or DEFAULT_COARSE_TOPOLOGY
        inputs = anny_template_inputs(coarse, seed=args.seed, num_samples=args.samples)
    else:
        if args.model_path is None:
            raise SystemExit(f"--model-path is required for {args.body}: point it at your {args.body.upper()} model file")
        from lihmr_ros.body.smpl_model import DEFAULT_SMPL_COARSE_VERTICES, SmplBody, smpl_template_inputs

        body = SmplBody(args.model_path, kind=args.body, gender=args.gender)
        num_coarse = int(args.coarse) if args.coarse else DEFAULT_SMPL_COARSE_VERTICES
        inputs = smpl_template_inputs(body, num_coarse, seed=args.seed, num_samples=args.samples)
    template = assemble_template(inputs, neighbours=neighbours)
    out = args.out or ASSETS_DIR / f"{template.body_model}_{template.coarse_topology}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    template.save(out)
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {template.num_coarse_vertices} coarse / "
        f"{template.num_full_vertices} full vertices, fingerprint {template.fingerprint()}"
    )
    return 0


def _measure_upsampling(args: argparse.Namespace) -> int:
    from lihmr_ros.body.template_builder import DEFAULT_NEIGHBOURS
    from lihmr_ros.body.upsampling_benchmark import MARKDOWN_HEADER, measure_all

    neighbours = args.neighbours or DEFAULT_NEIGHBOURS
    rows = measure_all(args.seed, args.samples, args.test_samples, neighbours)
    print(f"K={neighbours}, fitted on {args.samples} bodies, scored on {args.test_samples} held-out bodies")
    print(MARKDOWN_HEADER)
    for row in rows:
        print(row.markdown_row())
    return 0


def _preview_poses(args: argparse.Namespace) -> int:
    import numpy as np

    from lihmr_ros.body.anny_model import AnnyBody
    from lihmr_ros.body.pose_sampler import AnnyPoseSampler
    from lihmr_ros.body.preview import render_bodies

    body = AnnyBody()
    # Facing the camera, so the front view shows the pose rather than the root turn.
    sampler = AnnyPoseSampler(body, root_yaw_deg=(0.0, 0.0), root_tilt_deg=0.0)
    rng = np.random.default_rng(args.seed)
    pose = sampler.sample(rng, args.count)
    shape = sampler.sample_shapes(rng, args.count) if args.random_shapes else body.neutral_shape(args.count)
    output = body.forward(pose, shape)
    path = render_bodies(args.out, list(output.vertices.numpy()), body.faces, list(output.joints.numpy()))
    print(f"wrote {path}")
    return 0
