"""``diagnostic_msgs/DiagnosticArray`` from the node's statistics.

One status, ``<node's full name>: pipeline`` (unique when several nodes
share ``/diagnostics``): rates, drops, bad input, per-stage latency, the
backend and how many people the floor sized (or held at its clamp), so
``rqt_runtime_monitor`` or a diagnostic aggregator shows why a robot's mesh
output is slow, empty or wrongly sized.
"""

from __future__ import annotations

from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from lihmr_ros.ros.statistics import StatisticsSnapshot

STATUS_SUFFIX = ": pipeline"
DROP_WARNING_FRACTION = 0.5
"""WARN when more than this share of the incoming images was skipped (the model cannot keep up)."""


def _level_and_message(snapshot: StatisticsSnapshot) -> tuple[bytes, str]:
    if snapshot.failures:
        return DiagnosticStatus.ERROR, f"{snapshot.failures} images failed in the pipeline (see the node's log)"
    if snapshot.bad_input:
        return DiagnosticStatus.WARN, (
            f"{snapshot.bad_input} input messages (images, camera_info, keypoints) were unusable (see the log)"
        )
    if snapshot.input_rate_hz == 0.0:
        return DiagnosticStatus.WARN, "no images received"
    received = snapshot.input_rate_hz * snapshot.period_s
    if snapshot.dropped > DROP_WARNING_FRACTION * received:
        return DiagnosticStatus.WARN, "input outruns the model: most images are skipped (latency stays bounded)"
    if snapshot.floor_clamped:
        return DiagnosticStatus.WARN, (
            f"the floor holds {snapshot.floor_clamped} people at its scale limit: check ground.camera_height and "
            "ground.camera_pitch_deg"
        )
    return DiagnosticStatus.OK, "running"


def diagnostic_array(
    stamp: Any, node_name: str, snapshot: StatisticsSnapshot, backend: str, backend_detail: str
) -> DiagnosticArray:
    """The diagnostics message for one period of the node ``node_name`` (fully qualified)."""
    level, summary = _level_and_message(snapshot)
    status = DiagnosticStatus()
    status.level = level
    status.name = node_name + STATUS_SUFFIX
    status.message = summary
    status.hardware_id = backend_detail
    values = {
        "backend": backend,
        "backend_detail": backend_detail,
        "input_rate_hz": f"{snapshot.input_rate_hz:.2f}",
        "output_rate_hz": f"{snapshot.output_rate_hz:.2f}",
        "dropped_frames": str(snapshot.dropped),
        "bad_input_frames": str(snapshot.bad_input),
        "failed_frames": str(snapshot.failures),
        "mean_people": f"{snapshot.mean_people:.2f}",
        "floor_scaled_people": str(snapshot.floor_people),
        "floor_clamped_people": str(snapshot.floor_clamped),
        "latency_mean_ms": f"{snapshot.latency_mean_ms:.1f}",
        "latency_max_ms": f"{snapshot.latency_max_ms:.1f}",
        "total_received": str(snapshot.total_received),
        "total_processed": str(snapshot.total_processed),
        "total_dropped": str(snapshot.total_dropped),
        "total_bad_input": str(snapshot.total_bad_input),
        "total_failed": str(snapshot.total_failures),
    }
    for stage, mean in snapshot.stage_mean_ms.items():
        values[f"stage_{stage}_mean_ms"] = f"{mean:.1f}"
        values[f"stage_{stage}_max_ms"] = f"{snapshot.stage_max_ms[stage]:.1f}"
    status.values = [KeyValue(key=key, value=value) for key, value in values.items()]
    message = DiagnosticArray()
    message.header.stamp = stamp
    message.status = [status]
    return message
