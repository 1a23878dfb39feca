"""``lihmr eval-real``: how well the recovered meshes fit real photos of people (no 3D ground truth).

Examples::

    lihmr eval-real --weights runs/lihmr/best.safetensors            # table + out/eval_real/
    lihmr eval-real --json                                          # one JSON object on stdout
    lihmr eval-real --image my_photo.jpg --out /tmp/check            # your own photos instead

See :mod:`lihmr_ros.evaluation.real_images` for the metrics and why each
photo is fed as a short static video.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

JSON_KEYS: tuple[str, ...] = ("images", "people", "mean_iou", "mean_keypoint_error", "pck_0_1", "skipped")
"""The keys of ``--json`` output and ``results.json``."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval-real",
        help="check meshes on real photos against MediaPipe's segmentation and keypoints",
        description=(
            "Run the node's pipeline on the real photos installed by opencv-doc, matplotlib and labelme-examples "
            "(or on --image files), then compare each person's projected mesh with MediaPipe's person "
            "segmentation (silhouette IoU) and the projected mesh joints with the detected BlazePose keypoints "
            "(error in box heights, PCK@0.1). Writes one overlay PNG per photo and results.json to --out."
        ),
    )
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped weights)")
    parser.add_argument("--backend", default="onnxruntime", help="auto, tensorrt, onnxruntime or torch")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--image", type=Path, action="append", default=None,
                        help="a photo to check instead of the packaged ones (repeatable)")
    parser.add_argument("--out", type=Path, default=Path("out/eval_real"), help="directory for overlays and results")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from lihmr_ros.evaluation.real_images import RealPhoto, find_real_photos

    logger = logging.getLogger("lihmr.eval_real")
    logging.basicConfig(level=logging.WARNING if args.json else logging.INFO, stream=sys.stderr)
    if args.image:
        photos, skipped = [], []
        for path in args.image:
            if path.is_file():
                photos.append(RealPhoto(path.stem, path))
            else:
                skipped.append(f"{path} not found")
    else:
        photos, skipped = find_real_photos()
    for note in skipped:
        print(f"lihmr eval-real: skipping: {note}", file=sys.stderr)
    if not photos:
        print("lihmr eval-real: no photo to evaluate (install opencv-doc or pass --image)", file=sys.stderr)
        return 2
    try:
        summary = _evaluate(photos, skipped, args, logger)
    except (FileNotFoundError, ValueError) as error:
        print(f"lihmr eval-real: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary))
    else:
        print(_table(summary))
        print(f"overlays and results.json in {args.out}")
    return 0


def _evaluate(photos: list, skipped: list[str], args: argparse.Namespace, logger: logging.Logger) -> dict:
    """Build the node's pipeline once, evaluate every photo, write overlays and results.json."""
    import cv2

    from lihmr_ros.body import load_template
    from lihmr_ros.evaluation.real_images import (
        PersonSegmenter, draw_photo_evaluation, evaluate_photo, still_frame_count, summarize,
    )
    from lihmr_ros.evaluation.runner import PipelineFactory
    from lihmr_ros.model.checkpoint import DEFAULT_CHECKPOINT

    weights = args.weights or DEFAULT_CHECKPOINT
    if not Path(weights).is_file():
        raise FileNotFoundError(
            f"checkpoint {weights} does not exist; train one (lihmr train) and pass it with --weights"
        )
    factory = PipelineFactory(Path(weights), args.backend, args.device, logger)
    segmenter = PersonSegmenter()
    faces = load_template().full_faces
    frames = still_frame_count(factory.settings.window, factory.settings.tracker.min_hits)
    args.out.mkdir(parents=True, exist_ok=True)
    evaluations = []
    try:
        for photo in photos:
            evaluation = evaluate_photo(factory.fresh(), photo, segmenter, faces, frames)
            overlay = draw_photo_evaluation(evaluation)
            cv2.imwrite(str(args.out / f"{photo.name}.png"), cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
            evaluations.append(evaluation)
    finally:
        segmenter.close()
        factory.close()
    summary = summarize(evaluations, skipped)
    for image in summary["images"]:
        image["overlay"] = f"{image['image']}.png"
    (args.out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _table(summary: dict) -> str:
    """One row per person (or per photo where nobody was found), then the means."""

    def number(value: float | None, digits: int = 3) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    rows = [f"{'image':<22} {'id':>3} {'IoU':>6} {'kp err':>7} {'PCK@0.1':>8} {'joints':>6}"]
    for image in summary["images"]:
        if not image["people"]:
            rows.append(f"{image['image']:<22} {'-':>3} {'no person found':>30}")
        for person in image["people"]:
            rows.append(
                f"{image['image']:<22} {person['track_id']:>3} {number(person['silhouette_iou']):>6} "
                f"{number(person['keypoint_error']):>7} {number(person['pck_0_1']):>8} "
                f"{person['keypoints_compared']:>6}"
            )
    rows.append(
        f"{summary['people']} people: mean IoU {number(summary['mean_iou'])}, keypoint error "
        f"{number(summary['mean_keypoint_error'])} box heights, PCK@0.1 {number(summary['pck_0_1'])}"
    )
    return "\n".join(rows)
