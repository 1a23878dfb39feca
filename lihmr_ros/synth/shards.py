"""On-disk layout of a synthetic data set: deterministic ``.npz`` shards and ``manifest.json``.

A data set directory holds ``shard_00000.npz``, ``shard_00001.npz``, ... (N
sequences each) and ``manifest.json`` (seed, split, full config, counts and
one entry per shard with its SHA-256).  Shards hold plain arrays only (no
pickles).  ``numpy.savez`` stamps the current time into its zip entries,
which would make two runs with the same seed differ; shards are therefore
written with fixed zip timestamps and a fixed entry order, so the same seed
gives byte-identical files and the hashes double as a determinism check.

Per-frame arrays of all sequences in a shard are concatenated along the
first axis; ``sequence_offsets`` (S + 1) delimits them.  Per-sequence arrays
have S rows.  Field meanings are documented on
:class:`lihmr_ros.synth.generator.SequenceData`.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from lihmr_ros.synth.generator import SequenceData

FORMAT_NAME = "lihmr-synth"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"

PER_FRAME_FIELDS: tuple[str, ...] = (
    "crops",
    "keypoints",
    "keypoints_px",
    "keypoint_source",
    "boxes",
    "crop_info",
    "joints_2d",
    "visibility",
    "frame_valid",
    "joints_cam",
    "root_cam",
    "coarse_vertices",
    "pose_quaternions",
    "global_rotation",
)
PER_SEQUENCE_FIELDS: tuple[str, ...] = ("intrinsics", "image_size", "phenotypes")

_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def shard_name(index: int) -> str:
    return f"shard_{index:05d}.npz"


def sequence_seed(seed: int, index: int) -> int:
    """Seed of sequence ``index`` of a data set: independent streams, same for any shard layout or worker."""
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 32 | int(state[1])


def pack_sequences(sequences: list[SequenceData]) -> dict[str, np.ndarray]:
    """Concatenate sequences into the shard's arrays."""
    if not sequences:
        raise ValueError("a shard needs at least one sequence")
    arrays = {name: np.concatenate([getattr(s, name) for s in sequences]) for name in PER_FRAME_FIELDS}
    for name in PER_SEQUENCE_FIELDS:
        arrays[name] = np.stack([getattr(s, name) for s in sequences])
    arrays["sequence_offsets"] = np.concatenate([[0], np.cumsum([s.num_frames for s in sequences])]).astype(np.int64)
    arrays["sequence_seed"] = np.array([s.sequence_seed for s in sequences], dtype=np.uint64)
    arrays["fps"] = np.array([s.fps for s in sequences], dtype=np.float32)
    arrays["age_years"] = np.array([s.age_years for s in sequences], dtype=np.float32)
    arrays["walking"] = np.array([s.walking for s in sequences], dtype=bool)
    return arrays


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a compressed ``.npz`` byte-for-byte reproducibly (atomic: temp file then rename)."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as stream:
                np.lib.format.write_array(stream, np.ascontiguousarray(arrays[name]), allow_pickle=False)
    os.replace(temporary, path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def shard_entry(path: Path, first_sequence: int, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Manifest record of a written shard."""
    source = arrays["keypoint_source"]
    return {
        "file": Path(path).name,
        "first_sequence": int(first_sequence),
        "sequences": int(len(arrays["sequence_seed"])),
        "frames": int(len(arrays["frame_valid"])),
        "valid_frames": int(arrays["frame_valid"].sum()),
        "mediapipe_frames": int((source == 0).sum()),
        "noise_model_frames": int((source == 1).sum()),
        "bytes": int(Path(path).stat().st_size),
        "sha256": file_sha256(path),
    }


def read_manifest(directory: Path) -> dict[str, Any] | None:
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        return None
    with path.open("r", encoding="utf-8") as stream:
        return json.load(stream)


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Atomically replace the manifest (a crash never leaves a half-written one)."""
    path = Path(directory) / MANIFEST_NAME
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as stream:
        json.dump(manifest, stream, indent=1, sort_keys=True)
        stream.write("\n")
    os.replace(temporary, path)


def totals(entries: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Counts over shard entries, for the manifest's ``counts``."""
    keys = ("sequences", "frames", "valid_frames", "mediapipe_frames", "noise_model_frames", "bytes")
    result = {key: 0 for key in keys}
    for entry in entries:
        for key in keys:
            result[key] += int(entry[key])
    return result


def load_shard(path: Path) -> dict[str, np.ndarray]:
    """All arrays of one shard (never unpickles)."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}
