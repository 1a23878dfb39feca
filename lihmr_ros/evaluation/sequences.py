"""Reading the evaluation data layout of ``lihmr eval`` (fixed by the project's evaluation contract)::

    DIR/<sequence>/frames/000000.png ...   consecutive frames (.png or .jpg)
    DIR/<sequence>/camera.json             {"K": [[fx,0,cx],[0,fy,cy],[0,0,1]], "fps": 30}
    DIR/<sequence>/gt.npz                  vertices (F,V,3) float32, joints3d (F,17,3) float32

``camera.json`` may also hold the floor, ``"ground": {"normal": [x, y, z],
"camera_height": metres}`` (unit normal pointing up, camera optical frame), as
a robot knows it from its camera mount; evaluation then scales people onto it
as the node does with its ``ground.*`` parameters.

Ground truth is in the camera frame, metres, COCO-17 order, one person per
sequence, NaN on frames where the person is not visible.  Every problem is
reported with the file at fault before any frame is processed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from lihmr_ros.geometry.ground import GroundPlane

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class EvalSequence:
    """One sequence directory, checked; frames are read lazily by :meth:`frames`."""

    name: str
    frame_paths: tuple[Path, ...]
    intrinsics: np.ndarray
    """(3, 3) float64 K."""
    fps: float
    joints3d: np.ndarray
    """(F, 17, 3) float32, NaN where the person is not visible."""
    vertices: np.ndarray
    """(F, V, 3) float32, NaN where the person is not visible."""
    ground: GroundPlane | None = None
    """The floor in the camera frame, when ``camera.json`` gives it."""

    @property
    def num_frames(self) -> int:
        return len(self.frame_paths)

    def frames(self) -> Iterator[np.ndarray]:
        """uint8 RGB images in time order."""
        for path in self.frame_paths:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise ValueError(f"cannot read image {path}")
            yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def find_sequences(directory: Path) -> list[Path]:
    """Sequence directories (those holding ``camera.json``) under ``directory``, sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"evaluation data {directory} is not a directory")
    sequences = sorted(path.parent for path in directory.glob("*/camera.json"))
    if not sequences:
        raise FileNotFoundError(
            f"{directory} holds no sequence (expected {directory}/<sequence>/camera.json, frames/, gt.npz; "
            "`lihmr synth --eval-format` writes this layout)"
        )
    return sequences


def load_sequence(directory: Path) -> EvalSequence:
    """Read and check one sequence directory."""
    directory = Path(directory)
    frame_paths = tuple(
        sorted(path for path in (directory / "frames").glob("*") if path.suffix.lower() in FRAME_SUFFIXES)
    )
    if not frame_paths:
        raise FileNotFoundError(f"{directory / 'frames'} holds no .png or .jpg frames")
    camera_path = directory / "camera.json"
    try:
        camera = json.loads(camera_path.read_text(encoding="utf-8"))
        intrinsics = np.asarray(camera["K"], dtype=np.float64)
        fps = float(camera.get("fps", 30.0))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{camera_path} must hold {{\"K\": 3x3 matrix, \"fps\": number}}: {error}") from error
    try:
        ground = GroundPlane.from_json(camera["ground"]) if "ground" in camera else None
    except (ValueError, TypeError) as error:
        raise ValueError(f"{camera_path}: {error}") from error
    focal_ok = intrinsics.shape == (3, 3) and intrinsics[0, 0] > 0 and intrinsics[1, 1] > 0
    if not focal_ok or not np.isfinite(intrinsics).all():
        raise ValueError(f"{camera_path}: K must be a finite 3x3 matrix with positive focal lengths")
    gt_path = directory / "gt.npz"
    if not gt_path.is_file():
        raise FileNotFoundError(f"{gt_path} does not exist")
    with np.load(gt_path, allow_pickle=False) as data:
        missing = [name for name in ("vertices", "joints3d") if name not in data.files]
        if missing:
            raise ValueError(f"{gt_path} lacks {', '.join(missing)}")
        vertices = data["vertices"].astype(np.float32)
        joints = data["joints3d"].astype(np.float32)
    frames = len(frame_paths)
    if joints.shape != (frames, 17, 3) or vertices.ndim != 3 or vertices.shape[0] != frames or vertices.shape[2] != 3:
        raise ValueError(
            f"{gt_path}: expected joints3d ({frames}, 17, 3) and vertices ({frames}, V, 3) for {frames} frames, "
            f"got {joints.shape} and {vertices.shape}"
        )
    return EvalSequence(directory.name, frame_paths, intrinsics, fps, joints, vertices, ground)
