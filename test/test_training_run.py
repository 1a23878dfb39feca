"""Tiny end-to-end training runs on shards written by the synth engine (lihmr_ros.training, `lihmr train`)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors import safe_open

from lihmr_ros.body import load_template
from lihmr_ros.cli import main
from lihmr_ros.model.checkpoint import load_checkpoint, read_metadata
from lihmr_ros.synth.config import config_from_dict
from lihmr_ros.synth.dataset_writer import generate_dataset
from lihmr_ros.training.config import TrainConfig
from lihmr_ros.training.encoded import COARSE_STEP_M, encode_crops, encoder_digest, quantise_coarse, restore_coarse
from lihmr_ros.training.trainer import Trainer
from lihmr_ros.training.validation import ShardValidator
from lihmr_ros.training.windows import WindowSampler

CROP = 32
TINY_DATA = {
    "body": {"coarse_topology": "notoes_collapse3pc"},
    "motion": {"frames": [8, 10]},
    "camera": {"image_sizes": [[192, 144]], "distance_m": [2.0, 4.0]},
    "scene": {"texture_size": 128},
    "keypoints": {"source": "noise"},
    "output": {"sequences_per_shard": 2, "crop_size": CROP},
}
TINY_NETWORK = {
    "window": 4,
    "crop": {"size": CROP},
    "encoder": {"feature_dim": 32, "channels": [8, 16]},
    "lifter": {"width": 32, "depth": 1},
    "refiner": {"width": 32, "latent_tokens": 8, "latent_width": 16, "low_blocks": 1, "residual_rank": 4},
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("train_data") / "synth"
    generate_dataset(directory, config_from_dict(TINY_DATA), seed=5, sequences=3, workers=1, progress=False)
    return directory


@pytest.fixture(scope="module")
def network_yaml(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("network") / "model.yaml"
    path.write_text(yaml.safe_dump(TINY_NETWORK))
    return path


def tiny_config(data_dir: Path, network_yaml: Path | None, out: Path, **changes) -> TrainConfig:
    base = {
        "data": {"train": str(data_dir), "validation": str(data_dir), "validation_sequences": 1},
        "network": str(network_yaml) if network_yaml else "",
        "out": str(out),
        "seed": 3,
        "threads": 1,  # tiny layers: one thread avoids OpenMP contention on a busy 2-core machine
        "steps": 6,
        "batch_size": 4,
        "windows_per_run": 4,
        "log_every": 1,
        "validate_every": 3,
        "checkpoint_every": 3,
        "optimizer": {"learning_rate": 2e-3, "warmup_steps": 1},
    }
    base.update(changes)
    return TrainConfig.from_dict(base)


def weights_of(path: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(path), framework="pt") as handle:
        return {name: handle.get_tensor(name) for name in handle.keys()}


def logged_losses(out: Path, column: str = "loss") -> list[float]:
    with (out / "log.csv").open(newline="") as stream:
        return [float(row[column]) for row in csv.DictReader(stream) if row[column]]


def test_training_lowers_the_loss_and_writes_loadable_checkpoints(data_dir, network_yaml, tmp_path) -> None:
    config = tiny_config(data_dir, network_yaml, tmp_path / "run", steps=40, validate_every=40, checkpoint_every=40)
    result = Trainer(config, report=lambda line: None).run(progress=False)
    assert result.steps == 40
    losses = logged_losses(tmp_path / "run")
    assert len(losses) == 40
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    stream = logged_losses(tmp_path / "run", "loss_stream_acceleration")  # a run of 4 windows per batch
    assert len(stream) == 40 and min(stream) > 0.0
    template = load_template()
    network = load_checkpoint(tmp_path / "run" / "last.safetensors", template)
    assert network.config.window == 4 and network.config.crop.size == CROP
    assert read_metadata(tmp_path / "run" / "last.safetensors")["training"]["step"] == 40
    best = load_checkpoint(tmp_path / "run" / "best.safetensors", template)
    assert best.config == network.config
    assert np.isfinite(result.best_metric)


def test_resumed_run_continues_the_step_count_and_matches_an_uninterrupted_one(
    data_dir, network_yaml, tmp_path
) -> None:
    straight = Trainer(tiny_config(data_dir, network_yaml, tmp_path / "straight"), report=lambda line: None)
    straight.run(progress=False)

    interrupted = tiny_config(data_dir, network_yaml, tmp_path / "resumed")
    assert main(["train", "--config", _write(interrupted, tmp_path), "--max-steps", "3", "--no-progress"]) == 0
    assert read_metadata(tmp_path / "resumed" / "last.safetensors")["training"]["step"] == 3
    resumed = Trainer(interrupted, resume=True, report=lambda line: None)
    assert resumed.step == 3
    assert resumed.run(progress=False).steps == 6

    first, second = weights_of(tmp_path / "straight" / "last.safetensors"), weights_of(
        tmp_path / "resumed" / "last.safetensors"
    )
    assert first.keys() == second.keys()
    for name in first:
        torch.testing.assert_close(first[name], second[name], rtol=0, atol=0, msg=name)
    with (tmp_path / "resumed" / "log.csv").open(newline="") as stream:
        steps = [int(row["step"]) for row in csv.DictReader(stream)]
    assert steps == sorted(set(steps)) and steps[-1] == 6


def _write(config: TrainConfig, directory: Path) -> str:
    path = directory / "train.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    return str(path)


def test_an_existing_run_is_not_overwritten_without_resume(data_dir, network_yaml, tmp_path, capsys) -> None:
    config = tiny_config(data_dir, network_yaml, tmp_path / "run", steps=1, checkpoint_every=1)
    Trainer(config, report=lambda line: None).run(progress=False)
    assert main(["train", "--config", _write(config, tmp_path), "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_lifter_only_phase_leaves_the_refiner_untouched(data_dir, network_yaml, tmp_path) -> None:
    config = tiny_config(
        data_dir, network_yaml, tmp_path / "stage", steps=2, lifter_only_steps=2, checkpoint_every=2,
        data={"train": str(data_dir), "validation": ""},
    )
    trainer = Trainer(config, report=lambda line: None)
    before = {name: value.clone() for name, value in trainer.network.state_dict().items()}
    trainer.run(progress=False)
    after = trainer.network.state_dict()
    refiner = [name for name in before if name.startswith("refiner.") and before[name].is_floating_point()]
    lifter = [name for name in before if name.startswith("lifting.") and before[name].is_floating_point()]
    assert refiner and all(torch.equal(before[name], after[name]) for name in refiner)
    assert any(not torch.equal(before[name], after[name]) for name in lifter)


def test_a_warm_started_run_begins_from_the_given_weights(data_dir, network_yaml, tmp_path) -> None:
    first = tiny_config(data_dir, network_yaml, tmp_path / "first", steps=2, checkpoint_every=2)
    Trainer(first, report=lambda line: None).run(progress=False)
    trained = weights_of(tmp_path / "first" / "last.safetensors")
    warm = tiny_config(
        data_dir, network_yaml, tmp_path / "warm", init_weights=str(tmp_path / "first" / "last.safetensors")
    )
    trainer = Trainer(warm, report=lambda line: None)
    assert trainer.step == 0  # a new run with its own schedule, not a resume
    trainer.run(max_steps=1, progress=False)
    assert read_metadata(tmp_path / "warm" / "last.safetensors")["training"]["init_weights"] == warm.init_weights
    trainer = Trainer(warm.with_overrides(out=str(tmp_path / "warm_again")), report=lambda line: None)
    for name, value in trainer.network.state_dict().items():
        assert torch.equal(value, trained[name]), name
    only_encoder = tiny_config(
        data_dir, network_yaml, tmp_path / "encoder_only",
        init_weights=str(tmp_path / "first" / "last.safetensors"), init_modules=["encoder"],
    )
    network = Trainer(only_encoder, report=lambda line: None).network.state_dict()
    assert all(torch.equal(network[name], trained[name]) for name in network if name.startswith("encoder."))
    assert any(
        not torch.equal(network[name], trained[name])
        for name in network
        if name.startswith("refiner.") and network[name].is_floating_point()
    )


def test_network_override_replaces_the_configs_architecture(data_dir, network_yaml, tmp_path, capsys) -> None:
    config_path = _write(tiny_config(data_dir, None, tmp_path / "run", steps=1, checkpoint_every=1), tmp_path)
    assert main(["train", "--config", config_path, "--network", str(tmp_path / "absent.yaml"), "--no-progress"]) == 2
    assert "absent.yaml does not exist" in capsys.readouterr().err
    assert main(["train", "--config", config_path, "--network", str(network_yaml), "--no-progress"]) == 0
    network = load_checkpoint(tmp_path / "run" / "last.safetensors", load_template())
    assert network.config.window == TINY_NETWORK["window"]


def test_ablation_table_puts_accuracy_next_to_cost(data_dir, network_yaml, tmp_path) -> None:
    from lihmr_ros.training.ablation_table import ablation_rows, format_rows

    full_yaml = tmp_path / "full.yaml"
    full_yaml.write_text(yaml.safe_dump({**TINY_NETWORK, "refiner": {**TINY_NETWORK["refiner"], "interaction": "full",
                                                                       "full_blocks": 1}}))
    runs = []
    for name, network in (("ablation_reference", network_yaml), ("ablation_full", full_yaml)):
        config = tiny_config(data_dir, network, tmp_path / name, steps=2, validate_every=2, checkpoint_every=2)
        Trainer(config, report=lambda line: None).run(progress=False)
        runs.append(tmp_path / name)
    reference, full = ablation_rows(runs)
    assert (reference["variant"], full["variant"]) == ("reference", "full")
    assert reference["step"] == full["step"] == 2
    assert all(np.isfinite(row[name]) and row[name] > 0 for row in (reference, full) for name in ("mpjpe", "pa_mpve"))
    assert full["refiner_gflops"] > reference["refiner_gflops"] > 0
    table = format_rows([reference, full])
    assert table.count("\n") == 3 and "| full | 2 |" in table


def test_crop_size_mismatch_is_an_actionable_error(data_dir, tmp_path) -> None:
    config = tiny_config(data_dir, None, tmp_path / "run")  # default network: 128 px crops
    with pytest.raises(ValueError, match="crop_size: 128"):
        Trainer(config, report=lambda line: None)



def test_runs_of_windows_share_encoder_frames_and_advance_through_one_sequence(data_dir) -> None:
    from lihmr_ros.training.windows import WindowSampler

    sampler = WindowSampler(data_dir, window=4, target_index=3, crop_size=CROP)
    ids = np.arange(4)
    batch = sampler.gather(ids)
    # Shared crops index back to exactly the frames of every window, each frame stored once.
    expected = sampler.frames["crops"][sampler.windows[ids]]
    assert np.array_equal(batch.crops[batch.crop_index], expected)
    assert len(batch.crops) == len(np.unique(sampler.windows[ids]))

    batch = sampler.sample(np.random.default_rng(0), batch_size=12, windows_per_run=4)
    assert batch.size == 12 and batch.crop_index.shape == (12, 4)
    assert len(batch.crops) < 12 * 4  # consecutive windows overlap, so frames are shared
    targets = batch.target_coarse_vertices.reshape(3, 4, -1)
    for run_groups, run_targets in zip(batch.crop_group[batch.crop_index].reshape(3, 4 * 4), targets):
        assert len(set(run_groups.tolist())) == 1  # one sequence per run
        assert len({row.tobytes() for row in run_targets}) > 1  # distinct target frames

    ids = sampler.sample_ids(np.random.default_rng(1), batch_size=12, windows_per_run=4).reshape(3, 4)
    target_frames = sampler.windows[ids, sampler.target_index]
    assert (np.diff(target_frames, axis=1) >= 0).all()  # each run advances in time (repeats at a sequence end)
    assert all(len(set(sampler.frame_sequence[run].tolist())) == 1 for run in target_frames)


def test_coarse_vertex_coding_round_trips_within_half_a_step() -> None:
    rng = np.random.default_rng(0)
    offsets = np.array([0, 5, 12])
    vertices = np.cumsum(rng.normal(0.0, 0.01, size=(12, 7, 3)), axis=0).astype(np.float32)
    coded = quantise_coarse(vertices, offsets)
    assert coded.dtype == np.int16
    np.testing.assert_array_equal(coded[5], np.round(vertices[5] / COARSE_STEP_M))  # each sequence starts absolute
    restored = restore_coarse(coded, offsets)
    assert np.abs(restored - vertices).max() <= COARSE_STEP_M / 2 + 1e-6


@pytest.fixture(scope="module")
def encoded_set(data_dir, network_yaml, tmp_path_factory) -> tuple[Path, Path]:
    """A tiny checkpoint (1 training step) and the data set pre-encoded with its encoder."""
    root = tmp_path_factory.mktemp("encoded")
    config = tiny_config(data_dir, network_yaml, root / "source_run", steps=1, checkpoint_every=1)
    Trainer(config, report=lambda line: None).run(progress=False)
    weights = root / "source_run" / "last.safetensors"
    out = root / "encoded"
    assert main(["encode", "--data", str(data_dir), "--weights", str(weights), "--out", str(out),
                 "--device", "cpu"]) == 0
    return weights, out


def test_pre_encoded_data_holds_the_encoders_features_and_the_same_windows(data_dir, encoded_set) -> None:
    weights, encoded = encoded_set
    network = load_checkpoint(weights, load_template())
    plain = WindowSampler(data_dir, network.config.window, network.config.target_index, CROP)
    compact = WindowSampler(encoded, network.config.window, network.config.target_index, CROP)
    assert plain.encoder_sha256 is None and compact.encoder_sha256 == encoder_digest(network)
    np.testing.assert_array_equal(plain.windows, compact.windows)
    first, second = (sampler.sample(np.random.default_rng(4), 6, 2) for sampler in (plain, compact))
    expected = encode_crops(network, first.crops, torch.device("cpu")).astype(np.float32)
    np.testing.assert_allclose(second.crops.astype(np.float32), expected, atol=1e-6)
    np.testing.assert_allclose(second.keypoints, first.keypoints, atol=2e-3)
    np.testing.assert_allclose(second.joints, first.joints, atol=2e-3)
    np.testing.assert_allclose(second.target_coarse_vertices, first.target_coarse_vertices, atol=COARSE_STEP_M)
    assert second.target_pose_quaternions is None


def test_training_on_pre_encoded_data_freezes_the_encoder(data_dir, network_yaml, encoded_set, tmp_path) -> None:
    weights, encoded = encoded_set
    before = weights_of(weights)
    config = tiny_config(
        data_dir, network_yaml, tmp_path / "frozen", steps=2, init_weights=str(weights),
        data={"train": str(encoded), "validation": str(data_dir), "validation_sequences": 1,
              "full_mesh_targets": "upsampled"},
    )
    Trainer(config, report=lambda line: None).run(progress=False)
    after = weights_of(tmp_path / "frozen" / "last.safetensors")
    encoder = [name for name in after if name.startswith("encoder.")]
    assert encoder and all(torch.equal(after[name], before[name]) for name in encoder)
    assert any(not torch.equal(after[name], before[name]) for name in after if name.startswith("lifting."))

    with pytest.raises(ValueError, match="another encoder"):
        Trainer(config.with_overrides(out=str(tmp_path / "fresh"), init_weights=""), report=lambda line: None)
    exact = tiny_config(data_dir, network_yaml, tmp_path / "exact", init_weights=str(weights),
                        data={"train": str(encoded), "validation": "", "full_mesh_targets": "anny"})
    with pytest.raises(ValueError, match="full_mesh_targets: upsampled"):
        Trainer(exact, report=lambda line: None)


def test_encode_refuses_to_overwrite_its_source(data_dir, tmp_path, capsys) -> None:
    assert main(["encode", "--data", str(data_dir), "--weights", str(tmp_path / "w.safetensors"),
                 "--out", str(data_dir)]) == 2
    assert "--out must differ" in capsys.readouterr().err


def test_validation_on_pre_encoded_data_agrees_with_the_plain_data(data_dir, encoded_set) -> None:
    weights, encoded = encoded_set
    template = load_template()
    network = load_checkpoint(weights, template)
    plain = ShardValidator(data_dir, 3).evaluate(network, torch.device("cpu"))
    compact = ShardValidator(encoded, 3, template=template).evaluate(network, torch.device("cpu"))
    assert compact["frames"] == plain["frames"]
    assert abs(compact["mpjpe"] - plain["mpjpe"]) < 1.0  # same joints, float16 inputs
    assert abs(compact["mpve"] - plain["mpve"]) < 10.0  # upsampled instead of exact ground-truth meshes
    with pytest.raises(ValueError, match="template"):
        ShardValidator(encoded, 3)


def project_points(points: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """(B, T, J, 3) camera-frame points -> (B, T, J, 2) pixels with each window's (B, 3, 3) camera."""
    fx, fy = intrinsics[:, 0, 0, None, None], intrinsics[:, 1, 1, None, None]
    cx, cy = intrinsics[:, 0, 2, None, None], intrinsics[:, 1, 2, None, None]
    return np.stack([fx * points[..., 0] / points[..., 2] + cx, fy * points[..., 1] / points[..., 2] + cy], axis=-1)


def test_mirrored_windows_are_the_same_scene_seen_in_a_mirror(data_dir) -> None:
    from lihmr_ros.body.coco import COCO17_FLIP_PERMUTATION
    from lihmr_ros.model.inputs import crop_info, keypoints_from_crop
    from lihmr_ros.runtime.flip_averaging import mirror_twins

    sampler = WindowSampler(data_dir, window=4, target_index=3, crop_size=CROP)
    twins = mirror_twins(load_template().coarse_vertices)
    ids, flags = np.arange(6), np.array([True, False, True, True, False, True])
    plain, seen = sampler.gather(ids), sampler.gather(ids, flags, twins)
    same = ~flags
    np.testing.assert_array_equal(seen.crops[seen.crop_index[same]], plain.crops[plain.crop_index[same]])
    np.testing.assert_array_equal(seen.joints[same], plain.joints[same])
    # Images: each mirrored window reads its frames' crops flipped left/right.
    flipped = plain.crops[plain.crop_index[flags]][..., ::-1, :]
    np.testing.assert_array_equal(seen.crops[seen.crop_index[flags]], flipped)
    for batch in (plain, seen):  # 3D joints still project onto the stored 2D joints
        projected = project_points(batch.joints + batch.root[:, :, None], batch.intrinsics)
        np.testing.assert_allclose(projected, batch.joints_2d, atol=0.05)
    # Keypoints: the mirror image about the principal point of the original pixels, left and right swapped.
    centre_x = plain.intrinsics[flags, 0, 2][:, None, None]
    original = keypoints_from_crop(plain.keypoints[flags], plain.boxes[flags])[:, :, COCO17_FLIP_PERMUTATION]
    mirrored = keypoints_from_crop(seen.keypoints[flags], seen.boxes[flags])
    np.testing.assert_allclose(mirrored[..., 0], 2 * centre_x - original[..., 0], atol=1e-3)
    np.testing.assert_allclose(mirrored[..., 1:], original[..., 1:], atol=1e-3)
    for batch in (plain, seen):  # crop placements still describe the (mirrored) boxes in the same camera
        for window in range(batch.size):
            expected = crop_info(batch.boxes[window], batch.intrinsics[window])
            np.testing.assert_allclose(batch.crop_info[window], expected, atol=1e-5)
    # Meshes: vertex i of the mirrored body sits where its twin's mirror image sits.
    expected = plain.target_coarse_vertices[flags][:, twins] * np.float32([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(seen.target_coarse_vertices[flags], expected)
    assert np.abs(seen.target_coarse_vertices[flags] - plain.target_coarse_vertices[flags]).max() > 0.01


def test_mirror_augmented_training_needs_the_mirrored_features(data_dir, network_yaml, tmp_path) -> None:
    weights_dir = tmp_path / "source"
    Trainer(tiny_config(data_dir, network_yaml, weights_dir, steps=1, checkpoint_every=1),
            report=lambda line: None).run(progress=False)
    weights = weights_dir / "last.safetensors"
    without, with_mirror = tmp_path / "encoded", tmp_path / "encoded_mirrored"
    for out, extra in ((without, []), (with_mirror, ["--mirrored"])):
        assert main(["encode", "--data", str(data_dir), "--weights", str(weights), "--out", str(out),
                     "--device", "cpu", *extra]) == 0
    network = load_checkpoint(weights, load_template())
    sampler = WindowSampler(with_mirror, network.config.window, network.config.target_index, CROP)
    crops = WindowSampler(data_dir, network.config.window, network.config.target_index, CROP).frames["crops"]
    expected = encode_crops(network, np.ascontiguousarray(crops[:, :, ::-1]), torch.device("cpu")).astype(np.float32)
    np.testing.assert_allclose(sampler.frames["mirrored_crops"].astype(np.float32), expected, atol=1e-6)

    def config(data: Path, out: str) -> TrainConfig:
        return tiny_config(data_dir, network_yaml, tmp_path / out, steps=2, init_weights=str(weights),
                           augment={"mirror": 0.5},
                           data={"train": str(data), "validation": "", "full_mesh_targets": "upsampled"})

    with pytest.raises(ValueError, match="lihmr encode --mirrored"):
        Trainer(config(without, "refused"), report=lambda line: None)
    Trainer(config(with_mirror, "mirrored"), report=lambda line: None).run(progress=False)
    assert np.isfinite(logged_losses(tmp_path / "mirrored")).all()
    with pytest.raises(ValueError, match="full_mesh_targets: upsampled"):
        tiny_config(data_dir, network_yaml, tmp_path / "anny", augment={"mirror": 0.5})
