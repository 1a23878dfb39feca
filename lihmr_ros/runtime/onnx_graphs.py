"""ONNX graphs of a checkpoint, exported on demand into the engine cache and reused while valid.

The onnxruntime and TensorRT backends run graphs, not PyTorch modules, but
users ship checkpoints.  The first start with a checkpoint exports its graphs
to ``<cache root>/<checkpoint digest[:16]>/onnx/``; later starts only hash the
files (milliseconds) and skip PyTorch model loading entirely.  The key of
every file is the checkpoint's content SHA-256 (:func:`checkpoint_digest`),
the cache format and the ONNX opset, so new weights or a new exporter never reuse old graphs, and a
truncated or edited file is re-exported (see :mod:`lihmr_ros.runtime.cache`).

A fresh export is checked against PyTorch (max |onnxruntime - torch| over all
graphs) before it is recorded as valid: a graph that computes something else
must fail at start-up, not show up as wrong meshes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.inputs import NUM_KEYPOINTS
from lihmr_ros.runtime.cache import Logger, mismatch_reason, record_artifact, sha256_file

CACHE_FORMAT = "lihmr-onnx-cache-1"
MANIFEST_NAME = "manifest.json"
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
"""safetensors' own limit on the JSON header size."""
EXPORT_PARITY_TOLERANCE_M = 1e-4
"""Largest |onnxruntime - torch| accepted on a fresh export (metres; ~1e-6 is typical)."""


@dataclass(frozen=True)
class OnnxGraphs:
    """A validated directory of exported graphs and its manifest (see ``lihmr_ros.model.export``)."""

    directory: Path
    manifest: dict[str, Any]
    checkpoint_sha256: str

    def path(self, graph: str) -> Path:
        """File of one graph (``encoder``, ``stage1``, ``stage2``, ``temporal``)."""
        try:
            return self.directory / self.manifest["graphs"][graph]["file"]
        except KeyError:
            raise KeyError(f"graph {graph!r} is not in {self.directory / MANIFEST_NAME}") from None

    def file_sha256(self, graph: str) -> str:
        """SHA-256 of one graph file (part of a TensorRT engine's cache key)."""
        return sha256_file(self.path(graph))

    def inputs(self, graph: str) -> list[str]:
        return list(self.manifest["graphs"][graph]["inputs"])

    def outputs(self, graph: str) -> list[str]:
        return list(self.manifest["graphs"][graph]["outputs"])

    @property
    def network_config(self) -> NetworkConfig:
        return NetworkConfig.from_dict(self.manifest["network_config"])

    def input_shapes(self, graph: str, persons: int) -> dict[str, tuple[int, ...]]:
        """Input shapes of ``graph`` for ``persons`` (TensorRT optimisation profiles need them spelled out)."""
        config = self.network_config
        window, size = config.window, config.crop.size
        known = {
            "crops": (persons, 3, size, size),
            "features": (persons, window, config.encoder.feature_dim),
            "keypoints": (persons, window, NUM_KEYPOINTS, 3),
            "crop_info": (persons, window, 3),
        }
        return {name: known[name] for name in self.inputs(graph)}


def checkpoint_digest(path: Path) -> str:
    """SHA-256 of a safetensors checkpoint's content: its header in canonical key order, then the tensor bytes.

    Not the file's hash: safetensors writes its metadata map in arbitrary
    order, so the same weights saved twice differ byte for byte and would get
    two cache entries.  The header is parsed as JSON only (nothing executes).
    """
    path = Path(path)
    with path.open("rb") as stream:
        prefix = stream.read(8)
        header_size = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
        if not 0 < header_size <= MAX_SAFETENSORS_HEADER:
            raise ValueError(f"{path} is not a safetensors checkpoint (bad header length)")
        try:
            header = json.loads(stream.read(header_size))
        except ValueError as error:
            raise ValueError(f"{path} is not a safetensors checkpoint (unreadable header: {error})") from error
        digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checkpoint_cache_dir(cache_root: Path, checkpoint_sha256: str) -> Path:
    """Per-checkpoint directory under the cache root (ONNX graphs and TensorRT engines live below it)."""
    return Path(cache_root) / checkpoint_sha256[:16]


def cache_key(checkpoint_sha256: str) -> dict[str, Any]:
    from lihmr_ros.model.export import ONNX_OPSET

    return {"format": CACHE_FORMAT, "checkpoint_sha256": checkpoint_sha256, "opset": ONNX_OPSET}


def load_valid_graphs(directory: Path, checkpoint_sha256: str) -> tuple[OnnxGraphs | None, str]:
    """The graphs in ``directory`` if the manifest and every graph match the key; else (None, why not)."""
    key = cache_key(checkpoint_sha256)
    manifest_path = directory / MANIFEST_NAME
    problem = mismatch_reason(manifest_path, key)
    if problem is not None:
        return None, f"{manifest_path.name}: {problem}"
    manifest = json.loads(manifest_path.read_text())
    for graph in manifest.get("graphs", {}).values():
        problem = mismatch_reason(directory / graph["file"], key)
        if problem is not None:
            return None, f"{graph['file']}: {problem}"
    return OnnxGraphs(directory, manifest, checkpoint_sha256), "valid"


def ensure_onnx_graphs(
    checkpoint: Path, cache_root: Path, logger: Logger, template_path: Path | None = None
) -> OnnxGraphs:
    """Valid ONNX graphs of ``checkpoint`` under ``cache_root``, exporting them when needed."""
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist")
    checkpoint_sha256 = checkpoint_digest(checkpoint)
    directory = checkpoint_cache_dir(cache_root, checkpoint_sha256) / "onnx"
    graphs, reason = load_valid_graphs(directory, checkpoint_sha256)
    if graphs is not None:
        logger.info(f"ONNX graphs of {checkpoint.name}: reusing {directory}")
        return graphs
    logger.info(f"ONNX graphs of {checkpoint.name}: exporting to {directory} ({reason})")
    export_graphs(checkpoint, directory, checkpoint_sha256, template_path)
    graphs, reason = load_valid_graphs(directory, checkpoint_sha256)
    if graphs is None:
        raise RuntimeError(f"freshly exported ONNX graphs in {directory} do not validate: {reason}")
    return graphs


def export_graphs(checkpoint: Path, directory: Path, checkpoint_sha256: str, template_path: Path | None) -> None:
    """Export into a scratch directory beside ``directory``, check parity, move files in, then record them.

    Records are written last, so an interrupted export leaves files that fail
    validation and are exported again, never a half-valid set.
    """
    from lihmr_ros.model.checkpoint import load_checkpoint
    from lihmr_ros.model.export import export_onnx, max_abs_error_vs_torch
    from lihmr_ros.model.templates import resolve_template

    network = load_checkpoint(checkpoint, resolve_template(template_path))
    directory.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=directory.parent))
    try:
        manifest = export_onnx(network, scratch)
        errors = max_abs_error_vs_torch(network, scratch)
        worst = max(errors, key=errors.get)
        if errors[worst] > EXPORT_PARITY_TOLERANCE_M:
            raise RuntimeError(
                f"exported {worst}.onnx differs from PyTorch by {errors[worst]:.2e} m "
                f"(> {EXPORT_PARITY_TOLERANCE_M:.0e}); refusing to cache it"
            )
        files = [graph["file"] for graph in manifest["graphs"].values()] + [MANIFEST_NAME]
        for name in files:
            (scratch / name).replace(directory / name)
        key = cache_key(checkpoint_sha256)
        for name in files:
            record_artifact(directory / name, key)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
