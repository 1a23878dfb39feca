"""``lihmr bench node --json`` runs the system and reports its numbers under stable keys.

A benchmark is not a test of speed: this checks only that the run completes
and that the JSON holds consistent counts (no timing thresholds).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lihmr_ros.body import load_template
from lihmr_ros.demo.frames import OPENCV_DATA_DIR
from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet

REPO = Path(__file__).resolve().parent.parent
FRAMES = 20


@pytest.mark.skipif(not (OPENCV_DATA_DIR / "messi5.jpg").is_file(), reason="opencv-doc not installed")
def test_bench_node_json(tmp_path: Path) -> None:
    torch.manual_seed(0)
    checkpoint = save_checkpoint(tmp_path / "random.safetensors", LIHMRNet(NetworkConfig(window=4), load_template()))
    command = [sys.executable, "-m", "lihmr_ros.cli", "bench", "node", "--json", "--frames", str(FRAMES),
               "--rate", "10", "--scene", "one", "--weights", str(checkpoint),
               "--domain-id", os.environ["ROS_DOMAIN_ID"]]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=400)
    assert run.returncode == 0, f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    report = json.loads(run.stdout)
    assert {"fps", "latency_ms_p50", "latency_ms_p95", "frames_in", "frames_out", "dropped", "stage_ms",
            "scene", "load_average_1min"} <= set(report)
    assert report["frames_in"] == FRAMES and report["frames_out"] + report["dropped"] == FRAMES
    assert report["frames_out"] >= 2 and report["fps"] > 0
    assert 0 < report["latency_ms_p50"] <= report["latency_ms_p95"]
    assert report["scene"] == "one" and report["image_size"] == [640, 480]
    # The final diagnostics counts every result. Under heavy load the node's best-effort image queue may lose
    # a frame before the node sees it, so "received" may fall short of what the camera sent.
    totals = report["node_totals"]
    assert totals["processed"] == report["frames_out"] and totals["received"] <= FRAMES
