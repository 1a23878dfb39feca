"""ONNX export: onnxruntime parity, TensorRT operator coverage, the export command (lihmr_ros.model.export)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import EncoderConfig, LifterConfig, NetworkConfig, RefinerConfig
from lihmr_ros.model.export import export_onnx, max_abs_error_vs_torch
from lihmr_ros.model.inputs import CropSpec
from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.model.ort_session import open_session
from lihmr_ros.model.tensorrt_ops import graph_op_types, tensorrt_supported_ops, unsupported_by_tensorrt

torch.set_num_threads(2)

GRAPHS = ("encoder", "stage1", "stage2", "temporal")
TINY_CENTRE_T1 = NetworkConfig(
    window=1,
    mode="center",
    crop=CropSpec(size=32),
    encoder=EncoderConfig(feature_dim=32, channels=(8, 16)),
    lifter=LifterConfig(width=32, depth=1),
    refiner=RefinerConfig(interaction="full", width=32, full_blocks=1, residual_rank=4),
)


@pytest.fixture(scope="module")
def template() -> MeshTemplate:
    from lihmr_ros.body import load_template

    return load_template()


@pytest.fixture(scope="module", params=["default", "tiny-center-T1-full"])
def exported(request: pytest.FixtureRequest, template: MeshTemplate, tmp_path_factory: pytest.TempPathFactory):
    config = NetworkConfig() if request.param == "default" else TINY_CENTRE_T1
    torch.manual_seed(0)
    network = LIHMRNet(config, template).eval()
    out_dir = tmp_path_factory.mktemp(f"onnx-{request.param}")
    manifest = export_onnx(network, out_dir)
    return network, out_dir, manifest


def test_onnxruntime_matches_pytorch(exported) -> None:
    network, out_dir, _ = exported
    errors = max_abs_error_vs_torch(network, out_dir, batch=3)  # export used batch 2: the batch axis is dynamic
    assert set(errors) == set(GRAPHS)
    assert max(errors.values()) < 1e-4, errors


def test_every_exported_op_is_supported_by_tensorrt(exported) -> None:
    _, out_dir, manifest = exported
    for graph in manifest["graphs"].values():
        path = out_dir / graph["file"]
        assert graph_op_types(path), path
        assert unsupported_by_tensorrt(path) == set(), path


def test_op_list_is_tensorrts_and_catches_dft() -> None:
    supported = tensorrt_supported_ops()
    assert {"MatMul", "Softmax", "LayerNormalization", "Conv", "Gather", "Erf"} <= supported
    assert "DFT" not in supported and "STFT" not in supported
    assert len(supported) > 100


def test_manifest_and_single_file_graphs(exported, template: MeshTemplate) -> None:
    network, out_dir, manifest = exported
    on_disk = json.loads((out_dir / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["template_fingerprint"] == template.fingerprint()
    assert NetworkConfig.from_dict(manifest["network_config"]) == network.config
    assert manifest["opset"] >= 17
    assert sorted(path.name for path in out_dir.iterdir()) == sorted([*(f"{g}.onnx" for g in GRAPHS), "manifest.json"])
    session = open_session(out_dir / "temporal.onnx")
    assert [i.name for i in session.get_inputs()] == manifest["graphs"]["temporal"]["inputs"]
    assert [o.name for o in session.get_outputs()] == manifest["graphs"]["temporal"]["outputs"]
    assert session.get_inputs()[0].shape[0] == "persons"


def test_fused_graph_equals_stage1_then_stage2(exported) -> None:
    network, out_dir, _ = exported
    config = network.config
    rng = np.random.default_rng(0)
    feeds = {
        "features": rng.normal(size=(2, config.window, config.encoder.feature_dim)).astype(np.float32),
        "keypoints": rng.uniform(-1, 1, (2, config.window, 17, 3)).astype(np.float32),
        "crop_info": rng.uniform(0, 1, (2, config.window, 3)).astype(np.float32),
    }
    fused = open_session(out_dir / "temporal.onnx").run(None, feeds)
    joints3d, hybrid, tokens = open_session(out_dir / "stage1.onnx").run(None, feeds)
    target = joints3d[:, config.target_index]
    staged = open_session(out_dir / "stage2.onnx").run(
        None, {"target_tokens": tokens, "target_joints3d": target, "target_hybrid": hybrid}
    )
    for ours, theirs in zip(fused, [*staged, joints3d]):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_export_command_writes_checked_graphs(template: MeshTemplate, tmp_path: Path, capsys) -> None:
    from lihmr_ros.commands import export as export_command

    torch.manual_seed(0)
    checkpoint = save_checkpoint(tmp_path / "net.safetensors", LIHMRNet(TINY_CENTRE_T1, template))
    parser = _parser_with(export_command)
    out_dir = tmp_path / "graphs"
    args = parser.parse_args(["export", "--format", "onnx", "--out", str(out_dir), "--checkpoint", str(checkpoint)])
    assert args.handler(args) == 0
    printed = capsys.readouterr().out
    assert printed.count(" ok") == len(GRAPHS)
    assert (out_dir / "temporal.onnx").is_file()
    with pytest.raises(SystemExit):
        parser.parse_args(["export", "--format", "tflite", "--out", str(tmp_path)])


def _parser_with(command_module):
    import argparse

    parser = argparse.ArgumentParser(prog="lihmr")
    command_module.register(parser.add_subparsers(dest="command", required=True))
    return parser
