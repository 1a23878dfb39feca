"""Recorded footage as a stream of RGB frames: a video file, an image folder, one image, or the demo reel.

Every frame is letterboxed to one output size, because a camera has one
resolution (and one ``CameraInfo``) for the whole stream, and a video writer
needs a fixed frame size; letterboxing rather than stretching keeps people's
proportions, which the mesh fit depends on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

OPENCV_DATA_DIR = Path("/usr/share/doc/opencv-doc/examples/data")
"""Sample footage of Debian's ``opencv-doc`` package (scripts/setup.sh installs it)."""

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DEMO_REEL_NAME = "demo"
"""``--input demo``: the default footage, see :func:`demo_reel`."""


@dataclass(frozen=True)
class ReelClip:
    """A stretch of one file: ``count`` frames from ``start`` (a still is repeated ``count`` times)."""

    path: Path
    start: int
    count: int


def demo_reel(data_dir: Path = OPENCV_DATA_DIR) -> list[ReelClip]:
    """The default demo footage: pedestrians from vtest.avi, then three stills of people held briefly.

    vtest.avi (768x576 surveillance view, several small walking people) shows
    multi-person tracking over time; messi5.jpg (one full-body player) and the
    two basketball frames (two players, 640x480) show larger bodies. Each still
    is held for 20 frames so its person passes the tracker's confirmation and
    fills the temporal window. 150 + 3 x 20 = 210 frames, 7 s at 30 Hz.
    """
    clips = [
        ReelClip(data_dir / "vtest.avi", start=0, count=150),
        ReelClip(data_dir / "messi5.jpg", start=0, count=20),
        ReelClip(data_dir / "basketball1.png", start=0, count=20),
        ReelClip(data_dir / "basketball2.png", start=0, count=20),
    ]
    missing = [str(clip.path) for clip in clips if not clip.path.is_file()]
    if missing:
        raise FileNotFoundError(
            f"demo footage missing: {', '.join(missing)}; install the Debian package opencv-doc "
            "(scripts/setup.sh does) or pass --input VIDEO_OR_IMAGE_FOLDER"
        )
    return clips


def clips_for_input(source: str, max_frames: int | None, start: int = 0) -> list[ReelClip]:
    """The clips for ``--input``: ``demo``, a video file, an image file or a folder of images (sorted by name)."""
    if source == DEMO_REEL_NAME:
        return _truncated(demo_reel(), max_frames)
    path = Path(source)
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder {path}")
        return _truncated([ReelClip(image, 0, 1) for image in images[start:]], max_frames)
    if not path.is_file():
        raise FileNotFoundError(f"input {path} does not exist (give a video file, an image, a folder of images, "
                                f"or '{DEMO_REEL_NAME}')")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return [ReelClip(path, 0, max_frames or 1)]
    return [ReelClip(path, start, max_frames if max_frames is not None else _video_length(path) - start)]


def _truncated(clips: list[ReelClip], max_frames: int | None) -> list[ReelClip]:
    if max_frames is None:
        return clips
    kept, left = [], max_frames
    for clip in clips:
        if left <= 0:
            break
        kept.append(ReelClip(clip.path, clip.start, min(clip.count, left)))
        left -= kept[-1].count
    return kept


def _video_length(path: Path) -> int:
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ValueError(f"OpenCV cannot open {path} as a video or image")
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()


def native_size(clip: ReelClip) -> tuple[int, int]:
    """(width, height) of the clip's frames as stored."""
    first = next(_read_clip(clip), None)
    if first is None:
        raise ValueError(f"no frames could be read from {clip.path} (from frame {clip.start})")
    return first.shape[1], first.shape[0]


def letterbox(image_rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image_rgb`` scaled to fit ``width`` x ``height`` without distortion, centred on black."""
    if image_rgb.shape[1] == width and image_rgb.shape[0] == height:
        return image_rgb
    scale = min(width / image_rgb.shape[1], height / image_rgb.shape[0])
    new_w, new_h = max(1, round(image_rgb.shape[1] * scale)), max(1, round(image_rgb.shape[0] * scale))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    resized = cv2.resize(image_rgb, (new_w, new_h), interpolation=interpolation)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    x0, y0 = (width - new_w) // 2, (height - new_h) // 2
    canvas[y0 : y0 + new_h, x0 : x0 + new_w] = resized
    return canvas


def _read_clip(clip: ReelClip) -> Iterator[np.ndarray]:
    """RGB frames of one clip as stored."""
    if clip.path.suffix.lower() in IMAGE_SUFFIXES:
        image = cv2.imread(str(clip.path), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"OpenCV cannot read image {clip.path}")
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        for _ in range(clip.count):
            yield rgb
        return
    capture = cv2.VideoCapture(str(clip.path))
    try:
        if not capture.isOpened():
            raise ValueError(f"OpenCV cannot open video {clip.path}")
        if clip.start:
            capture.set(cv2.CAP_PROP_POS_FRAMES, clip.start)
        for _ in range(clip.count):
            ok, frame = capture.read()
            if not ok:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def read_frames(clips: list[ReelClip], width: int, height: int) -> Iterator[np.ndarray]:
    """Every frame of ``clips`` in order, letterboxed to ``width`` x ``height`` RGB."""
    for clip in clips:
        for frame in _read_clip(clip):
            yield letterbox(frame, width, height)
