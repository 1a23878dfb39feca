"""``lihmr synth`` command line, including the evaluation-format export (lihmr_ros.commands.synth)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from lihmr_ros.commands import synth
from lihmr_ros.geometry.ground import GroundPlane

TINY_YAML = {
    "motion": {"frames": [4, 5]},
    "camera": {"image_sizes": [[160, 120]], "distance_m": [2.0, 3.0]},
    "scene": {"texture_size": 128},
    "keypoints": {"source": "noise"},
    "output": {"sequences_per_shard": 1, "crop_size": 32},
}


def _run(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lihmr")
    synth.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["synth", *arguments])
    return args.handler(args)


@pytest.fixture()
def tiny_config_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_YAML), encoding="utf-8")
    return path


def test_bad_arguments_exit_with_status_2(tmp_path: Path, capsys) -> None:
    assert _run(["--out", str(tmp_path), "--sequences", "0"]) == 2
    assert "--sequences" in capsys.readouterr().err
    assert _run(["--out", str(tmp_path)]) == 2
    assert "--sequences" in capsys.readouterr().err
    assert _run(["--out", str(tmp_path), "--from-data", str(tmp_path)]) == 2
    assert "only goes with --measure-noise" in capsys.readouterr().err
    assert _run(["--out", str(tmp_path), "--measure-noise", "--from-data", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err
    assert _run(["--out", str(tmp_path), "--sequences", "1", "--config", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("camera: {horizontal_fov: [40, 100]}\n", encoding="utf-8")
    assert _run(["--out", str(tmp_path), "--sequences", "1", "--config", str(bad)]) == 2
    assert "unknown setting" in capsys.readouterr().err


def test_shards_and_samples_per_second_are_reported(tmp_path: Path, tiny_config_file: Path, capsys) -> None:
    out = tmp_path / "train"
    assert _run(["--out", str(out), "--sequences", "2", "--config", str(tiny_config_file), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "samples/s" in printed and "2 sequences" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["split"] == "train" and len(manifest["shards"]) == 2


def test_eval_format_export_has_the_documented_layout(tmp_path: Path, tiny_config_file: Path) -> None:
    out = tmp_path / "eval"
    arguments = ["--out", str(out), "--sequences", "2", "--split", "test", "--config", str(tiny_config_file)]
    assert _run([*arguments, "--eval-format", "--no-progress"]) == 0
    sequences = sorted(p for p in out.iterdir() if p.is_dir())
    assert [p.name for p in sequences] == ["seq_00000", "seq_00001"]
    for sequence in sequences:
        camera = json.loads((sequence / "camera.json").read_text())
        intrinsics = np.array(camera["K"])
        assert intrinsics.shape == (3, 3) and intrinsics[2].tolist() == [0.0, 0.0, 1.0] and camera["fps"] == 30.0
        floor = GroundPlane.from_json(camera["ground"])  # the person stands on it: the lowest vertex touches it
        frames = sorted((sequence / "frames").glob("*.png"))
        assert [f.name for f in frames] == [f"{k:06d}.png" for k in range(len(frames))]
        assert 4 <= len(frames) <= 5
        image = cv2.imread(str(frames[0]))
        assert image.shape == (120, 160, 3)
        with np.load(sequence / "gt.npz", allow_pickle=False) as gt:
            vertices, joints = gt["vertices"], gt["joints3d"]
        assert vertices.shape == (len(frames), 13718, 3) and vertices.dtype == np.float32
        assert joints.shape == (len(frames), 17, 3) and joints.dtype == np.float32
        visible = np.isfinite(joints).all(axis=(1, 2))
        assert np.array_equal(visible, np.isfinite(vertices).all(axis=(1, 2)))
        assert visible.any()
        lowest = floor.heights(vertices[visible]).min(axis=1)
        np.testing.assert_allclose(lowest, 0.0, atol=1e-5)
        # Camera frame, metres: the person stands in front of the camera, a human size.
        assert np.all(joints[visible, :, 2] > 0.5)
        height = np.ptp(vertices[visible][0][:, 1])
        assert 0.8 < height < 2.2
        # Joints project into the image where the person is visible.
        pixels = joints[visible] @ intrinsics.T
        pixels = pixels[..., :2] / pixels[..., 2:]
        assert np.mean((pixels[..., 0] > -0.5) & (pixels[..., 0] < 159.5)) > 0.25
