"""Sharded synthetic data sets: determinism, layout, manifest, resume, reconstruction (lihmr_ros.synth)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lihmr_ros.model import inputs
from lihmr_ros.synth.config import config_from_dict
from lihmr_ros.synth.dataset import SynthDataset, VertexReconstructor, split_sequences
from lihmr_ros.synth.dataset_writer import generate_dataset
from lihmr_ros.synth.generator import KEYPOINTS_MEDIAPIPE, KEYPOINTS_NOISE, KEYPOINTS_NONE
from lihmr_ros.synth.shards import MANIFEST_NAME, file_sha256, load_shard

TINY = {
    "motion": {"frames": [4, 6]},
    "camera": {"image_sizes": [[192, 144]], "distance_m": [2.0, 4.0]},
    "scene": {"texture_size": 128},
    "keypoints": {"source": "mediapipe"},
    "output": {"sequences_per_shard": 2, "crop_size": 48},
}
SEQUENCES = 5  # three shards: 2 + 2 + 1
SEED = 11


@pytest.fixture(scope="module")
def tiny_config():
    return config_from_dict(TINY)


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory, tiny_config) -> Path:
    directory = tmp_path_factory.mktemp("synth") / "train"
    generate_dataset(directory, tiny_config, seed=SEED, sequences=SEQUENCES, workers=1, progress=False)
    return directory


def _without_timing(manifest: dict) -> dict:
    return {key: value for key, value in manifest.items() if key != "timing"}


def test_same_seed_gives_byte_identical_shards(dataset_dir: Path, tiny_config, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_dataset(again, tiny_config, seed=SEED, sequences=SEQUENCES, workers=1, progress=False)
    shards = sorted(p.name for p in dataset_dir.glob("shard_*.npz"))
    assert shards == ["shard_00000.npz", "shard_00001.npz", "shard_00002.npz"]
    for name in shards:
        assert (again / name).read_bytes() == (dataset_dir / name).read_bytes()
    first = json.loads((dataset_dir / MANIFEST_NAME).read_text())
    second = json.loads((again / MANIFEST_NAME).read_text())
    assert _without_timing(first) == _without_timing(second)


def test_worker_processes_write_the_same_bytes(dataset_dir: Path, tiny_config, tmp_path: Path) -> None:
    parallel = tmp_path / "parallel"
    summary = generate_dataset(parallel, tiny_config, seed=SEED, sequences=SEQUENCES, workers=2, progress=False)
    assert summary.shards_written == 3 and summary.manifest["timing"]["workers"] == 2
    for name in ("shard_00000.npz", "shard_00001.npz", "shard_00002.npz"):
        assert (parallel / name).read_bytes() == (dataset_dir / name).read_bytes()


def test_other_seed_gives_other_data(dataset_dir: Path, tiny_config, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate_dataset(other, tiny_config, seed=SEED + 1, sequences=1, workers=1, progress=False)
    mine = load_shard(dataset_dir / "shard_00000.npz")
    theirs = load_shard(other / "shard_00000.npz")
    assert mine["sequence_seed"][0] != theirs["sequence_seed"][0]
    assert not np.array_equal(mine["phenotypes"][0], theirs["phenotypes"][0])


def test_shard_arrays_have_documented_shapes_and_dtypes(dataset_dir: Path) -> None:
    shard = load_shard(dataset_dir / "shard_00000.npz")
    offsets = shard["sequence_offsets"]
    frames = int(offsets[-1])
    assert offsets.dtype == np.int64 and offsets[0] == 0 and len(offsets) == 3
    assert np.all(np.diff(offsets) >= 4) and np.all(np.diff(offsets) <= 6)
    expected = {
        "crops": ((frames, 48, 48, 3), np.uint8),
        "keypoints": ((frames, 17, 3), np.float32),
        "keypoints_px": ((frames, 17, 3), np.float32),
        "keypoint_source": ((frames,), np.uint8),
        "boxes": ((frames, 3), np.float32),
        "crop_info": ((frames, 3), np.float32),
        "joints_2d": ((frames, 17, 2), np.float32),
        "visibility": ((frames, 17), np.bool_),
        "frame_valid": ((frames,), np.bool_),
        "joints_cam": ((frames, 17, 3), np.float32),
        "root_cam": ((frames, 3), np.float32),
        "coarse_vertices": ((frames, 369, 3), np.float16),
        "pose_quaternions": ((frames, 104, 4), np.float32),
        "global_rotation": ((frames, 3, 3), np.float32),
        "intrinsics": ((2, 3, 3), np.float32),
        "image_size": ((2, 2), np.int32),
        "phenotypes": ((2, 6), np.float32),
        "sequence_seed": ((2,), np.uint64),
        "fps": ((2,), np.float32),
        "age_years": ((2,), np.float32),
        "walking": ((2,), np.bool_),
    }
    assert set(shard) == set(expected) | {"sequence_offsets"}
    for name, (shape, dtype) in expected.items():
        assert shard[name].shape == shape, name
        assert shard[name].dtype == dtype, name
    assert set(np.unique(shard["keypoint_source"])) <= {KEYPOINTS_MEDIAPIPE, KEYPOINTS_NOISE, KEYPOINTS_NONE}
    np.testing.assert_allclose(np.linalg.norm(shard["pose_quaternions"], axis=-1), 1.0, atol=1e-5)
    rotations = shard["global_rotation"].astype(np.float64)
    np.testing.assert_allclose(rotations @ rotations.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rotations.shape), atol=1e-5)
    # Root-relative joints: the mid-hip is the origin.
    np.testing.assert_allclose(shard["joints_cam"][:, [11, 12]].mean(axis=1), 0.0, atol=1e-5)
    assert np.all(shard["root_cam"][:, 2] > 0.5)


def test_keypoints_and_crop_info_are_made_with_the_runtime_crop_rules(dataset_dir: Path) -> None:
    shard = load_shard(dataset_dir / "shard_00001.npz")
    has_crop = shard["keypoint_source"] != KEYPOINTS_NONE
    assert has_crop.any()
    spec = inputs.CropSpec(size=48, margin=1.25)
    for record in split_sequences(shard):
        arrays = record.arrays
        for frame in np.nonzero(arrays["keypoint_source"] != KEYPOINTS_NONE)[0]:
            box = inputs.box_from_keypoints(arrays["keypoints_px"][frame], spec)
            np.testing.assert_allclose(arrays["boxes"][frame], box, rtol=1e-5)
            np.testing.assert_allclose(
                arrays["keypoints"][frame], inputs.keypoints_to_crop(arrays["keypoints_px"][frame], box), atol=1e-4
            )
            np.testing.assert_allclose(arrays["crop_info"][frame], inputs.crop_info(box, record.intrinsics), atol=1e-5)
            assert arrays["crops"][frame].any()


def test_ground_truth_projects_to_the_stored_2d_joints(dataset_dir: Path) -> None:
    shard = load_shard(dataset_dir / "shard_00002.npz")
    (record,) = list(split_sequences(shard))
    points = record.arrays["joints_cam"].astype(np.float64) + record.arrays["root_cam"][:, None]
    projected = points @ record.intrinsics.astype(np.float64).T
    pixels = projected[..., :2] / projected[..., 2:]
    np.testing.assert_allclose(pixels, record.arrays["joints_2d"], atol=1e-2)


def test_manifest_describes_the_data_set(dataset_dir: Path, tiny_config) -> None:
    manifest = json.loads((dataset_dir / MANIFEST_NAME).read_text())
    assert manifest["format"] == "lihmr-synth" and manifest["format_version"] == 1
    assert manifest["seed"] == SEED and manifest["split"] == "train" and manifest["sequences"] == SEQUENCES
    assert manifest["config"] == tiny_config.to_dict()
    assert [entry["file"] for entry in manifest["shards"]] == [f"shard_0000{k}.npz" for k in range(3)]
    assert [entry["first_sequence"] for entry in manifest["shards"]] == [0, 2, 4]
    for entry in manifest["shards"]:
        path = dataset_dir / entry["file"]
        assert entry["sha256"] == file_sha256(path) and entry["bytes"] == path.stat().st_size
        shard = load_shard(path)
        assert entry["frames"] == len(shard["frame_valid"]) and entry["valid_frames"] == int(shard["frame_valid"].sum())
        assert entry["mediapipe_frames"] == int((shard["keypoint_source"] == KEYPOINTS_MEDIAPIPE).sum())
    counts = manifest["counts"]
    assert counts["sequences"] == SEQUENCES
    assert counts["frames"] == sum(entry["frames"] for entry in manifest["shards"])
    assert manifest["timing"]["samples_per_second"] > 0
    dataset = SynthDataset(dataset_dir, verify_hashes=True)
    assert dataset.num_sequences == SEQUENCES and dataset.num_frames == counts["frames"]
    assert sum(1 for _ in dataset.sequences()) == SEQUENCES


def test_resume_regenerates_only_the_missing_shard(dataset_dir: Path, tiny_config, tmp_path: Path) -> None:
    copy = tmp_path / "resume"
    shutil.copytree(dataset_dir, copy)
    (copy / "shard_00001.npz").unlink()
    kept = {name: (copy / name).stat().st_mtime_ns for name in ("shard_00000.npz", "shard_00002.npz")}
    summary = generate_dataset(copy, tiny_config, seed=SEED, sequences=SEQUENCES, workers=1, progress=False)
    assert summary.shards_written == 1 and summary.shards_skipped == 2
    for name, mtime in kept.items():
        assert (copy / name).stat().st_mtime_ns == mtime
    assert (copy / "shard_00001.npz").read_bytes() == (dataset_dir / "shard_00001.npz").read_bytes()


def test_data_set_written_before_a_setting_existed_resumes(dataset_dir: Path, tiny_config, tmp_path: Path) -> None:
    """Settings added later default to the old behaviour, so a manifest without them still matches; a setting
    that does differ, or one this code does not know, is still refused."""
    copy = tmp_path / "older"
    shutil.copytree(dataset_dir, copy)
    manifest = json.loads((copy / MANIFEST_NAME).read_text())
    for name in ("sequence_share", "temporal_share", "hidden_sigma", "outlier_persistence"):
        del manifest["config"]["keypoints"]["noise"][name]
    (copy / MANIFEST_NAME).write_text(json.dumps(manifest))
    (copy / "shard_00001.npz").unlink()
    summary = generate_dataset(copy, tiny_config, seed=SEED, sequences=SEQUENCES, workers=1, progress=False)
    assert summary.shards_written == 1 and summary.shards_skipped == 2
    assert (copy / "shard_00001.npz").read_bytes() == (dataset_dir / "shard_00001.npz").read_bytes()

    structured = config_from_dict({**TINY, "keypoints": {"source": "mediapipe", "noise": {"sequence_share": 0.3}}})
    with pytest.raises(ValueError, match="different config"):
        generate_dataset(copy, structured, seed=SEED, sequences=SEQUENCES, workers=1, progress=False)
    manifest = json.loads((copy / MANIFEST_NAME).read_text())
    manifest["config"]["keypoints"]["noise"]["from_the_future"] = 1.0
    (copy / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="different config"):
        generate_dataset(copy, tiny_config, seed=SEED, sequences=SEQUENCES, workers=1, progress=False)


def test_corrupted_shard_is_regenerated_and_other_settings_are_refused(
    dataset_dir: Path, tiny_config, tmp_path: Path
) -> None:
    copy = tmp_path / "corrupt"
    shutil.copytree(dataset_dir, copy)
    with (copy / "shard_00002.npz").open("r+b") as stream:
        stream.seek(100)
        stream.write(b"\x00garbage\x00")
    summary = generate_dataset(copy, tiny_config, seed=SEED, sequences=SEQUENCES, workers=1, progress=False)
    assert summary.shards_written == 1
    assert (copy / "shard_00002.npz").read_bytes() == (dataset_dir / "shard_00002.npz").read_bytes()
    with pytest.raises(ValueError, match="different seed"):
        generate_dataset(copy, tiny_config, seed=SEED + 5, sequences=SEQUENCES, workers=1, progress=False)


def test_full_meshes_are_reconstructed_from_the_stored_parameters(dataset_dir: Path) -> None:
    from scipy.spatial import cKDTree

    (record, _) = list(split_sequences(load_shard(dataset_dir / "shard_00000.npz")))
    arrays = record.arrays
    vertices, joints = VertexReconstructor()(
        arrays["pose_quaternions"], record.phenotypes, arrays["global_rotation"], arrays["root_cam"]
    )
    assert vertices.shape == (record.num_frames, 13718, 3) and vertices.dtype == np.float32
    np.testing.assert_allclose(joints, arrays["joints_cam"] + arrays["root_cam"][:, None], atol=2e-3)
    # Coarse vertices (float16, root-relative) lie on the reconstructed full surface.
    coarse = arrays["coarse_vertices"][0].astype(np.float64) + arrays["root_cam"][0]
    distance, _ = cKDTree(vertices[0]).query(coarse)
    assert np.median(distance) < 0.01 and distance.max() < 0.04


def test_structure_study_reads_blazepose_errors_and_fits_a_usable_noise_section(
    dataset_dir: Path, tmp_path: Path, capsys
) -> None:
    """``lihmr synth --measure-noise --from-data``: errors of BlazePose's frames only, and a section that loads."""
    import argparse

    from lihmr_ros.commands import synth
    from lihmr_ros.synth.keypoint_noise import person_scale
    from lihmr_ros.synth.noise_structure import read_errors

    dataset = SynthDataset(dataset_dir)
    sequences = read_errors(dataset_dir)
    assert len(sequences) == dataset.num_sequences
    measured = 0
    for record, errors in zip(dataset.sequences(), sequences):
        arrays = record.arrays
        found = arrays["keypoint_source"] == KEYPOINTS_MEDIAPIPE
        assert np.isnan(errors.error[~found]).all() and np.isnan(errors.confidence[~found]).all()
        assert not (errors.visible & errors.hidden).any()
        for frame in np.flatnonzero(found):
            truth = arrays["joints_2d"][frame].astype(np.float64)
            expected = (arrays["keypoints_px"][frame, :, :2] - truth) / person_scale(truth)
            inside = np.isfinite(errors.error[frame, :, 0])
            np.testing.assert_allclose(errors.error[frame][inside], expected[inside], rtol=1e-6)
            np.testing.assert_array_equal(errors.confidence[frame], arrays["keypoints_px"][frame, :, 2])
            measured += int(inside.sum())
    assert measured > 0

    parser = argparse.ArgumentParser(prog="lihmr")
    synth.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["synth", "--measure-noise", "--from-data", str(dataset_dir), "--out", str(tmp_path)])
    assert args.handler(args) == 0
    assert "frames with BlazePose keypoints" in capsys.readouterr().out
    report = json.loads((tmp_path / "keypoint_noise_structure.json").read_text())
    assert (tmp_path / "keypoint_noise_structure.md").is_file()
    # The fitted section is a complete, valid keypoints.noise section.
    section = config_from_dict({"keypoints": {"noise": report["fitted_noise"]}}).keypoints.noise
    assert section.sigma == tuple(report["fitted_noise"]["sigma"])
