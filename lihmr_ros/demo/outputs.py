"""Files made from a run's bag: the overlay video, snapshot PNGs and per-track meshes (PLY).

They are derived from the bag after the run rather than written live, so the
recorder stays a plain byte copier while the node competes for the CPU, and
the bag remains the single record of what happened.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from lihmr_ros.bag import BagReader
from lihmr_ros.demo.recorder import header_stamp_ns
from lihmr_ros.imaging import image_to_rgb

VIDEO_FOURCC = "mp4v"
"""MPEG-4 Part 2: OpenCV's pip wheels write it without extra codecs, and common players read it."""


def snapshot_indices(overlay_stamps: list[int], stamps_with_people: set[int], count: int) -> list[int]:
    """``count`` evenly spaced overlay frames, taken among those that show people when there are enough."""
    candidates = [i for i, stamp in enumerate(overlay_stamps) if stamp in stamps_with_people]
    if len(candidates) < count:
        candidates = list(range(len(overlay_stamps)))
    if count <= 0 or not candidates:
        return []
    picks = np.linspace(0, len(candidates) - 1, min(count, len(candidates))).round().astype(int)
    return [candidates[i] for i in picks]


def write_overlay_video(bag_path: Path, overlay_topic: str, humans_topic: str, video_path: Path,
                        snapshot_dir: Path | None = None, snapshots: int = 0) -> int:
    """Write the node's overlay frames as an mp4 playing at their real rate; returns the frame count.

    With ``snapshots`` > 0, that many evenly spaced frames showing people are
    also saved as ``overlay_<n>.png`` in ``snapshot_dir`` (docs/overlay_*.png
    come from here).
    """
    with BagReader(bag_path) as bag:
        if overlay_topic not in bag.topics:
            return 0
        messages = list(bag.messages([overlay_topic]))
        if not messages:
            return 0
        span_s = (messages[-1].timestamp_ns - messages[0].timestamp_ns) / 1e9
        fps = (len(messages) - 1) / span_s if span_s > 0 else 1.0
        with_people = {header_stamp_ns(m.data) for m in bag.messages([humans_topic]) if bag.decode(m).humans}
        keep = snapshot_indices([header_stamp_ns(m.data) for m in messages], with_people, snapshots)
        writer = None
        try:
            for index, message in enumerate(messages):
                bgr = cv2.cvtColor(image_to_rgb(bag.decode(message)), cv2.COLOR_RGB2BGR)
                if writer is None:
                    video_path.parent.mkdir(parents=True, exist_ok=True)
                    size = (bgr.shape[1], bgr.shape[0])
                    writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*VIDEO_FOURCC), fps, size)
                    if not writer.isOpened():
                        raise OSError(f"OpenCV cannot write {video_path} with codec {VIDEO_FOURCC}")
                if (bgr.shape[1], bgr.shape[0]) != size:
                    bgr = cv2.resize(bgr, size)
                writer.write(bgr)
                if index in keep and snapshot_dir is not None:
                    snapshot_dir.mkdir(parents=True, exist_ok=True)
                    cv2.imwrite(str(snapshot_dir / f"overlay_{keep.index(index) + 1}.png"), bgr)
        finally:
            if writer is not None:
                writer.release()
    return len(messages)


def write_ply(path: Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    """A binary little-endian PLY mesh: float32 x/y/z vertices, triangles as uint8 count + 3 int32 indices."""
    vertices = np.ascontiguousarray(vertices, dtype="<f4").reshape(-1, 3)
    triangles = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if triangles.size and (triangles.min() < 0 or triangles.max() >= len(vertices)):
        raise ValueError(f"face indices out of range for {len(vertices)} vertices")
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        "comment lihmr_ros mesh, camera optical frame (x right, y down, z forward), metres\n"
        f"element vertex {len(vertices)}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {len(triangles)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    face_records = np.empty(len(triangles), dtype=[("count", "u1"), ("indices", "<i4", (3,))])
    face_records["count"] = 3
    face_records["indices"] = triangles
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(header.encode("ascii"))
        handle.write(vertices.tobytes())
        handle.write(face_records.tobytes())


def write_track_meshes(bag_path: Path, humans_topic: str, topology_topic: str, mesh_dir: Path) -> dict[str, str]:
    """Each track's mesh from the last image it appears in, as ``track_<id>.ply``; returns id -> file name.

    Faces come from the latched ``mesh_topology``; a mesh whose vertex count
    disagrees with it is an error (a body-model mismatch between topics).
    """
    with BagReader(bag_path) as bag:
        topology_messages = list(bag.messages([topology_topic]))
        if not topology_messages:
            raise ValueError(f"{bag_path} holds no {topology_topic} message: mesh faces are unknown")
        topology = bag.decode(topology_messages[-1])
        last_seen: dict[int, object] = {}
        for message in bag.messages([humans_topic]):
            for human in bag.decode(message).humans:
                last_seen[int(human.track_id)] = human
    written = {}
    for track_id, human in sorted(last_seen.items()):
        vertices = np.asarray(human.vertices, dtype=np.float32).reshape(-1, 3)
        if len(vertices) != topology.vertex_count:
            raise ValueError(f"track {track_id}: {len(vertices)} vertices but {topology_topic} says "
                             f"{topology.vertex_count} ({topology.body_model})")
        name = f"track_{track_id:03d}.ply"
        write_ply(mesh_dir / name, vertices, np.asarray(topology.faces))
        written[str(track_id)] = name
    return written
