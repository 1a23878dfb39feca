"""Pre-encoded training data: a frozen image encoder's features in place of the crops.

Why: crops are 49 kB per frame (573 MB compressed for the 17k-frame default
training set), too much to copy to a remote GPU machine with a small upload
limit, and the encoder is a quarter of every CPU step.  Once an encoder is
trained (the shipped weights' is), later phases can keep it fixed: each
frame's feature is then computed once, here, with the encoder in eval mode
(exactly as at run time), and the shard keeps only what training with
``full_mesh_targets: upsampled`` reads, about 1.3 kB per frame:

* ``encoder_features`` (F, D) float16;
* network inputs and targets as float16 (``keypoints``, ``joints_2d``,
  ``joints_cam``; their rounding is far below a pixel or a millimetre),
  ``crop_info``, ``boxes``, ``root_cam`` as float32;
* ``coarse_vertices`` quantised to :data:`COARSE_STEP_M` and stored as
  frame-to-frame differences within each sequence (int16), which deflate
  to less than half of plain float16 because bodies move smoothly;
* optionally (``lihmr encode --mirrored``) ``mirrored_encoder_features``, the
  features of each crop flipped left/right, which lets training mirror
  whole windows (``augment.mirror``) although the crops are gone.

The manifest records a digest of the encoder's tensors; the trainer refuses
data encoded by another encoder than the network it trains, and freezes the
encoder so the features stay valid.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from lihmr_ros.model.checkpoint import load_checkpoint
from lihmr_ros.model.inputs import crops_to_network
from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.synth.dataset import SequenceRecord, SynthDataset, split_sequences
from lihmr_ros.synth.shards import (
    PER_SEQUENCE_FIELDS,
    load_shard,
    read_manifest,
    shard_entry,
    shard_name,
    write_manifest,
    write_npz,
)

FORMAT_NAME = "lihmr-encoded"
FORMAT_VERSION = 1
COARSE_STEP_M = 5e-4
"""Quantisation step of the stored coarse vertices (0.14 mm RMS rounding error)."""

HALF_FIELDS: tuple[str, ...] = ("keypoints", "joints_2d", "joints_cam")
FULL_FIELDS: tuple[str, ...] = ("crop_info", "boxes", "root_cam", "keypoint_source", "frame_valid")
SEQUENCE_EXTRAS: tuple[str, ...] = ("sequence_offsets", "sequence_seed", "fps")
PER_FRAME_ENCODED: tuple[str, ...] = ("encoder_features", "coarse_vertices", *HALF_FIELDS, *FULL_FIELDS)
MIRRORED_FEATURES = "mirrored_encoder_features"


def encoder_digest(network: LIHMRNet) -> str:
    """SHA-256 over the encoder's tensors (names, shapes and values), identifying the features it makes."""
    digest = hashlib.sha256()
    for name, tensor in sorted(network.encoder.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{name}:{array.dtype}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def quantise_coarse(vertices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(F, V, 3) metres -> int16 steps, each sequence's first frame absolute and the rest differences."""
    steps = np.round(vertices.astype(np.float64) / COARSE_STEP_M).astype(np.int64)
    coded = steps.copy()
    for start, stop in zip(offsets[:-1], offsets[1:]):
        coded[start + 1 : stop] = steps[start + 1 : stop] - steps[start : stop - 1]
    if np.abs(coded).max(initial=0) > np.iinfo(np.int16).max:
        raise ValueError("coarse vertices exceed the int16 range of the encoded format")
    return coded.astype(np.int16)


def restore_coarse(coded: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Inverse of :func:`quantise_coarse`: (F, V, 3) float32 metres."""
    steps = coded.astype(np.int64)
    for start, stop in zip(offsets[:-1], offsets[1:]):
        steps[start:stop] = np.cumsum(steps[start:stop], axis=0)
    return (steps * COARSE_STEP_M).astype(np.float32)


@torch.no_grad()
def encode_crops(network: LIHMRNet, crops: np.ndarray, device: torch.device, batch_size: int = 256) -> np.ndarray:
    """(F, S, S, 3) uint8 crops -> (F, D) float16 features, encoder in eval mode (as at run time)."""
    network.eval()
    parts = [
        network.encode_crops(torch.as_tensor(crops_to_network(crops[start : start + batch_size]), device=device))
        for start in range(0, len(crops), batch_size)
    ]
    return torch.cat(parts).cpu().numpy().astype(np.float16)


def encode_dataset(
    sources: Sequence[Path],
    weights: Path,
    out: Path,
    device: torch.device = torch.device("cpu"),
    report: Callable[[str], None] = print,
    mirrored: bool = False,
) -> dict[str, Any]:
    """Write the pre-encoded union of the ``lihmr synth`` data sets ``sources`` into ``out``; returns its manifest.

    ``mirrored`` also stores the features of every crop flipped left/right
    (twice the encoder time, about 0.25 kB more per frame).

    Several sources (e.g. the same recipe run with several seeds) become one
    training set; they must share the crop size and coarse topology the
    trainer checks, and the manifest keeps the first one's config.
    """
    from lihmr_ros.body import load_template

    datasets = [SynthDataset(Path(source)) for source in sources]
    if not datasets:
        raise ValueError("no data set to encode")
    _check_compatible(datasets)
    network = load_checkpoint(Path(weights), load_template()).to(device)
    if not network.config.image_features:
        raise ValueError(f"{weights} was trained without image features; there is nothing to pre-encode")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    first_sequence = 0
    for dataset in datasets:
        for index in range(len(dataset.shard_paths)):
            shard = dataset.shard(index)
            offsets = shard["sequence_offsets"]
            arrays: dict[str, np.ndarray] = {
                "encoder_features": encode_crops(network, shard["crops"], device),
                "coarse_vertices": quantise_coarse(shard["coarse_vertices"], offsets),
            }
            if mirrored:  # crops are (F, S, S, 3): axis 2 runs left to right
                arrays[MIRRORED_FEATURES] = encode_crops(network, shard["crops"][:, :, ::-1], device)
            arrays.update({name: shard[name].astype(np.float16) for name in HALF_FIELDS})
            arrays.update({name: shard[name] for name in (*FULL_FIELDS, *PER_SEQUENCE_FIELDS, *SEQUENCE_EXTRAS)})
            path = out / shard_name(len(entries))
            write_npz(path, arrays)
            entries.append(shard_entry(path, first_sequence, arrays))
            first_sequence += entries[-1]["sequences"]
            report(f"encoded {dataset.directory}/{dataset.shard_paths[index].name} -> {path.name}: "
                   f"{entries[-1]['frames']} frames, {entries[-1]['bytes'] / 2**20:.1f} MiB")
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": datasets[0].manifest["config"],
        "sources": [str(dataset.directory) for dataset in datasets],
        "encoder": {
            "checkpoint": str(weights),
            "sha256": encoder_digest(network),
            "feature_dim": network.config.encoder.feature_dim,
            "mirrored": mirrored,
        },
        "shards": entries,
    }
    write_manifest(out, manifest)
    return manifest


def _check_compatible(datasets: Sequence[SynthDataset]) -> None:
    """Sources merged into one training set must agree on what the trainer reads from the config."""
    def key(dataset: SynthDataset) -> tuple[Any, Any]:
        config = dataset.manifest["config"]
        return config["output"]["crop_size"], config["body"]["coarse_topology"]

    first = key(datasets[0])
    for dataset in datasets[1:]:
        if key(dataset) != first:
            raise ValueError(
                f"{dataset.directory} has crop size / coarse topology {key(dataset)} but "
                f"{datasets[0].directory} has {first}; encode them separately"
            )


class EncodedDataset:
    """A directory written by :func:`encode_dataset`, read like :class:`SynthDataset`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        manifest = read_manifest(self.directory)
        if manifest is None or manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{self.directory} is not a {FORMAT_NAME!r} v{FORMAT_VERSION} data set")
        self.manifest: dict[str, Any] = manifest
        self.shard_paths = [self.directory / entry["file"] for entry in manifest["shards"]]
        for path in self.shard_paths:
            if not path.is_file():
                raise FileNotFoundError(f"shard {path} listed in the manifest is missing; re-run `lihmr encode`")

    @property
    def encoder_sha256(self) -> str:
        return str(self.manifest["encoder"]["sha256"])

    @property
    def has_mirrored_features(self) -> bool:
        """Whether the shards also hold the features of the mirrored crops (``lihmr encode --mirrored``)."""
        return bool(self.manifest["encoder"].get("mirrored", False))

    def sequences(self) -> Iterator[SequenceRecord]:
        """Every sequence in shard order, per-frame arrays decoded to float32 (features stay float16)."""
        for path in self.shard_paths:
            shard = load_shard(path)
            offsets = shard["sequence_offsets"]
            shard["coarse_vertices"] = restore_coarse(shard["coarse_vertices"], offsets)
            for name in HALF_FIELDS:
                shard[name] = shard[name].astype(np.float32)
            extra = (MIRRORED_FEATURES,) if self.has_mirrored_features else ()
            yield from split_sequences(shard, (*PER_FRAME_ENCODED, *extra))


def open_training_data(directory: Path) -> SynthDataset | EncodedDataset:
    """The data set in ``directory``, plain (crops) or pre-encoded (features), by its manifest."""
    manifest = read_manifest(Path(directory))
    if manifest is not None and manifest.get("format") == FORMAT_NAME:
        return EncodedDataset(directory)
    return SynthDataset(directory)
