"""Reading a synthetic data set back: manifest, shards, sequences and full-mesh reconstruction.

Why shards store coarse vertices *and* Anny parameters instead of full
meshes: a full 13,718-vertex mesh is 165 kB per frame in float32, three
times the crop itself, and training on 2 CPU cores is bound by how fast
targets reach the network.  The coarse retopology (369 vertices by default,
float16, 2.2 kB per frame) is what the network's mesh branch predicts before
its fixed upsampling, so it is supervised straight from the shard with no
extra work.  Where the full mesh is needed (full-resolution losses,
evaluation export) :class:`VertexReconstructor` rebuilds it exactly from the
stored pose quaternions, phenotypes, global rotation and root translation
with one batched Anny forward pass (a few ms per frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from lihmr_ros.synth.shards import FORMAT_NAME, FORMAT_VERSION, PER_FRAME_FIELDS, file_sha256, load_shard, read_manifest


@dataclass(frozen=True)
class SequenceRecord:
    """One sequence read from a shard: per-frame arrays (F rows) plus per-sequence values."""

    arrays: dict[str, np.ndarray]
    """Every per-frame field of :data:`lihmr_ros.synth.shards.PER_FRAME_FIELDS`."""
    intrinsics: np.ndarray
    image_size: np.ndarray
    phenotypes: np.ndarray
    fps: float
    sequence_seed: int

    @property
    def num_frames(self) -> int:
        return int(self.arrays["frame_valid"].shape[0])


class SynthDataset:
    """A data set directory written by ``lihmr synth``."""

    def __init__(self, directory: Path, verify_hashes: bool = False) -> None:
        self.directory = Path(directory)
        manifest = read_manifest(self.directory)
        if manifest is None:
            raise FileNotFoundError(f"{self.directory} has no manifest.json; generate data with `lihmr synth --out DIR`")
        if manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{self.directory} holds format {manifest.get('format')!r} v{manifest.get('format_version')}, "
                f"this reader understands {FORMAT_NAME!r} v{FORMAT_VERSION}"
            )
        self.manifest: dict[str, Any] = manifest
        self.shard_paths = [self.directory / entry["file"] for entry in manifest["shards"]]
        for path, entry in zip(self.shard_paths, manifest["shards"]):
            if not path.is_file():
                raise FileNotFoundError(f"shard {path} listed in the manifest is missing; rerun `lihmr synth` to resume")
            if verify_hashes and file_sha256(path) != entry["sha256"]:
                raise ValueError(f"shard {path} does not match its manifest hash; rerun `lihmr synth` to regenerate it")

    @property
    def num_sequences(self) -> int:
        return int(sum(entry["sequences"] for entry in self.manifest["shards"]))

    @property
    def num_frames(self) -> int:
        return int(sum(entry["frames"] for entry in self.manifest["shards"]))

    def shard(self, index: int) -> dict[str, np.ndarray]:
        return load_shard(self.shard_paths[index])

    def sequences(self) -> Iterator[SequenceRecord]:
        """Every sequence in shard order (one shard in memory at a time)."""
        for index in range(len(self.shard_paths)):
            yield from split_sequences(self.shard(index))


def split_sequences(
    shard: dict[str, np.ndarray], fields: tuple[str, ...] = PER_FRAME_FIELDS
) -> Iterator[SequenceRecord]:
    """Cut a shard's concatenated arrays (per-frame ``fields``) back into sequences."""
    offsets = shard["sequence_offsets"]
    for k in range(len(offsets) - 1):
        start, stop = int(offsets[k]), int(offsets[k + 1])
        yield SequenceRecord(
            arrays={name: shard[name][start:stop] for name in fields},
            intrinsics=shard["intrinsics"][k],
            image_size=shard["image_size"][k],
            phenotypes=shard["phenotypes"][k],
            fps=float(shard["fps"][k]),
            sequence_seed=int(shard["sequence_seed"][k]),
        )


class VertexReconstructor:
    """Full-resolution camera-frame meshes from stored Anny parameters (batched Anny forward)."""

    def __init__(self, body=None, batch_size: int = 64) -> None:
        """``body``: an :class:`lihmr_ros.body.anny_model.AnnyBody` at full topology (loaded if omitted)."""
        if body is None:
            from lihmr_ros.body.anny_model import AnnyBody

            body = AnnyBody()
        self.body = body
        self.batch_size = batch_size

    def __call__(
        self,
        pose_quaternions: np.ndarray,
        phenotypes: np.ndarray,
        global_rotation: np.ndarray,
        root_cam: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, 104, 4) quaternions, (N, 6) or (6,) phenotypes, (N, 3, 3), (N, 3) -> vertices (N, V, 3), joints (N, 17, 3)."""
        import roma

        from lihmr_ros.body.coco import mid_hip

        count = pose_quaternions.shape[0]
        phenotypes = np.array(np.broadcast_to(np.asarray(phenotypes, dtype=np.float32), (count, np.shape(phenotypes)[-1])))
        vertices, joints = [], []
        for start in range(0, count, self.batch_size):
            stop = min(start + self.batch_size, count)
            rotations = roma.unitquat_to_rotmat(torch.as_tensor(pose_quaternions[start:stop], dtype=torch.float64))
            poses = torch.eye(4, dtype=torch.float64).repeat(stop - start, rotations.shape[1], 1, 1)
            poses[..., :3, :3] = rotations
            output = self.body.forward(poses.to(self.body.dtype), torch.as_tensor(phenotypes[start:stop]))
            posed = output.vertices.double().numpy()
            posed_joints = output.joints.double().numpy()
            root = mid_hip(posed_joints)[:, None]
            rotation = global_rotation[start:stop].astype(np.float64)
            translation = root_cam[start:stop, None].astype(np.float64)
            vertices.append(np.einsum("nij,nvj->nvi", rotation, posed - root) + translation)
            joints.append(np.einsum("nij,nvj->nvi", rotation, posed_joints - root) + translation)
        return np.concatenate(vertices).astype(np.float32), np.concatenate(joints).astype(np.float32)
