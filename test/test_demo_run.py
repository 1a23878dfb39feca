"""``lihmr demo`` end to end: camera process, lihmr_node and recorder as real processes, then its outputs.

A short run on messi5.jpg (one player, reliably detected) at 5 Hz with a
randomly initialised checkpoint this module writes (the checks are about the
system's plumbing, not mesh accuracy): the bag must hold the camera and every
node output, readable and decodable by rosbags, with each result stamped like
the image it answers; the overlay video, meshes and summary must be valid.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from lihmr_ros.bag import BagReader
from lihmr_ros.body import load_template
from lihmr_ros.demo.frames import OPENCV_DATA_DIR
from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet

REPO = Path(__file__).resolve().parent.parent
MESSI = OPENCV_DATA_DIR / "messi5.jpg"
FRAMES = 12
RUN_TIMEOUT_S = 400  # node start-up on a busy 2-core machine dominates

SUMMARY_KEYS = {"frames_in", "frames_out", "dropped", "fps", "latency_ms_p50", "latency_ms_p95", "people_max",
                "tracks", "stage_ms", "node_totals", "bag", "bag_messages", "meshes", "overlay_frames"}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    network = LIHMRNet(NetworkConfig(window=4), load_template()).eval()
    return save_checkpoint(tmp_path_factory.mktemp("weights") / "random.safetensors", network)


@pytest.fixture(scope="module")
def demo_out(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not MESSI.is_file():
        pytest.skip(f"{MESSI} missing (Debian package opencv-doc)")
    out = tmp_path_factory.mktemp("demo")
    command = [sys.executable, "-m", "lihmr_ros.cli", "demo", "--input", str(MESSI), "--frames", str(FRAMES),
               "--fps", "5", "--size", "640x480", "--weights", str(checkpoint), "--out", str(out),
               "--param", "tracker.min_hits:=2", "--domain-id", os.environ["ROS_DOMAIN_ID"]]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    node_log = (out / "logs" / "node.log").read_text(errors="replace")[-3000:] if (out / "logs").is_dir() else ""
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}\nnode log:\n{node_log}"
    assert "latency p50" in run.stdout, run.stdout
    return out


def test_bag_holds_camera_and_results_with_matching_stamps(demo_out: Path) -> None:
    with BagReader(demo_out / "bag") as bag:
        assert set(bag.topics) == {"/camera/image_raw", "/camera/camera_info", "/lihmr/humans",
                                   "/lihmr/mesh_topology", "/lihmr/markers", "/lihmr/overlay", "/diagnostics"}
        counts = bag.counts
        assert counts["/camera/image_raw"] == FRAMES and counts["/camera/camera_info"] == FRAMES
        assert counts["/lihmr/mesh_topology"] == 1 and counts["/diagnostics"] >= 1
        images = [bag.decode(m) for m in bag.messages(["/camera/image_raw"])]
        infos = [bag.decode(m) for m in bag.messages(["/camera/camera_info"])]
        humans = [bag.decode(m) for m in bag.messages(["/lihmr/humans"])]
        topology = bag.decode(next(bag.messages(["/lihmr/mesh_topology"])))
        for message in bag.messages(["/lihmr/markers", "/lihmr/overlay", "/diagnostics"]):
            bag.decode(message)

    stamp = lambda message: (message.header.stamp.sec, message.header.stamp.nanosec)  # noqa: E731
    image_stamps = [stamp(image) for image in images]
    assert image_stamps == sorted(set(image_stamps)), "one increasing stamp per frame"
    assert [stamp(info) for info in infos] == image_stamps
    assert (images[0].width, images[0].height, images[0].encoding) == (640, 480, "rgb8")
    assert images[0].header.frame_id == "camera_optical_frame"
    assert infos[0].k[0] == 640.0 and infos[0].k[2] == pytest.approx(319.5)
    assert humans and all(stamp(result) in image_stamps for result in humans)
    with_people = [result for result in humans if len(result.humans)]
    assert with_people, "messi5.jpg shows one player"
    vertices = with_people[-1].humans[0].vertices
    assert len(vertices) == 3 * topology.vertex_count and np.all(np.isfinite(vertices))
    assert with_people[-1].body_model == topology.body_model


def test_overlay_video_and_snapshots_are_readable(demo_out: Path) -> None:
    summary = json.loads((demo_out / "summary.json").read_text())
    video = cv2.VideoCapture(str(demo_out / "overlay.mp4"))
    frames = 0
    while True:
        ok, frame = video.read()
        if not ok:
            break
        frames += 1
        assert frame.shape == (480, 640, 3)
    video.release()
    assert 0 < frames == summary["overlay_frames"] == summary["bag_messages"]["/lihmr/overlay"]
    snapshots = sorted(demo_out.glob("overlay_*.png"))
    assert [p.name for p in snapshots] == ["overlay_1.png", "overlay_2.png", "overlay_3.png"]
    assert cv2.imread(str(snapshots[0])).shape == (480, 640, 3)


def test_meshes_are_valid_ply_with_the_topology_vertex_count(demo_out: Path) -> None:
    summary = json.loads((demo_out / "summary.json").read_text())
    with BagReader(demo_out / "bag") as bag:
        topology = bag.decode(next(bag.messages(["/lihmr/mesh_topology"])))
    assert summary["meshes"], "at least one track"
    for relative in summary["meshes"].values():
        raw = (demo_out / relative).read_bytes()
        header, body = raw.split(b"end_header\n", 1)
        lines = header.decode("ascii").splitlines()
        assert lines[:2] == ["ply", "format binary_little_endian 1.0"]
        vertex_count = int(next(line for line in lines if line.startswith("element vertex")).split()[-1])
        face_count = int(next(line for line in lines if line.startswith("element face")).split()[-1])
        assert vertex_count == topology.vertex_count and face_count == len(topology.faces) // 3
        assert len(body) == vertex_count * 12 + face_count * 13
        vertices = np.frombuffer(body[: vertex_count * 12], "<f4").reshape(-1, 3)
        assert np.all(np.isfinite(vertices)) and vertices[:, 2].min() > 0, "in front of the camera"


def test_summary_reports_the_run(demo_out: Path) -> None:
    summary = json.loads((demo_out / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["frames_in"] == FRAMES and summary["frames_out"] == summary["bag_messages"]["/lihmr/humans"]
    assert summary["dropped"] == FRAMES - summary["frames_out"]
    assert summary["people_max"] == 1 and summary["tracks"] >= 1
    assert summary["fps"] > 0 and 0 < summary["latency_ms_p50"] <= summary["latency_ms_p95"]
    assert {"keypoints", "infer", "total"} <= set(summary["stage_ms"])
    totals = summary["node_totals"]
    assert totals["processed"] == summary["frames_out"] and totals["received"] <= FRAMES and totals["failed"] == 0
