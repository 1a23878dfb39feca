"""The numbers of a run, computed from its bag: rates, latency, people, tracks and per-stage time.

Everything comes from what was recorded, so the same numbers can be
recomputed from any bag of the same topics later:

* latency = bag (arrival) time of a ``humans`` message - its header stamp,
  which the camera set when it published the image (same machine clock);
* output FPS = results over the span between the first and last result;
* per-stage time = the node's ``/diagnostics`` stage means, weighted by how
  many images each diagnostics period processed.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from lihmr_ros.bag import BagReader
from lihmr_ros.demo.recorder import header_stamp_ns

PIPELINE_STATUS_SUFFIX = ": pipeline"
"""lihmr_node's diagnostics status is named ``<node>: pipeline`` (lihmr_ros.ros.diagnostics)."""


@dataclass
class StageAccumulator:
    """Per-stage time, weighted by images processed in each diagnostics period."""

    weighted_ms: Counter = field(default_factory=Counter)
    processed: int = 0
    last_total: int = 0
    node_totals: dict[str, int] = field(default_factory=dict)

    def add(self, values: dict[str, str]) -> None:
        total = int(values.get("total_processed", "0"))
        count, self.last_total = total - self.last_total, total
        self.node_totals = {key[len("total_"):]: int(value) for key, value in values.items()
                            if key.startswith("total_")}
        if count <= 0:
            return
        self.processed += count
        for key, value in values.items():
            if key.startswith("stage_") and key.endswith("_mean_ms"):
                self.weighted_ms[key[len("stage_"):-len("_mean_ms")]] += count * float(value)

    def means_ms(self) -> dict[str, float]:
        return {stage: round(total / self.processed, 2) for stage, total in self.weighted_ms.items()} \
            if self.processed else {}


def summarize(bag_path, humans_topic: str, diagnostics_topic: str, frames_in: int, input_fps: float) -> dict:
    """The run's summary as a JSON-ready dict (see the module doc for how each number is measured)."""
    latencies_ms: list[float] = []
    arrivals_ns: list[int] = []
    people_per_frame: list[int] = []
    track_frames: Counter = Counter()
    stages = StageAccumulator()
    with BagReader(bag_path) as bag:
        wanted = [topic for topic in (humans_topic, diagnostics_topic) if topic in bag.topics]
        for message in bag.messages(wanted):
            if message.topic == humans_topic:
                arrivals_ns.append(message.timestamp_ns)
                latencies_ms.append((message.timestamp_ns - header_stamp_ns(message.data)) / 1e6)
                humans = bag.decode(message).humans
                people_per_frame.append(len(humans))
                track_frames.update(int(human.track_id) for human in humans)
            else:
                for status in bag.decode(message).status:
                    if status.name.endswith(PIPELINE_STATUS_SUFFIX):
                        stages.add({kv.key: kv.value for kv in status.values})
    frames_out = len(arrivals_ns)
    span_s = (arrivals_ns[-1] - arrivals_ns[0]) / 1e9 if frames_out > 1 else 0.0
    latency = np.asarray(latencies_ms) if latencies_ms else np.zeros(1)
    return {
        "frames_in": int(frames_in),
        "frames_out": frames_out,
        "dropped": int(frames_in) - frames_out,
        "input_fps": round(float(input_fps), 2),
        "fps": round((frames_out - 1) / span_s, 2) if span_s > 0 else 0.0,
        "latency_ms_p50": round(float(np.percentile(latency, 50)), 1),
        "latency_ms_p95": round(float(np.percentile(latency, 95)), 1),
        "latency_ms_max": round(float(latency.max()), 1),
        "people_max": max(people_per_frame, default=0),
        "people_mean": round(float(np.mean(people_per_frame)), 2) if people_per_frame else 0.0,
        "frames_with_people": sum(1 for count in people_per_frame if count),
        "tracks": len(track_frames),
        "track_frames": {str(track): count for track, count in sorted(track_frames.items())},
        "stage_ms": stages.means_ms(),
        "node_totals": stages.node_totals,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
    }


def format_summary(summary: dict) -> str:
    """A few readable lines for the terminal."""
    stages = ", ".join(f"{stage} {ms:.1f}" for stage, ms in summary["stage_ms"].items() if stage != "total")
    lines = [
        f"frames in {summary['frames_in']} at {summary['input_fps']:g} Hz, out {summary['frames_out']} "
        f"({summary['dropped']} dropped), output {summary['fps']:.1f} FPS",
        f"latency p50 {summary['latency_ms_p50']:.0f} ms, p95 {summary['latency_ms_p95']:.0f} ms "
        f"(camera publish -> result arrival)",
        f"people: up to {summary['people_max']} per frame (mean {summary['people_mean']:.2f}), "
        f"{summary['tracks']} tracks, {summary['frames_with_people']} frames with people",
    ]
    if summary["stage_ms"]:
        lines.append(f"node per frame (ms): total {summary['stage_ms'].get('total', 0.0):.1f} = {stages}")
    lines.append(f"machine: {summary['cpu_count']} CPUs, load average {summary['load_average_1min']:.2f} (1 min)")
    return "\n".join(lines)
