"""``lihmr eval``'s engine: the node's streaming pipeline over evaluation sequences, then metrics.

The pipeline is built exactly as the node builds it (``lihmr_ros.ros.settings``
turns the node's default parameters into settings, ``lihmr_ros.ros.startup``
builds backend, BlazePose and tracker; both modules are free of rclpy), so
the numbers measure what a robot gets: detector keypoints, person crops,
tracking, causal windows, metric placement.  Each sequence starts with a
fresh keypoint source and tracker (no person carried over from the previous
sequence) while the loaded backend is reused.

When a sequence's ``camera.json`` gives the floor, its pipeline scales people
onto it exactly as the node does with its ``ground.*`` parameters (unless the
caller turns that off), so sizes and distances measure what a robot that
knows its camera mount gets.

Matching: a sequence holds one person, but the pipeline may report others
(false detections).  In each frame the person whose box overlaps most with
the box of the projected ground-truth joints is taken, if that overlap
reaches :data:`MIN_MATCH_IOU`; otherwise the frame counts as not detected.
Per frame rather than per track, so a track that is lost and re-found under
a new id still counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from lihmr_ros.evaluation.metrics import MetricAccumulator
from lihmr_ros.evaluation.sequences import EvalSequence
from lihmr_ros.geometry.ground import GroundPlane
from lihmr_ros.geometry.intrinsics import CameraIntrinsics
from lihmr_ros.pipeline.results import PersonResult

MIN_MATCH_IOU = 0.3
"""Least overlap between a reported person's box and the true person's box to count as the true person."""


@dataclass(frozen=True)
class SequencePrediction:
    """The matched person's outputs over one sequence (rows of undetected frames are NaN)."""

    joints3d: np.ndarray
    """(F, 17, 3) float32 absolute camera-frame joints."""
    vertices: np.ndarray
    """(F, V, 3) float32 absolute camera-frame vertices."""
    detected: np.ndarray
    """(F,) bool."""
    milliseconds_per_frame: float


def box_iou(first: np.ndarray, second: np.ndarray) -> float:
    """IoU of two ``(x0, y0, x1, y1)`` boxes."""
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    intersection = max(width, 0.0) * max(height, 0.0)
    areas = (first[2] - first[0]) * (first[3] - first[1]) + (second[2] - second[0]) * (second[3] - second[1])
    union = areas - intersection
    return float(intersection / union) if union > 0 else 0.0


def projected_box(joints3d: np.ndarray, intrinsics: np.ndarray) -> np.ndarray | None:
    """``(x0, y0, x1, y1)`` around the projection of the joints in front of the camera, None if none is."""
    in_front = joints3d[:, 2] > 1e-3
    if not in_front.any():
        return None
    points = joints3d[in_front]
    u = intrinsics[0, 0] * points[:, 0] / points[:, 2] + intrinsics[0, 2]
    v = intrinsics[1, 1] * points[:, 1] / points[:, 2] + intrinsics[1, 2]
    return np.array([u.min(), v.min(), u.max(), v.max()])


def match_person(people: list[PersonResult], true_box: np.ndarray | None) -> PersonResult | None:
    """The reported person that is the true one (see the module docstring), or None."""
    if true_box is None or not people:
        return None
    overlaps = [box_iou(np.asarray(person.box, dtype=np.float64), true_box) for person in people]
    best = int(np.argmax(overlaps))
    return people[best] if overlaps[best] >= MIN_MATCH_IOU else None


def run_sequence(pipeline, sequence: EvalSequence) -> SequencePrediction:
    """Feed every frame of ``sequence`` through ``pipeline`` (a fresh StreamingPipeline) in time order."""
    frames = sequence.num_frames
    joints = np.full((frames, 17, 3), np.nan, dtype=np.float32)
    vertices = np.full(sequence.vertices.shape, np.nan, dtype=np.float32)
    detected = np.zeros(frames, dtype=bool)
    total_ms = 0.0
    camera = None
    for index, image in enumerate(sequence.frames()):
        if camera is None:
            camera = CameraIntrinsics.from_matrix(sequence.intrinsics, image.shape[1], image.shape[0])
        result = pipeline.process(image, index / sequence.fps, camera)
        total_ms += result.timings_ms["total"]
        truth = sequence.joints3d[index]
        true_box = projected_box(truth, sequence.intrinsics) if np.isfinite(truth).all() else None
        person = match_person(result.people, true_box)
        if person is None:
            continue
        if person.vertices.shape != sequence.vertices.shape[1:]:
            raise ValueError(
                f"the network outputs {person.vertices.shape[0]} vertices but {sequence.name}'s ground truth "
                f"has {sequence.vertices.shape[1]}: evaluate with a checkpoint of the ground truth's body model"
            )
        joints[index], vertices[index], detected[index] = person.joints3d, person.vertices, True
    return SequencePrediction(joints, vertices, detected, total_ms / max(frames, 1))


@dataclass(frozen=True)
class EvalReport:
    metrics: dict[str, float | int]
    per_sequence: dict[str, dict[str, float | int]]
    milliseconds_per_frame: float
    sequences_on_floor: int
    """Sequences whose people were scaled onto the floor of their ``camera.json``."""


class PipelineFactory:
    """Builds the node's pipeline once and a fresh one (new BlazePose + tracker) per sequence."""

    def __init__(
        self, weights: Path, backend: str, device: str, logger: logging.Logger, flip_averaging: bool = False
    ) -> None:
        from lihmr_ros.model.checkpoint import read_metadata
        from lihmr_ros.ros.settings import settings_from_values
        from lihmr_ros.ros.startup import load_pipeline

        window = read_metadata(weights)["network_config"].window
        self.settings = settings_from_values(
            {"weights": str(weights), "backend": backend, "device": device, "window": window,
             "flip_averaging": flip_averaging}
        )
        self._pipeline = load_pipeline(self.settings, logger).pipeline
        self._used = False

    def fresh(self, ground: GroundPlane | None = None):
        """A pipeline with no tracks, a new keypoint source and the sequence's floor (None: network sizes),
        sharing the loaded backend."""
        from lihmr_ros.keypoints.multi_person import MultiPersonBlazePose
        from lihmr_ros.pipeline.streaming import StreamingPipeline

        previous = self._pipeline
        if self._used:
            previous.keypoint_source.close()
            source = MultiPersonBlazePose(self.settings.detection)
            source.warm_up()
        else:
            source = previous.keypoint_source
        self._used = True
        self._pipeline = StreamingPipeline(
            previous.backend, source, previous.crop_spec, self.settings.tracker,
            ground=ground, ground_config=self.settings.ground_scale,
        )
        return self._pipeline

    def close(self) -> None:
        """Release the keypoint source and the backend."""
        self._pipeline.close()


def evaluate(
    sequences: list[EvalSequence],
    factory: PipelineFactory,
    report: Callable[[str], None] = lambda line: None,
    use_ground: bool = True,
) -> EvalReport:
    """Run every sequence and pool the metrics over all frames; ``use_ground=False`` ignores the floors
    of ``camera.json`` (sizes and distances from the network alone)."""
    overall = MetricAccumulator()
    per_sequence: dict[str, dict[str, float | int]] = {}
    total_ms, total_frames, on_floor = 0.0, 0, 0
    for sequence in sequences:
        ground = sequence.ground if use_ground else None
        on_floor += ground is not None
        prediction = run_sequence(factory.fresh(ground), sequence)
        single = MetricAccumulator()
        for accumulator in (overall, single):
            accumulator.add_sequence(
                prediction.joints3d, sequence.joints3d, prediction.detected, prediction.vertices, sequence.vertices
            )
        per_sequence[sequence.name] = single.summary()
        total_ms += prediction.milliseconds_per_frame * sequence.num_frames
        total_frames += sequence.num_frames
        summary = per_sequence[sequence.name]
        report(
            f"{sequence.name}: {sequence.num_frames} frames, detected {summary['detected_fraction']:.2f}, "
            f"MPJPE {summary['mpjpe']:.1f} PA-MPJPE {summary['pa_mpjpe']:.1f} mm, "
            f"{prediction.milliseconds_per_frame:.1f} ms/frame"
        )
    return EvalReport(overall.summary(), per_sequence, total_ms / max(total_frames, 1), on_floor)
