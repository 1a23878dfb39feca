"""`lihmr eval-real` on a packaged photo, and known answers of its silhouette and keypoint measures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from lihmr_ros.body import load_template
from lihmr_ros.cli import main
from lihmr_ros.commands.eval_real import JSON_KEYS
from lihmr_ros.evaluation.real_images import (
    OPENCV_SAMPLES, comparison_region, keypoint_errors, mask_iou, rasterize_mesh, region_iou, still_frame_count,
)
from lihmr_ros.geometry.intrinsics import CameraIntrinsics
from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet

MESSI = OPENCV_SAMPLES / "messi5.jpg"
TINY_NETWORK = {
    "window": 4,
    "crop": {"size": 32},
    "encoder": {"feature_dim": 32, "channels": [8, 16]},
    "lifter": {"width": 32, "depth": 1},
    "refiner": {"width": 32, "latent_tokens": 8, "latent_width": 16, "low_blocks": 1, "residual_rank": 4},
}
CAMERA = CameraIntrinsics(fx=100.0, fy=100.0, cx=50.0, cy=50.0, width=100, height=100)
# A unit cube 4 m in front of CAMERA: 12 triangles that overlap in projection (front and back faces).
CUBE_VERTICES = np.array(
    [[x, y, 4.0 + z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)], dtype=np.float32
)
CUBE_FACES = np.array(
    [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
     [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]
)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    network = LIHMRNet(NetworkConfig.from_dict(TINY_NETWORK), load_template())
    return save_checkpoint(tmp_path_factory.mktemp("weights") / "tiny.safetensors", network)


@pytest.mark.skipif(not MESSI.is_file(), reason="Debian package opencv-doc is not installed")
def test_messi_photo_gives_a_person_with_metrics_and_an_overlay(weights: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "eval_real"
    status = main(["eval-real", "--weights", str(weights), "--image", str(MESSI), "--out", str(out), "--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert status == 0 and len(lines) == 1
    summary = json.loads(lines[0])
    assert tuple(summary) == JSON_KEYS
    assert json.loads((out / "results.json").read_text()) == summary
    [image] = summary["images"]
    assert image["people"], "BlazePose finds Messi in messi5.jpg"
    for person in image["people"]:
        assert 0.0 <= person["silhouette_iou"] <= 1.0
        assert 0.0 <= person["pck_0_1"] <= 1.0 and person["keypoint_error"] >= 0.0
        assert 0 < person["keypoints_compared"] <= 17
    assert 0.0 <= summary["mean_iou"] <= 1.0
    overlay = cv2.imread(str(out / image["overlay"]))
    assert overlay is not None and overlay.shape[:2] == (image["height"], image["width"])
    assert not np.array_equal(overlay, cv2.imread(str(MESSI))), "the overlay draws on the photo"


def test_missing_weights_are_reported_with_the_flag(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "absent.safetensors"
    photo = tmp_path / "grey.png"
    cv2.imwrite(str(photo), np.full((48, 64, 3), 128, dtype=np.uint8))
    assert main(["eval-real", "--weights", str(missing), "--image", str(photo), "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert str(missing) in error and "--weights" in error


def test_a_mesh_rasterised_onto_itself_has_iou_one_and_moved_away_zero() -> None:
    silhouette = rasterize_mesh(CUBE_VERTICES, CUBE_FACES, CAMERA, 100, 100)
    assert silhouette.any()
    assert mask_iou(silhouette, silhouette) == 1.0
    moved = rasterize_mesh(CUBE_VERTICES + np.array([2.0, 0.0, 0.0], dtype=np.float32), CUBE_FACES, CAMERA, 100, 100)
    assert moved.any() and mask_iou(silhouette, moved) == 0.0


def test_overlapping_triangles_fill_the_whole_outline_without_holes() -> None:
    silhouette = rasterize_mesh(CUBE_VERTICES, CUBE_FACES, CAMERA, 100, 100)
    outline = np.zeros((100, 100), dtype=np.uint8)
    hull = cv2.convexHull(np.round(CAMERA.project(CUBE_VERTICES)).astype(np.int32))
    cv2.fillConvexPoly(outline, hull, 1)
    # The near face spans 100 * 1 / 3.5 = 28.6 px: its 8x8 centre must be solid, the whole hull nearly equal.
    assert silhouette[46:54, 46:54].all()
    assert mask_iou(silhouette, outline.astype(bool)) > 0.9


def test_triangles_behind_the_camera_are_not_drawn() -> None:
    behind = CUBE_VERTICES * np.array([1.0, 1.0, -1.0], dtype=np.float32)
    assert not rasterize_mesh(behind, CUBE_FACES, CAMERA, 100, 100).any()


def test_mask_iou_known_values() -> None:
    left = np.zeros((4, 4), dtype=bool)
    left[:, :2] = True
    middle = np.zeros((4, 4), dtype=bool)
    middle[:, 1:3] = True
    assert mask_iou(left, middle) == pytest.approx(1 / 3)
    assert math.isnan(mask_iou(np.zeros((4, 4), bool), np.zeros((4, 4), bool)))


def test_region_keeps_other_people_out_but_mesh_spill_in() -> None:
    segmentation = np.zeros((100, 200), dtype=bool)
    segmentation[20:80, 20:60] = True  # this person
    segmentation[20:80, 140:180] = True  # someone else, far outside the region
    silhouette = np.zeros_like(segmentation)
    silhouette[20:80, 20:60] = True
    box = np.array([20.0, 20.0, 60.0, 80.0])
    region = comparison_region(box, silhouette)
    assert region == (16, 14, 64, 86)
    assert region_iou(silhouette, segmentation, region) == 1.0
    silhouette[20:80, 60:100] = True  # mesh spilling beyond the box counts against it
    assert region_iou(silhouette, segmentation, comparison_region(box, silhouette)) == pytest.approx(0.5)


def test_keypoint_errors_are_in_box_heights_over_confident_joints_only() -> None:
    detected = np.tile([[50.0, 50.0]], (17, 1))
    projected = detected + np.array([6.0, 8.0])  # 10 px off
    confidence = np.full(17, 0.9)
    confidence[:5] = 0.2
    errors = keypoint_errors(projected, detected, confidence, np.array([0.0, 0.0, 40.0, 100.0]))
    assert errors.shape == (12,) and np.allclose(errors, 0.1)
    with pytest.raises(ValueError, match="no height"):
        keypoint_errors(projected, detected, confidence, np.array([0.0, 5.0, 40.0, 5.0]))


def test_still_frames_confirm_the_track_then_fill_the_window() -> None:
    assert still_frame_count(window=4, min_hits=3) == 6
    assert still_frame_count(window=1, min_hits=1) == 1
