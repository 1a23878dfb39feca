"""Network checkpoints: safetensors weights with JSON metadata in the same file.

Loading never unpickles (safetensors holds raw tensors and a JSON header), so
a checkpoint from anywhere cannot run code.  The metadata carries the network
config, which rebuilds the exact architecture, and the fingerprint of the mesh
template the weights were trained with: loading against another template, or
with a config that disagrees, fails with an error naming the difference
instead of producing silently wrong meshes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.runtime.cache import sha256_file

FORMAT = "lihmr-checkpoint-1"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "weights" / "lihmr_default.safetensors"


class CheckpointMismatchError(ValueError):
    """The checkpoint does not fit the requested config or template."""


def save_checkpoint(path: Path, network: LIHMRNet, training: Mapping[str, Any] | None = None) -> Path:
    """Write ``network``'s weights and metadata (config, template fingerprint, ``training`` info)."""
    return _write(path, network.state_dict(), network.config, network.template_fingerprint, training)


def average_checkpoints(paths: Sequence[Path], out: Path) -> Path:
    """Write the uniform weight average of two or more checkpoints of one network to ``out``.

    Consecutive training phases start from each other's weights (with the
    encoder frozen), so their checkpoints lie in one basin and the mean of
    their weights can beat each of them ("model soup"). Only checkpoints of the
    same config and template can be averaged; anything else is refused with
    the difference named. Integer buffers (batch-norm ``num_batches_tracked``
    counters) are not weights: the first checkpoint's are kept.
    """
    paths = [_existing(path) for path in paths]
    if len(paths) < 2:
        raise ValueError("averaging needs at least two checkpoints")
    if any(Path(out).resolve() == path.resolve() for path in paths):
        raise ValueError(f"the output {out} would overwrite one of the averaged checkpoints")
    reference = read_metadata(paths[0])
    first = _read_tensors(paths[0])
    sums = {name: tensor.double() for name, tensor in first.items() if tensor.is_floating_point()}
    for path in paths[1:]:
        metadata = read_metadata(path)
        differences = _config_differences(reference["network_config"].to_dict(), metadata["network_config"].to_dict())
        if differences:
            raise CheckpointMismatchError(
                f"{path} has another network config than {paths[0]} ({'; '.join(differences[:3])}): "
                "only checkpoints of one architecture can be averaged"
            )
        _check_template(path, metadata["template_fingerprint"], reference["template_fingerprint"], str(paths[0]))
        tensors = _read_tensors(path)
        _check_fit(path, first, tensors, f"the weights of {paths[0]}")
        for name in sums:
            sums[name] += tensors[name].double()
    averaged = {
        name: (sums[name] / len(paths)).to(tensor.dtype) if name in sums else tensor for name, tensor in first.items()
    }
    sources = [{"path": str(path), "sha256": sha256_file(path)} for path in paths]
    return _write(out, averaged, reference["network_config"], reference["template_fingerprint"], {"averaged": sources})


def _write(
    path: Path,
    tensors: Mapping[str, torch.Tensor],
    config: NetworkConfig,
    template_fingerprint: str,
    training: Mapping[str, Any] | None,
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": FORMAT,
        "network_config": json.dumps(config.to_dict()),
        "template_fingerprint": template_fingerprint,
        "training": json.dumps(dict(training or {})),
    }
    save_file({name: tensor.detach().cpu().contiguous() for name, tensor in tensors.items()}, str(path), metadata=metadata)
    return path


def read_metadata(path: Path) -> dict[str, Any]:
    """Decoded metadata of a checkpoint: ``network_config`` (NetworkConfig), fingerprint, training info."""
    path = _existing(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = handle.metadata() or {}
    except (SafetensorError, OSError) as error:
        raise _unreadable(path, error) from error
    if raw.get("format") != FORMAT:
        raise CheckpointMismatchError(
            f"{path} is not a LIHMR checkpoint (metadata format {raw.get('format')!r}, expected {FORMAT!r})"
        )
    try:
        config = NetworkConfig.from_dict(json.loads(raw["network_config"]))
        training = json.loads(raw.get("training", "{}"))
    except (KeyError, ValueError) as error:
        raise CheckpointMismatchError(f"{path} has unreadable metadata: {error}") from error
    return {"network_config": config, "template_fingerprint": raw.get("template_fingerprint"), "training": training}


def load_checkpoint(
    path: Path, template: MeshTemplate, expected_config: NetworkConfig | None = None
) -> LIHMRNet:
    """Build the network a checkpoint describes and load its weights (eval mode).

    ``expected_config``, when given, must equal the stored config (for a
    runtime that was configured for a specific window or mode).
    """
    path = _existing(path)
    metadata = read_metadata(path)
    config: NetworkConfig = metadata["network_config"]
    if expected_config is not None and expected_config != config:
        differences = _config_differences(expected_config.to_dict(), config.to_dict())
        raise CheckpointMismatchError(
            f"{path} was trained with a different network config: {'; '.join(differences)}"
        )
    _check_template(
        path, metadata["template_fingerprint"], template.fingerprint(),
        f"the template given ({template.body_model}/{template.coarse_topology})",
    )
    network = LIHMRNet(config, template)
    stored = _read_tensors(path)
    _check_fit(path, network.state_dict(), stored, "the network")
    network.load_state_dict(stored)
    return network.eval()


def load_weights_into(network: LIHMRNet, path: Path, modules: Sequence[str] = ()) -> list[str]:
    """Copy a checkpoint's weights into an existing network (warm start / fine-tuning).

    ``modules`` limits the copy to these sub-modules, named as in the state
    dict (``encoder``, ``lifting``, ``lifting.lifter``), so that a network
    whose other parts differ (another refiner, no frequency split) can start
    from trained ones; empty copies everything.  Every tensor of the selected
    modules must exist in the checkpoint with the same shape: a partial copy
    would silently leave freshly initialised weights behind.  Returns the
    names of the copied tensors.
    """
    path = _existing(path)
    metadata = read_metadata(path)
    _check_template(path, metadata["template_fingerprint"], network.template_fingerprint, "the network's template")
    expected = network.state_dict()

    def in_module(name: str, module: str) -> bool:
        return name.startswith(module + ".")

    unknown = [module for module in modules if not any(in_module(name, module) for name in expected)]
    if unknown:
        raise ValueError(f"unknown network modules {unknown}; top-level modules are "
                         f"{sorted({name.split('.', 1)[0] for name in expected})}")
    selected = {
        name: tensor for name, tensor in expected.items()
        if not modules or any(in_module(name, module) for module in modules)
    }
    stored = _read_tensors(path, selected)
    _check_fit(path, selected, stored, "the selected modules")
    network.load_state_dict(stored, strict=not modules)
    return list(selected)


def _check_template(path: Path, stored_fingerprint: str | None, fingerprint: str, description: str) -> None:
    if stored_fingerprint != fingerprint:
        raise CheckpointMismatchError(
            f"{path} was trained with mesh template {stored_fingerprint}, but {description} has fingerprint "
            f"{fingerprint}; load the template the checkpoint was trained with"
        )


def _read_tensors(path: Path, names: Collection[str] | None = None) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors (only ``names`` when given), never unpickling anything."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return {name: handle.get_tensor(name) for name in handle.keys() if names is None or name in names}
    except (SafetensorError, OSError) as error:
        raise _unreadable(path, error) from error


def _check_fit(path: Path, expected: Mapping[str, torch.Tensor], stored: Mapping[str, torch.Tensor], what: str) -> None:
    """Stored tensors must be exactly the expected names with the expected shapes."""
    missing, unexpected = sorted(set(expected) - set(stored)), sorted(set(stored) - set(expected))
    wrong_shape = [
        f"{name} {tuple(stored[name].shape)} != {tuple(tensor.shape)}"
        for name, tensor in expected.items()
        if name in stored and stored[name].shape != tensor.shape
    ]
    if missing or unexpected or wrong_shape:
        parts = [
            f"missing {', '.join(missing[:5])}" if missing else "",
            f"unexpected {', '.join(unexpected[:5])}" if unexpected else "",
            f"wrong shape {', '.join(wrong_shape[:5])}" if wrong_shape else "",
        ]
        raise CheckpointMismatchError(f"{path} weights do not fit {what}: {'; '.join(p for p in parts if p)}")


def _existing(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        hint = ""
        if path == DEFAULT_CHECKPOINT:
            hint = (
                " (the default checkpoint is produced by lihmr train; "
                "pass --weights, or set the node's weights parameter)"
            )
        raise FileNotFoundError(f"checkpoint {path} does not exist{hint}")
    return path


def _unreadable(path: Path, error: Exception) -> CheckpointMismatchError:
    """The error for a file safetensors cannot parse (corrupt, truncated, another format such as a pickle)."""
    return CheckpointMismatchError(
        f"{path} is not a readable safetensors checkpoint ({type(error).__name__}: {error}); "
        "it may be truncated or in another format (pickled .pt/.pth files are never loaded)"
    )


def _config_differences(expected: Mapping[str, Any], stored: Mapping[str, Any], prefix: str = "") -> list[str]:
    differences = []
    for key in sorted(set(expected) | set(stored)):
        left, right = expected.get(key), stored.get(key)
        if isinstance(left, Mapping) and isinstance(right, Mapping):
            differences += _config_differences(left, right, f"{prefix}{key}.")
        elif left != right:
            differences.append(f"{prefix}{key}: expected {left!r}, checkpoint has {right!r}")
    return differences

