"""Synthetic sequences in the evaluation format read by ``lihmr eval``.

Layout (fixed by the evaluation contract)::

    DIR/<sequence>/frames/000000.png ...  consecutive full frames (not crops)
    DIR/<sequence>/camera.json            {"K": [[fx,0,cx],[0,fy,cy],[0,0,1]], "fps": 30,
                                           "ground": {"normal": [x,y,z], "camera_height": m}}  (optional)
    DIR/<sequence>/gt.npz                 vertices (F,13718,3) float32, joints3d (F,17,3) float32

Ground truth is in the camera frame, metres, Anny's default topology and
COCO-17 order, one person per sequence; frames where the person is not
visible (fewer than ``output.min_visible_joints`` joints in frame and
unoccluded) hold NaN.  The evaluated system must find the person itself, so
the export renders images only and skips the detector.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lihmr_ros.synth.config import SynthConfig
from lihmr_ros.synth.dataset_writer import base_seed, single_threaded_torch
from lihmr_ros.synth.generator import SequenceData, SequenceGenerator
from lihmr_ros.synth.shards import sequence_seed, write_npz

FRAMES_DIR = "frames"
CAMERA_FILE = "camera.json"
GROUND_TRUTH_FILE = "gt.npz"


def sequence_directory_name(index: int) -> str:
    return f"seq_{index:05d}"


@dataclass(frozen=True)
class ExportSummary:
    sequences: int
    frames: int
    seconds: float


def write_eval_sequence(directory: Path, data: SequenceData, min_visible_joints: int) -> None:
    """Write one generated sequence (made with ``keep_images`` and ``keep_vertices``) in the evaluation layout."""
    if len(data.images) != data.num_frames or data.vertices_cam is None:
        raise ValueError("the sequence must be generated with keep_images=True and keep_vertices=True")
    frames_dir = Path(directory) / FRAMES_DIR
    frames_dir.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(data.images):
        path = frames_dir / f"{index:06d}.png"
        if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write {path}")
    camera = {"K": data.intrinsics.astype(np.float64).tolist(), "fps": float(data.fps)}
    if data.ground is not None:
        camera["ground"] = data.ground.to_json()
    (Path(directory) / CAMERA_FILE).write_text(json.dumps(camera, indent=1) + "\n", encoding="utf-8")

    visible = data.visibility.sum(axis=1) >= min_visible_joints
    vertices = data.vertices_cam.astype(np.float32).copy()
    joints = (data.joints_cam + data.root_cam[:, None]).astype(np.float32)
    vertices[~visible] = np.nan
    joints[~visible] = np.nan
    write_npz(Path(directory) / GROUND_TRUTH_FILE, {"vertices": vertices, "joints3d": joints})


def export_eval_dataset(
    directory: Path, config: SynthConfig, seed: int, sequences: int, progress: bool = True
) -> ExportSummary:
    """Generate ``sequences`` sequences straight into the evaluation layout under ``directory``."""
    from tqdm import tqdm

    if sequences < 1:
        raise ValueError(f"the number of sequences must be >= 1, got {sequences}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    frames = 0
    seed_base = base_seed(seed, config)
    with single_threaded_torch():
        generator = SequenceGenerator(config, use_detector=False)
        try:
            for index in tqdm(range(sequences), unit="seq", disable=not progress, desc=f"synth eval {config.split}"):
                data = generator.generate(sequence_seed(seed_base, index), keep_images=True, keep_vertices=True)
                write_eval_sequence(directory / sequence_directory_name(index), data, config.output.min_visible_joints)
                frames += data.num_frames
        finally:
            generator.close()
    return ExportSummary(sequences=sequences, frames=frames, seconds=time.perf_counter() - start)
