"""ONNX export of the network as separately runnable graphs.

Graphs (each a single file, dynamic person batch ``persons``):

* ``encoder.onnx``  crops (N, 3, S, S) -> features (N, D); runs once per new frame.
* ``stage1.onnx``   features, keypoints, crop_info windows -> joints3d (all frames),
  target_hybrid, target_tokens.
* ``stage2.onnx``   target_tokens, target_joints3d, target_hybrid -> vertices,
  joints, coarse_vertices, shape.
* ``temporal.onnx`` stages 1 + 2 fused (one session call per window; what the
  runtime uses), outputs as stage 2 plus joints3d.

A ``manifest.json`` beside them records the network config, the template
fingerprint, the opset and every graph's input/output names, so a consumer
(onnxruntime, a TensorRT engine builder) needs no Python model code.
The TorchScript-based exporter is used because the dynamo exporter needs the
``onnxscript`` package, which is not a dependency of this project.
"""

from __future__ import annotations

import json
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
import numpy as np
import torch
from torch import nn

from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.model.ort_session import open_session

ONNX_OPSET = 17
BATCH_AXIS = "persons"
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class GraphSpec:
    """One exported graph: which module, named inputs (with example tensors) and outputs."""

    name: str
    module: nn.Module
    inputs: dict[str, torch.Tensor]
    outputs: tuple[str, ...]

    @property
    def filename(self) -> str:
        return f"{self.name}.onnx"


class FusedTemporalGraph(nn.Module):
    """Stages 1 + 2 as one module with flat tensor outputs, for ``temporal.onnx``."""

    def __init__(self, network: LIHMRNet) -> None:
        super().__init__()
        self.lifting = network.lifting
        self.refiner = network.refiner
        self.target_index = network.config.target_index

    def forward(self, features: torch.Tensor, keypoints: torch.Tensor, crop_info: torch.Tensor) -> tuple:
        lifted = self.lifting(features, keypoints, crop_info)
        mesh = self.refiner(lifted.target_tokens, lifted.joints3d[:, self.target_index], lifted.target_hybrid)
        return (*mesh, lifted.joints3d)


def example_inputs(network: LIHMRNet, batch: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    """Plausible random inputs for every graph input name (fixed seed; stage-2 inputs come from stage 1)."""
    config = network.config
    generator = torch.Generator().manual_seed(seed)
    window, size = config.window, config.crop.size
    keypoints = torch.rand(batch, window, 17, 3, generator=generator)
    keypoints[..., :2] = keypoints[..., :2] * 1.6 - 0.8
    # Box centre within +-0.3 of the optical axis, box size 0.2-1.2 focal lengths.
    crop_info = torch.rand(batch, window, 3, generator=generator) * torch.tensor([0.6, 0.6, 1.0])
    crop_info += torch.tensor([-0.3, -0.3, 0.2])
    window_crops = torch.rand(batch * window, 3, size, size, generator=generator)
    with _evaluation_mode(network), torch.no_grad():
        features = network.encoder(window_crops).unflatten(0, (batch, window))
        lifted = network.lifting(features, keypoints, crop_info)
    return {
        "crops": torch.rand(batch, 3, size, size, generator=generator),
        "features": features,
        "keypoints": keypoints,
        "crop_info": crop_info,
        "target_tokens": lifted.target_tokens,
        "target_joints3d": lifted.joints3d[:, config.target_index],
        "target_hybrid": lifted.target_hybrid,
    }


MESH_OUTPUTS = ("vertices", "joints", "coarse_vertices", "shape")


def graph_specs(network: LIHMRNet, batch: int = 2) -> list[GraphSpec]:
    """The graphs :func:`export_onnx` writes, with example inputs taken from :func:`example_inputs`."""
    examples = example_inputs(network, batch)

    def pick(*names: str) -> dict[str, torch.Tensor]:
        return {name: examples[name] for name in names}

    return [
        GraphSpec("encoder", network.encoder, pick("crops"), ("features",)),
        GraphSpec(
            "stage1",
            network.lifting,
            pick("features", "keypoints", "crop_info"),
            ("joints3d", "target_hybrid", "target_tokens"),
        ),
        GraphSpec(
            "stage2", network.refiner, pick("target_tokens", "target_joints3d", "target_hybrid"), MESH_OUTPUTS
        ),
        GraphSpec(
            "temporal",
            FusedTemporalGraph(network),
            pick("features", "keypoints", "crop_info"),
            (*MESH_OUTPUTS, "joints3d"),
        ),
    ]


def export_graph(spec: GraphSpec, path: Path, opset: int = ONNX_OPSET) -> Path:
    """Export one graph to a single self-contained ``.onnx`` file."""
    dynamic_axes = {name: {0: BATCH_AXIS} for name in (*spec.inputs, *spec.outputs)}
    with warnings.catch_warnings():
        # The TorchScript exporter announces its own deprecation on every call.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        torch.onnx.export(
            spec.module,
            tuple(spec.inputs.values()),
            str(path),
            input_names=list(spec.inputs),
            output_names=list(spec.outputs),
            dynamic_axes=dynamic_axes,
            opset_version=opset,
            dynamo=False,
            external_data=False,
            do_constant_folding=True,
        )
    return path


def export_onnx(network: LIHMRNet, out_dir: Path, opset: int = ONNX_OPSET) -> dict:
    """Write every graph of :func:`graph_specs` and ``manifest.json`` to ``out_dir``; returns the manifest."""
    if opset < 17:
        raise ValueError(f"opset must be >= 17 (LayerNormalization), got {opset}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    graphs = {}
    with _evaluation_mode(network):
        for spec in graph_specs(network):
            export_graph(spec, out_dir / spec.filename, opset)
            graphs[spec.name] = {"file": spec.filename, "inputs": list(spec.inputs), "outputs": list(spec.outputs)}
    manifest = {
        "format": "lihmr-onnx-1",
        "opset": opset,
        "batch_axis": BATCH_AXIS,
        "network_config": network.config.to_dict(),
        "template_fingerprint": network.template_fingerprint,
        "graphs": graphs,
    }
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def max_abs_error_vs_torch(network: LIHMRNet, out_dir: Path, batch: int = 3) -> dict[str, float]:
    """Run every exported graph in onnxruntime and PyTorch on the same inputs; max |difference| per graph.

    ``batch`` differs from the export batch on purpose, to prove the person axis is dynamic.
    """
    errors = {}
    with _evaluation_mode(network), torch.no_grad():
        for spec in graph_specs(network, batch):
            session = open_session(Path(out_dir) / spec.filename)
            feeds = {name: tensor.numpy() for name, tensor in spec.inputs.items()}
            onnx_outputs = session.run(list(spec.outputs), feeds)
            torch_outputs = spec.module(*spec.inputs.values())
            if isinstance(torch_outputs, torch.Tensor):
                torch_outputs = (torch_outputs,)
            errors[spec.name] = max(
                float(np.max(np.abs(ours.numpy() - theirs))) for ours, theirs in zip(torch_outputs, onnx_outputs)
            )
    return errors


@contextmanager
def _evaluation_mode(network: nn.Module) -> Iterator[None]:
    """Eval mode (BatchNorm running statistics) for the duration, then the caller's mode back."""
    was_training = network.training
    network.eval()
    try:
        yield
    finally:
        network.train(was_training)
