"""Checkpoints: safetensors + metadata round trip and mismatch errors (lihmr_ros.model.checkpoint)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.cli import main
from lihmr_ros.model.checkpoint import (
    CheckpointMismatchError,
    average_checkpoints,
    load_checkpoint,
    load_weights_into,
    read_metadata,
    save_checkpoint,
)
from lihmr_ros.model.config import EncoderConfig, LifterConfig, NetworkConfig, RefinerConfig
from lihmr_ros.model.inputs import CropSpec
from lihmr_ros.model.network import LIHMRNet

torch.set_num_threads(2)

CONFIG = NetworkConfig(
    window=3,
    crop=CropSpec(size=32),
    encoder=EncoderConfig(feature_dim=32, channels=(8, 16)),
    lifter=LifterConfig(width=32, depth=1),
    refiner=RefinerConfig(width=32, latent_tokens=8, latent_width=16, low_blocks=1, residual_rank=4),
)


@pytest.fixture(scope="module")
def template() -> MeshTemplate:
    from lihmr_ros.body import load_template

    return load_template()


@pytest.fixture(scope="module")
def saved(template: MeshTemplate, tmp_path_factory: pytest.TempPathFactory) -> tuple[LIHMRNet, Path]:
    torch.manual_seed(0)
    network = LIHMRNet(CONFIG, template)
    # Move BatchNorm statistics off their defaults so the round trip covers buffers too.
    network.train()
    with torch.no_grad():
        network.encode_crops(torch.rand(4, 3, 32, 32))
    path = tmp_path_factory.mktemp("ckpt") / "net.safetensors"
    save_checkpoint(path, network.eval(), training={"steps": 12, "dataset": "unit-test"})
    return network, path


def test_round_trip_restores_config_weights_and_outputs(template: MeshTemplate, saved: tuple[LIHMRNet, Path]) -> None:
    network, path = saved
    loaded = load_checkpoint(path, template)
    assert loaded.config == CONFIG and not loaded.training
    for name, tensor in network.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name
    generator = torch.Generator().manual_seed(1)
    inputs = (
        torch.rand(2, 3, 3, 32, 32, generator=generator),
        torch.rand(2, 3, 17, 3, generator=generator),
        torch.rand(2, 3, 3, generator=generator),
    )
    with torch.no_grad():
        for ours, theirs in zip(network(*inputs), loaded(*inputs)):
            assert torch.equal(ours, theirs)
    metadata = read_metadata(path)
    assert metadata["training"] == {"steps": 12, "dataset": "unit-test"}
    assert metadata["template_fingerprint"] == template.fingerprint()


def test_config_mismatch_names_the_field(template: MeshTemplate, saved: tuple[LIHMRNet, Path]) -> None:
    _, path = saved
    with pytest.raises(CheckpointMismatchError, match=r"window: expected 16, checkpoint has 3"):
        load_checkpoint(path, template, expected_config=CONFIG.with_window(16))
    other = dataclasses.replace(CONFIG, lifter=LifterConfig(width=32, depth=2))
    with pytest.raises(CheckpointMismatchError, match=r"lifter.depth: expected 2, checkpoint has 1"):
        load_checkpoint(path, template, expected_config=other)


def test_template_mismatch_is_refused(template: MeshTemplate, saved: tuple[LIHMRNet, Path]) -> None:
    _, path = saved
    moved = dataclasses.replace(template, rest_joints=template.rest_joints + 0.01)
    with pytest.raises(CheckpointMismatchError, match=f"template {template.fingerprint()}.*{moved.fingerprint()}"):
        load_checkpoint(path, moved)


def test_foreign_and_damaged_files_are_refused(
    template: MeshTemplate, saved: tuple[LIHMRNet, Path], tmp_path: Path
) -> None:
    network, path = saved
    foreign = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointMismatchError, match="not a LIHMR checkpoint"):
        load_checkpoint(foreign, template)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.safetensors", template)
    tensors = {name: tensor.contiguous() for name, tensor in network.state_dict().items()}
    tensors["lifting.lifter.joint_head.weight"] = torch.zeros(3, 7)
    del tensors["encoder.project.0.bias"]
    metadata = {
        "format": "lihmr-checkpoint-1",
        "network_config": json.dumps(CONFIG.to_dict()),
        "template_fingerprint": template.fingerprint(),
    }
    damaged = tmp_path / "damaged.safetensors"
    save_file(tensors, str(damaged), metadata=metadata)
    with pytest.raises(CheckpointMismatchError, match=r"missing encoder.project.0.bias.*wrong shape lifting"):
        load_checkpoint(damaged, template)


def test_weights_copy_into_a_network_with_another_refiner(template: MeshTemplate, saved: tuple[LIHMRNet, Path]) -> None:
    original, path = saved
    full_refiner = dataclasses.replace(CONFIG, refiner=dataclasses.replace(CONFIG.refiner, interaction="full", full_blocks=1))
    torch.manual_seed(1)
    target = LIHMRNet(full_refiner, template)
    refiner_before = {name: value.clone() for name, value in target.refiner.state_dict().items()}
    copied = load_weights_into(target, path, ("encoder", "lifting"))
    assert copied and all(name.split(".")[0] in ("encoder", "lifting") for name in copied)
    for name, value in original.state_dict().items():
        if name.split(".")[0] in ("encoder", "lifting"):
            assert torch.equal(target.state_dict()[name], value), name
    assert all(torch.equal(target.refiner.state_dict()[name], value) for name, value in refiner_before.items())
    # The whole network cannot be copied: the refiners differ, and the error names a tensor.
    with pytest.raises(CheckpointMismatchError, match="refiner"):
        load_weights_into(target, path)
    with pytest.raises(ValueError, match="unknown network modules"):
        load_weights_into(target, path, ("encoders",))
    # Dotted names select a sub-module: the lifter without the frequency stage in front of it.
    lifter_only = load_weights_into(LIHMRNet(CONFIG, template), path, ("lifting.lifter",))
    assert lifter_only and all(name.startswith("lifting.lifter.") for name in lifter_only)


def test_weights_copy_refuses_another_template(template: MeshTemplate, saved: tuple[LIHMRNet, Path]) -> None:
    _, path = saved
    network = LIHMRNet(CONFIG, template)
    network.template_fingerprint = "0" * 16
    with pytest.raises(CheckpointMismatchError, match="mesh template"):
        load_weights_into(network, path)


def test_average_of_two_checkpoints_is_the_mean_of_their_weights(
    template: MeshTemplate, saved: tuple[LIHMRNet, Path], tmp_path: Path
) -> None:
    first, first_path = saved
    torch.manual_seed(5)
    second = LIHMRNet(CONFIG, template).eval()
    second_path = save_checkpoint(tmp_path / "second.safetensors", second)
    out = tmp_path / "soup" / "mean.safetensors"
    assert main(["average", str(first_path), str(second_path), "--out", str(out)]) == 0
    averaged = load_checkpoint(out, template)
    for name, value in first.state_dict().items():
        if value.is_floating_point():
            expected = (value.double() + second.state_dict()[name].double()) / 2
            assert torch.allclose(averaged.state_dict()[name].double(), expected, atol=1e-7), name
        else:
            assert torch.equal(averaged.state_dict()[name], value), name
    sources = read_metadata(out)["training"]["averaged"]
    assert [source["path"] for source in sources] == [str(first_path), str(second_path)]
    assert all(len(source["sha256"]) == 64 for source in sources)
    # The average of a checkpoint with itself is the checkpoint.
    same = average_checkpoints([first_path, first_path], tmp_path / "same.safetensors")
    assert all(torch.equal(load_checkpoint(same, template).state_dict()[name], value)
               for name, value in first.state_dict().items())


def test_average_refuses_other_architectures_and_overwriting(
    template: MeshTemplate, saved: tuple[LIHMRNet, Path], tmp_path: Path, capsys
) -> None:
    _, path = saved
    deeper = save_checkpoint(
        tmp_path / "deeper.safetensors", LIHMRNet(dataclasses.replace(CONFIG, lifter=LifterConfig(width=32, depth=2)), template)
    )
    with pytest.raises(CheckpointMismatchError, match="lifter.depth"):
        average_checkpoints([path, deeper], tmp_path / "out.safetensors")
    with pytest.raises(ValueError, match="at least two"):
        average_checkpoints([path], tmp_path / "out.safetensors")
    assert main(["average", str(path), str(deeper), "--out", str(deeper)]) == 2
    assert "would overwrite" in capsys.readouterr().err
