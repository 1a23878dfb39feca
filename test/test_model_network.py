"""The two-stage network on the real mesh template (lihmr_ros.model.network and its parts)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.model.config import EncoderConfig, LifterConfig, NetworkConfig, RefinerConfig
from lihmr_ros.model.cost import count_gflops
from lihmr_ros.model.export import example_inputs
from lihmr_ros.model.frequency import haar_matrices
from lihmr_ros.model.inputs import CropSpec
from lihmr_ros.model.network import LIHMRNet, predict_sequence, window_indices

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def template() -> MeshTemplate:
    from lihmr_ros.body import load_template

    return load_template()


def small_config(window: int = 4, mode: str = "causal", interaction: str = "low") -> NetworkConfig:
    """Every component present, but narrow, so the tests stay fast on two cores."""
    return NetworkConfig(
        window=window,
        mode=mode,
        crop=CropSpec(size=32),
        encoder=EncoderConfig(feature_dim=32, channels=(8, 16)),
        lifter=LifterConfig(width=32, depth=1),
        refiner=RefinerConfig(
            interaction=interaction, width=32, latent_tokens=8, latent_width=16, low_blocks=1, full_blocks=1,
            residual_rank=4,
        ),
    )


def random_window(config: NetworkConfig, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    size = config.crop.size
    crops = torch.rand(batch, config.window, 3, size, size, generator=generator)
    keypoints = torch.rand(batch, config.window, 17, 3, generator=generator) * 2 - 1
    crop_info = torch.rand(batch, config.window, 3, generator=generator)
    return crops, keypoints, crop_info


@pytest.mark.parametrize(
    ("window", "batch", "mode", "interaction"),
    [(1, 1, "causal", "low"), (4, 3, "center", "full"), (16, 8, "causal", "low"), (16, 2, "center", "full")],
)
def test_output_shapes_and_root(template: MeshTemplate, window: int, batch: int, mode: str, interaction: str) -> None:
    config = small_config(window, mode, interaction)
    network = LIHMRNet(config, template).eval()
    with torch.no_grad():
        out = network(*random_window(config, batch))
    assert out.vertices.shape == (batch, template.num_full_vertices, 3)
    assert out.joints.shape == (batch, 17, 3)
    assert out.coarse_vertices.shape == (batch, template.num_coarse_vertices, 3)
    assert out.shape.shape == (batch, config.refiner.shape_params)
    assert out.lifted_joints.shape == (batch, window, 17, 3)
    assert bool(((out.shape > 0) & (out.shape < 1)).all())
    # Root-relative: the mid-hip (mean of COCO 11 and 12) sits at the origin, for the mesh joints and
    # for every lifted frame; and the output joints are the template regressor applied to the mesh.
    for joints in (out.joints, out.lifted_joints):
        np.testing.assert_allclose(0.5 * (joints[..., 11, :] + joints[..., 12, :]), 0.0, atol=1e-5)
    regressed = torch.as_tensor(template.joint_regressor) @ out.vertices
    np.testing.assert_allclose(regressed, out.joints, atol=1e-5)


def test_wrong_window_is_an_actionable_error(template: MeshTemplate) -> None:
    network = LIHMRNet(small_config(window=4), template)
    crops, keypoints, crop_info = random_window(small_config(window=5), 1)
    with pytest.raises(ValueError, match=r"window=4"):
        network(crops, keypoints, crop_info)
    with pytest.raises(ValueError, match=r"crops must be \(N, 3, 32, 32\)"):
        network.encode_crops(torch.zeros(2, 3, 64, 64))


@pytest.mark.parametrize("interaction", ["low", "full"])
def test_gradients_reach_every_parameter(template: MeshTemplate, interaction: str) -> None:
    """A few SGD steps change every parameter (zero-initialised ones need a second step to unlock)."""
    torch.manual_seed(0)
    config = small_config(window=4, interaction=interaction)
    network = LIHMRNet(config, template).train()
    initial = {name: parameter.detach().clone() for name, parameter in network.named_parameters()}
    optimiser = torch.optim.SGD(network.parameters(), lr=1e-2)
    batch = random_window(config, 2)
    for _ in range(3):
        optimiser.zero_grad()
        out = network(*batch)
        loss = sum(tensor.square().mean() for tensor in out)
        loss.backward()
        optimiser.step()
    unchanged = [name for name, parameter in network.named_parameters() if torch.equal(parameter, initial[name])]
    assert unchanged == []


def test_without_image_features_the_crops_do_not_matter(template: MeshTemplate) -> None:
    """The "without image features" ablation: only keypoints and crop placement reach the output."""
    config = dataclasses.replace(small_config(window=4), image_features=False)
    network = LIHMRNet(config, template).eval()
    crops, keypoints, crop_info = random_window(config, 2)
    with torch.no_grad():
        first = network(crops, keypoints, crop_info)
        second = network(torch.rand_like(crops), keypoints, crop_info)
        moved = network(crops, keypoints.flip(2), crop_info)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert not torch.allclose(first.vertices, moved.vertices)
    with_features = LIHMRNet(small_config(window=4), template).eval()
    with torch.no_grad():
        assert not torch.allclose(with_features(crops, keypoints, crop_info).vertices,
                                  with_features(torch.rand_like(crops), keypoints, crop_info).vertices)


def test_without_the_frequency_split_frames_are_mixed_by_attention_alone(template: MeshTemplate) -> None:
    config = small_config(window=4)
    config = dataclasses.replace(config, frequency=dataclasses.replace(config.frequency, split=False))
    network = LIHMRNet(config, template).eval()
    frequency = network.lifting.frequency
    assert not hasattr(frequency, "analysis_low") and not hasattr(frequency, "high_mixer")
    with torch.no_grad():  # residual branches start at zero; give them weights so mixing shows
        for parameter in frequency.parameters():
            parameter.normal_(std=0.2)
    features = torch.rand(2, 4, 32)
    changed = features.clone()
    changed[:, 0] = torch.rand(2, 32)  # a change in the oldest frame reaches the newest one through attention
    with torch.no_grad():
        assert not torch.allclose(frequency(features)[:, -1], frequency(changed)[:, -1])
        out = network(*random_window(config, 2))
    assert out.vertices.shape == (2, template.num_full_vertices, 3)


def test_eval_mode_is_deterministic(template: MeshTemplate) -> None:
    config = small_config(window=4)
    batch = random_window(config, 2)
    outputs = []
    for _ in range(2):
        torch.manual_seed(3)
        network = LIHMRNet(config, template).eval()
        with torch.no_grad():
            outputs.append(network(*batch))
            repeat = network(*batch)
        for first, second in zip(outputs[-1], repeat):
            assert torch.equal(first, second)
    for first, second in zip(*outputs):
        assert torch.equal(first, second)


def test_training_and_inference_upsampling_agree_in_value_and_gradient(template: MeshTemplate) -> None:
    """Training upsamples with a sparse product, inference with the exported gather: the same map."""
    from lihmr_ros.body.upsampling import apply_upsampling

    refiner = LIHMRNet(small_config(), template).refiner
    coarse = torch.randn(3, template.num_coarse_vertices, 3, generator=torch.Generator().manual_seed(5))
    upstream = torch.randn(3, template.num_full_vertices, 3, generator=torch.Generator().manual_seed(6))
    results = {}
    for training in (True, False):
        refiner.train(training)
        leaf = coarse.clone().requires_grad_(True)
        full = refiner.upsample(leaf)
        (full * upstream).sum().backward()
        results[training] = (full.detach(), leaf.grad)
    expected = apply_upsampling(coarse.numpy(), template.upsample_index, template.upsample_weight)
    np.testing.assert_allclose(results[False][0].numpy(), expected, atol=1e-5)
    torch.testing.assert_close(results[True][0], results[False][0], atol=1e-5, rtol=0)
    torch.testing.assert_close(results[True][1], results[False][1], atol=1e-4, rtol=1e-5)


def test_window_indices_causal_and_centre() -> None:
    causal = window_indices(5, 3, target_index=2)
    np.testing.assert_array_equal(causal[0], [0, 0, 0])
    np.testing.assert_array_equal(causal[4], [2, 3, 4])
    centre = window_indices(5, 4, target_index=2)
    np.testing.assert_array_equal(centre[0], [0, 0, 0, 1])
    np.testing.assert_array_equal(centre[4], [2, 3, 4, 4])


@pytest.mark.parametrize("mode", ["causal", "center"])
def test_predict_sequence_uses_future_frames_only_in_centre_mode(template: MeshTemplate, mode: str) -> None:
    torch.manual_seed(1)
    config = small_config(window=4, mode=mode)
    network = LIHMRNet(config, template).eval()
    frames, changed_from = 9, 6
    generator = torch.Generator().manual_seed(5)
    crops = torch.rand(frames, 3, 32, 32, generator=generator)
    keypoints = torch.rand(frames, 17, 3, generator=generator)
    crop_info = torch.rand(frames, 3, generator=generator)
    before = predict_sequence(network, crops, keypoints, crop_info, batch_size=4)
    crops[changed_from:], keypoints[changed_from:], crop_info[changed_from:] = 0.5, 0.0, 0.2
    after = predict_sequence(network, crops, keypoints, crop_info, batch_size=4)
    assert before.vertices.shape == (frames, template.num_full_vertices, 3)
    past = slice(0, changed_from)
    moved = (after.vertices[past] - before.vertices[past]).abs().amax(dim=(1, 2))
    assert bool((after.vertices[changed_from:] != before.vertices[changed_from:]).any())
    if mode == "causal":
        assert float(moved.max()) < 1e-6
    else:
        # Frame 5's centred window [3..6] contains the changed frame 6; frames 0-3 never see it.
        assert float(moved[5]) > 1e-4
        assert float(moved[:4].max()) < 1e-6


def test_haar_matrices_reconstruct_every_window_length() -> None:
    rng = np.random.default_rng(0)
    for window in range(1, 9):
        analysis_low, analysis_high, synthesis_low, synthesis_high = haar_matrices(window)
        signal = rng.normal(size=(window, 5))
        rebuilt = synthesis_low @ (analysis_low @ signal) + synthesis_high @ (analysis_high @ signal)
        np.testing.assert_allclose(rebuilt, signal, atol=1e-12)
        constant = np.ones((window, 1))
        np.testing.assert_allclose(analysis_high @ constant, 0.0, atol=1e-12)
        np.testing.assert_allclose(analysis_low @ constant, np.sqrt(2.0), atol=1e-12)


def test_low_dim_refiner_costs_at_most_a_quarter_of_full(template: MeshTemplate) -> None:
    """Acceptance: stage-2 GFLOPs of the default low-dimensional refiner <= 1/4 of the full one."""
    gflops = {}
    for interaction in ("low", "full"):
        network = LIHMRNet(NetworkConfig().with_interaction(interaction), template).eval()
        inputs = example_inputs(network, batch=1)
        arguments = (inputs["target_tokens"], inputs["target_joints3d"], inputs["target_hybrid"])
        gflops[interaction] = count_gflops(lambda: network.refiner(*arguments))
    assert gflops["low"] * 4 <= gflops["full"], gflops


def test_default_network_size_is_frugal_but_not_starved(template: MeshTemplate) -> None:
    network = LIHMRNet(NetworkConfig(), template)
    params = sum(parameter.numel() for parameter in network.parameters())
    assert 1_500_000 <= params <= 6_000_000, params
    with pytest.raises(ValueError, match="invalid MeshTemplate"):
        LIHMRNet(NetworkConfig(), dataclasses.replace(template, rest_joints=template.rest_joints[:5]))


def test_attention_refuses_a_token_count_it_was_not_built_for() -> None:
    from lihmr_ros.model.layers import SelfAttentionLayer

    layer = SelfAttentionLayer(width=8, heads=2, mlp_ratio=1.0, tokens=4)
    assert layer(torch.zeros(3, 4, 8)).shape == (3, 4, 8)
    # 6 tokens x 2 persons would reshape silently into 3 groups of 4 without the check.
    with pytest.raises(ValueError, match="built for 4 query / 4 context tokens, got 6 / 6"):
        layer(torch.zeros(2, 6, 8))
