"""`lihmr eval` on a tiny synthetic evaluation directory, and its data checks (lihmr_ros.evaluation)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lihmr_ros.body import load_template
from lihmr_ros.cli import main
from lihmr_ros.commands.eval import JSON_KEYS
from lihmr_ros.evaluation.paired import read_report
from lihmr_ros.evaluation.runner import box_iou, match_person, projected_box
from lihmr_ros.evaluation.sequences import find_sequences, load_sequence
from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.synth.config import config_from_dict
from lihmr_ros.synth.eval_export import export_eval_dataset

TINY_EVAL = {
    "motion": {"frames": [10, 10], "walk_probability": 0.0, "activity": [0.3, 0.4]},
    "body": {"age_range_years": [25.0, 50.0]},
    "camera": {
        "image_sizes": [[320, 240]], "distance_m": [2.5, 3.0], "lateral_spread": 0.1, "horizontal_fov_deg": [55.0, 60.0]
    },
    "scene": {"texture_size": 128, "occluder_probability": 0.0, "blur_probability": 0.0},
}
TINY_NETWORK = {
    "window": 4,
    "crop": {"size": 32},
    "encoder": {"feature_dim": 32, "channels": [8, 16]},
    "lifter": {"width": 32, "depth": 1},
    "refiner": {"width": 32, "latent_tokens": 8, "latent_width": 16, "low_blocks": 1, "residual_rank": 4},
}


@pytest.fixture(scope="module")
def eval_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("eval") / "data"
    export_eval_dataset(directory, config_from_dict(TINY_EVAL), seed=2, sequences=1, progress=False)
    return directory


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    network = LIHMRNet(NetworkConfig.from_dict(TINY_NETWORK), load_template())
    return save_checkpoint(tmp_path_factory.mktemp("weights") / "tiny.safetensors", network)


def test_json_output_holds_the_contract_keys_then_the_breakdown(eval_dir: Path, weights: Path, capsys) -> None:
    status = main(["eval", "--data", str(eval_dir), "--weights", str(weights), "--backend", "torch", "--json"])
    output = capsys.readouterr().out.strip().splitlines()
    assert status == 0 and len(output) == 1
    metrics = json.loads(output[0])
    assert tuple(metrics) == JSON_KEYS
    contract = ("mpjpe", "pa_mpjpe", "mpve", "pa_mpve", "accel", "detected_fraction", "frames")
    assert JSON_KEYS[: len(contract)] == contract
    assert 0.0 <= metrics["orientation_deg"] <= metrics["orientation_deg_p90"] <= 180.0
    assert math.isfinite(metrics["size_error"]) and metrics["size_error"] >= 0.0
    sequence = load_sequence(find_sequences(eval_dir)[0])
    assert metrics["frames"] == int(np.isfinite(sequence.joints3d).all(axis=(1, 2)).sum()) > 0
    assert 0.0 < metrics["detected_fraction"] <= 1.0
    for key in ("mpjpe", "pa_mpjpe", "mpve", "pa_mpve"):
        assert math.isfinite(metrics[key]) and metrics[key] > 0.0
    assert metrics["pa_mpjpe"] <= metrics["mpjpe"]


def test_report_file_holds_the_printed_metrics_and_each_sequence(
    eval_dir: Path, weights: Path, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "reports" / "tiny.json"
    arguments = ["eval", "--data", str(eval_dir), "--weights", str(weights), "--backend", "torch", "--json"]
    assert main([*arguments, "--report", str(path)]) == 0
    printed = json.loads(capsys.readouterr().out)
    report = read_report(path)
    assert report.data == str(eval_dir.resolve())
    assert set(report.per_sequence) == {sequence.name for sequence in find_sequences(eval_dir)}
    for key in ("mpjpe", "pa_mpjpe", "mpve", "pa_mpve", "frames"):
        assert report.overall[key] == pytest.approx(printed[key])
        assert report.per_sequence[find_sequences(eval_dir)[0].name][key] == pytest.approx(printed[key])


def test_the_floor_of_camera_json_scales_people_unless_turned_off(
    eval_dir: Path, weights: Path, tmp_path: Path, capsys
) -> None:
    sequence = load_sequence(find_sequences(eval_dir)[0])
    assert sequence.ground is not None and 1.0 < sequence.ground.camera_height < 2.5
    arguments = ["eval", "--data", str(eval_dir), "--weights", str(weights), "--backend", "torch", "--json"]
    reports = {}
    for name, extra in (("floor", []), ("network", ["--no-ground"])):
        assert main([*arguments, *extra, "--report", str(tmp_path / f"{name}.json")]) == 0
        capsys.readouterr()
        reports[name] = json.loads((tmp_path / f"{name}.json").read_text())
    assert reports["floor"]["sequences_on_floor"] == 1 and reports["network"]["sequences_on_floor"] == 0
    floor, network = reports["floor"]["overall"], reports["network"]["overall"]
    # Scaling about the camera changes size and distance, never the aligned shape or the detections.
    assert floor["pa_mpjpe"] == pytest.approx(network["pa_mpjpe"], rel=1e-4)
    assert floor["detected_fraction"] == network["detected_fraction"]
    assert floor["size_ratio_median"] != pytest.approx(network["size_ratio_median"], rel=1e-3)


def test_a_malformed_floor_names_the_camera_file(eval_dir: Path, tmp_path: Path) -> None:
    sequence_dir = find_sequences(eval_dir)[0]
    copy = tmp_path / "seq"
    (copy / "frames").mkdir(parents=True)
    for frame in (sequence_dir / "frames").iterdir():
        (copy / "frames" / frame.name).write_bytes(frame.read_bytes())
    (copy / "gt.npz").write_bytes((sequence_dir / "gt.npz").read_bytes())
    camera = json.loads((sequence_dir / "camera.json").read_text())
    camera["ground"] = {"normal": [0.0, -2.0, 0.0], "camera_height": 1.0}
    (copy / "camera.json").write_text(json.dumps(camera))
    with pytest.raises(ValueError, match="camera.json: the floor normal must be a unit vector"):
        load_sequence(copy)


def test_missing_camera_file_is_reported_with_the_layout(tmp_path: Path, capsys) -> None:
    (tmp_path / "seq" / "frames").mkdir(parents=True)
    assert main(["eval", "--data", str(tmp_path), "--json"]) == 2
    assert "camera.json" in capsys.readouterr().err


def test_ground_truth_of_the_wrong_length_is_refused(eval_dir: Path, tmp_path: Path) -> None:
    sequence_dir = find_sequences(eval_dir)[0]
    copy = tmp_path / "seq"
    (copy / "frames").mkdir(parents=True)
    for frame in sorted((sequence_dir / "frames").iterdir())[:3]:
        (copy / "frames" / frame.name).write_bytes(frame.read_bytes())
    (copy / "camera.json").write_text((sequence_dir / "camera.json").read_text())
    (copy / "gt.npz").write_bytes((sequence_dir / "gt.npz").read_bytes())
    with pytest.raises(ValueError, match="for 3 frames"):
        load_sequence(copy)


def test_person_matching_takes_the_best_overlap_above_the_threshold() -> None:
    class Person:
        def __init__(self, box: list[float]) -> None:
            self.box = np.array(box, dtype=np.float32)

    truth = np.array([100.0, 100.0, 200.0, 300.0])
    far, close = Person([400, 100, 500, 300]), Person([110, 100, 210, 300])
    assert match_person([far, close], truth) is close
    assert match_person([far], truth) is None
    assert match_person([close], None) is None
    assert box_iou(truth, truth) == pytest.approx(1.0)
    assert box_iou(truth, np.array([150.0, 100.0, 250.0, 300.0])) == pytest.approx(1 / 3)


def test_projected_box_of_points_in_front_of_the_camera() -> None:
    k = np.array([[100.0, 0.0, 50.0], [0.0, 100.0, 40.0], [0.0, 0.0, 1.0]])
    joints = np.array([[0.0, 0.0, 2.0], [0.2, -0.4, 2.0], [5.0, 5.0, -1.0]])  # the last one is behind
    np.testing.assert_allclose(projected_box(joints, k), [50.0, 20.0, 60.0, 40.0])
    assert projected_box(np.array([[0.0, 0.0, -1.0]]), k) is None
