#!/usr/bin/env python3
"""Soak test of lihmr_node: a camera at 30 Hz with several people for a long time (NOT part of CI).

Starts ``lihmr_node`` as its own process (the installed params file plus
``--param`` overrides), publishes vtest.avi (768x576, several pedestrians,
looped) as ``sensor_msgs/Image`` + ``CameraInfo`` at ``--rate`` Hz stamped
with the wall clock, and records for ``--duration`` seconds:

* output rate (``humans`` messages per second) and the share of frames the
  node dropped (its ``total_dropped`` diagnostic);
* latency = arrival of ``humans`` here - the image's stamp (both wall clock,
  one machine): p50 / p95 / p99 / max, early and late in the run, because
  with drops latency must stay bounded rather than grow;
* the node's resident memory (RSS, psutil) once per second: after warm-up,
  start, end, peak and the slope of a line fitted to the second half of the
  run, which is about zero when memory does not grow without bound.

Discovery stays on this machine on a domain of its own
(``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``, random ``ROS_DOMAIN_ID``).
Example: ``python scripts/soak.py --duration 150 --random-weights --json soak.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
NAMESPACE = "/soak"
WARM_UP_S = 20.0
"""Memory and latency before this (model warm-up, first detections) are reported but not judged."""
START_TIMEOUT_S = 240.0
CACHED_FRAMES = 120
"""Frames of the video converted to messages once and published in a loop, so the publisher stays cheap."""


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of streaming (default 600)")
    parser.add_argument("--rate", type=float, default=30.0, help="camera frames per second (default 30)")
    parser.add_argument("--video", type=Path, default=VTEST, help=f"footage to loop (default {VTEST})")
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped weights)")
    parser.add_argument("--random-weights", action="store_true",
                        help="write and use a randomly initialised checkpoint (speed and memory do not depend on "
                             "the weights' values; use when no trained weights are installed)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME:=VALUE",
                        help="extra lihmr_node parameter (repeatable), e.g. --param backend:=onnxruntime")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    return parser.parse_args()


def isolated_ros_environment(log_dir: Path) -> None:
    """Keep discovery on this machine, on a domain of our own (never a robot's exported one), logs in
    ``log_dir``, camera-sized messages over shared memory (inherited by the node)."""
    from lihmr_ros.demo.transport import PROFILE_ENV_VARIABLE, fastdds_profile

    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ["ROS_LOCALHOST_ONLY"] = "1"
    os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(0, 101))
    os.environ[PROFILE_ENV_VARIABLE] = str(fastdds_profile())
    os.environ["ROS_LOG_DIR"] = str(log_dir)
    os.environ.setdefault("ANNY_CACHE_DIR", str(Path.home() / ".cache" / "lihmr" / "anny"))


def checkpoint_for(args: argparse.Namespace, scratch: Path) -> tuple[Path, int]:
    """The checkpoint to run and its window."""
    from lihmr_ros.model.checkpoint import DEFAULT_CHECKPOINT, read_metadata

    if args.random_weights:
        import torch

        from lihmr_ros.body import load_template
        from lihmr_ros.model.checkpoint import save_checkpoint
        from lihmr_ros.model.config import NetworkConfig
        from lihmr_ros.model.network import LIHMRNet

        torch.manual_seed(0)
        path = save_checkpoint(scratch / "random.safetensors", LIHMRNet(NetworkConfig(), load_template()).eval())
    else:
        path = args.weights or DEFAULT_CHECKPOINT
    return path, int(read_metadata(path)["network_config"].window)


def start_node(weights: Path, window: int, overrides: list[str], log: Path) -> subprocess.Popen:
    from lihmr_ros import paths

    executable = shutil.which("lihmr_node", path=str(Path(sys.executable).parent))
    if executable is None:
        raise SystemExit("lihmr_node is not installed next to this Python (run scripts/setup.sh)")
    arguments = ["--params-file", str(paths.config_file("lihmr.yaml")), "-r", f"__ns:={NAMESPACE}",
                 "-p", f"weights:={weights}", "-p", f"window:={window}"]
    for item in overrides:
        arguments += ["-p", item]
    return subprocess.Popen([executable, "--ros-args", *arguments], stdout=log.open("w"), stderr=subprocess.STDOUT)


def video_messages(video: Path, count: int) -> tuple[list, object]:
    """Up to ``count`` frames of ``video`` as ready Image messages, and a CameraInfo for them."""
    import cv2
    from sensor_msgs.msg import CameraInfo, Image

    from lihmr_ros.imaging import rgb_to_image

    capture = cv2.VideoCapture(str(video))
    images = []
    while len(images) < count:
        ok, bgr = capture.read()
        if not ok:
            break
        message = Image()
        rgb_to_image(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), "rgb8").apply_to(message)
        message.header.frame_id = "soak_camera_optical_frame"
        images.append(message)
    capture.release()
    if not images:
        raise SystemExit(f"cannot read frames from {video}")
    width, height = images[0].width, images[0].height
    info = CameraInfo(width=width, height=height, k=[float(width), 0.0, width / 2.0, 0.0, float(width),
                                                     height / 2.0, 0.0, 0.0, 1.0])
    info.header.frame_id = images[0].header.frame_id
    return images, info


@dataclass
class Recording:
    """Everything observed during the run (written from the executor thread, read at the end)."""

    published: int = 0
    results: list[tuple[float, float, int]] = field(default_factory=list)
    """(arrival s since start, latency ms, people) per humans message."""
    rss: list[tuple[float, float]] = field(default_factory=list)
    """(s since start, node RSS MiB)."""
    diagnostics: dict[str, str] = field(default_factory=dict)
    """The node's latest diagnostic values (for the totals)."""
    stage_means: list[dict[str, float]] = field(default_factory=list)
    """Per-stage mean ms of every diagnostics period in which the node produced results."""


def percentiles(values: list[float]) -> dict[str, float]:
    import numpy as np

    if not values:
        return {}
    array = np.asarray(values)
    return {"p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)),
            "p99": float(np.percentile(array, 99)), "max": float(array.max())}


def summarize(recording: Recording, duration: float, rate: float) -> dict[str, object]:
    import numpy as np

    judged = [(t, latency) for t, latency, _ in recording.results if t >= WARM_UP_S]
    halfway = WARM_UP_S + (duration - WARM_UP_S) / 2
    rss_after_warm_up = [(t, mib) for t, mib in recording.rss if t >= WARM_UP_S]
    second_half = [(t, mib) for t, mib in rss_after_warm_up if t >= halfway]
    slope = float(np.polyfit(*zip(*second_half), 1)[0]) * 60.0 if len(second_half) > 2 else float("nan")
    received = int(recording.diagnostics.get("total_received", 0))
    dropped = int(recording.diagnostics.get("total_dropped", 0))
    return {
        "duration_s": duration,
        "camera_rate_hz": rate,
        "frames_published": recording.published,
        "frames_received_by_node": received,
        "frames_dropped_by_node": dropped,
        "dropped_fraction": dropped / received if received else None,
        "humans_messages": len(recording.results),
        "output_rate_hz": len(recording.results) / duration,
        "mean_people_per_result": float(np.mean([p for *_, p in recording.results])) if recording.results else 0.0,
        "latency_ms_after_warm_up": percentiles([latency for _, latency in judged]),
        "latency_ms_first_half": percentiles([latency for t, latency in judged if t < halfway]),
        "latency_ms_second_half": percentiles([latency for t, latency in judged if t >= halfway]),
        "rss_mib": {
            "after_warm_up": rss_after_warm_up[0][1] if rss_after_warm_up else None,
            "end": recording.rss[-1][1] if recording.rss else None,
            "peak": max(mib for _, mib in recording.rss) if recording.rss else None,
            "second_half_slope_mib_per_min": slope,
        },
        "node_stage_mean_ms": {stage: float(np.mean([period[stage] for period in recording.stage_means]))
                               for stage in (recording.stage_means[0] if recording.stage_means else {})},
        "node_backend": recording.diagnostics.get("backend_detail", ""),
    }


def run(args: argparse.Namespace, scratch: Path) -> dict[str, object]:
    import psutil
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image

    from lihmr_ros.msg import HumanMeshArray, MeshTopology

    weights, window = checkpoint_for(args, scratch)
    images, camera_info = video_messages(args.video, CACHED_FRAMES)
    node_process = start_node(weights, window, args.param, scratch / "node.log")
    recording = Recording()
    ready = threading.Event()
    rclpy.init()
    probe = rclpy.create_node("soak_probe", namespace=NAMESPACE)
    image_publisher = probe.create_publisher(Image, "image", qos_profile_sensor_data)
    info_publisher = probe.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
    start = [0.0]

    def on_humans(message: HumanMeshArray) -> None:
        stamp = message.header.stamp.sec + 1e-9 * message.header.stamp.nanosec
        now = time.time()
        recording.results.append((now - start[0], 1000.0 * (now - stamp), len(message.humans)))

    def on_diagnostics(message: DiagnosticArray) -> None:
        for status in message.status:
            if status.name == f"{NAMESPACE}/lihmr_node: pipeline":
                values = {kv.key: kv.value for kv in status.values}
                recording.diagnostics = values
                if float(values.get("output_rate_hz", 0.0)) > 0.0:
                    recording.stage_means.append({key[len("stage_"):-len("_mean_ms")]: float(value)
                                                  for key, value in values.items()
                                                  if key.startswith("stage_") and key.endswith("_mean_ms")})

    probe.create_subscription(HumanMeshArray, "humans", on_humans, QoSProfile(depth=100))
    probe.create_subscription(MeshTopology, "mesh_topology", lambda _: ready.set(),
                              QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL))
    probe.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
    executor = rclpy.executors.SingleThreadedExecutor()
    executor.add_node(probe)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready.is_set() and time.monotonic() < deadline and node_process.poll() is None:
            executor.spin_once(timeout_sec=0.1)
        if not ready.is_set():
            raise SystemExit(f"lihmr_node did not come up; its log:\n{(scratch / 'node.log').read_text()[-3000:]}")
        node_memory = psutil.Process(node_process.pid)
        print(f"[soak] node up; streaming {args.video.name} at {args.rate:g} Hz for {args.duration:g} s", flush=True)
        start[0] = time.time()
        period = 1.0 / args.rate
        next_frame, next_sample, next_report = start[0], start[0], start[0] + 30.0
        while (now := time.time()) < start[0] + args.duration and node_process.poll() is None:
            if now >= next_frame:
                message = images[recording.published % len(images)]
                stamp = probe.get_clock().now().to_msg()
                message.header.stamp = stamp
                camera_info.header.stamp = stamp
                info_publisher.publish(camera_info)
                image_publisher.publish(message)
                recording.published += 1
                next_frame += period
            if now >= next_sample:
                recording.rss.append((now - start[0], node_memory.memory_info().rss / 2**20))
                next_sample += 1.0
            if now >= next_report:
                print(f"[soak] {now - start[0]:.0f} s: {len(recording.results)} results, "
                      f"RSS {recording.rss[-1][1]:.0f} MiB", flush=True)
                next_report += 30.0
            executor.spin_once(timeout_sec=max(0.0, min(next_frame, next_sample) - time.time()))
        end = time.time() + 3.0  # collect results and a last diagnostics message
        while time.time() < end:
            executor.spin_once(timeout_sec=0.05)
        if node_process.poll() is not None:
            raise SystemExit(f"lihmr_node exited during the soak; its log:\n"
                             f"{(scratch / 'node.log').read_text()[-3000:]}")
    finally:
        if node_process.poll() is None:
            node_process.send_signal(signal.SIGINT)
            node_process.wait(timeout=30)
        executor.shutdown()
        probe.destroy_node()
        rclpy.try_shutdown()
    return summarize(recording, args.duration, args.rate)


def main() -> int:
    args = parse_arguments()
    scratch = Path(tempfile.mkdtemp(prefix="lihmr-soak-"))
    isolated_ros_environment(scratch / "ros_log")
    try:
        report = run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
