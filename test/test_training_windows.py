"""Window tables, learning-rate schedule, training config and optimiser state (lihmr_ros.training)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lihmr_ros.training.config import TrainConfig
from lihmr_ros.training.csv_log import CsvLog
from lihmr_ros.training.schedule import learning_rate
from lihmr_ros.training.state import load_training_state, save_training_state
from lihmr_ros.training.windows import window_table


def test_causal_windows_end_at_the_target_and_repeat_the_first_frame() -> None:
    has_crop = np.ones(6, dtype=bool)
    is_target = np.array([True, False, True, False, False, True])
    table = window_table(has_crop, is_target, window=3, target_index=2)
    assert table.tolist() == [[0, 0, 0], [0, 1, 2], [3, 4, 5]]


def test_windows_skip_frames_without_a_crop_like_a_runtime_track() -> None:
    has_crop = np.array([True, False, True, True, False, True])
    is_target = np.array([True, True, True, True, True, True])  # frame 1 and 4 have no crop: not targets
    table = window_table(has_crop, is_target, window=3, target_index=2)
    assert table.tolist() == [[0, 0, 0], [0, 0, 2], [0, 2, 3], [2, 3, 5]]


def test_centred_windows_repeat_the_last_frame_at_the_end() -> None:
    table = window_table(np.ones(4, dtype=bool), np.ones(4, dtype=bool), window=3, target_index=1)
    assert table.tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 3]]


def test_a_sequence_without_targets_gives_no_window() -> None:
    assert window_table(np.zeros(5, dtype=bool), np.ones(5, dtype=bool), 4, 3).shape == (0, 4)


def test_schedule_warms_up_linearly_then_decays_to_the_floor() -> None:
    rates = [learning_rate(step, 100, 1.0, 10, 0.1) for step in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert rates[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(rates[10:], rates[11:]))
    assert learning_rate(100, 100, 1.0, 10, 0.1) == pytest.approx(0.1)
    assert learning_rate(55, 100, 1.0, 10, 0.1) == pytest.approx(0.55)  # half-way: mean of peak and floor


def test_config_rejects_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ValueError, match="unknown setting.*train.losses: vertex"):
        TrainConfig.from_dict({"losses": {"vertex": 1.0}})
    with pytest.raises(ValueError, match="full_mesh_targets"):
        TrainConfig.from_dict({"data": {"full_mesh_targets": "smpl"}})
    with pytest.raises(ValueError, match="loss weights"):
        TrainConfig.from_dict({"losses": {"edges": -1.0}})
    with pytest.raises(ValueError, match="surface_windows must be >= 0"):
        TrainConfig.from_dict({"surface_windows": -4})
    with pytest.raises(ValueError, match="stream_acceleration follows runs"):
        TrainConfig.from_dict({"windows_per_run": 1})
    with pytest.raises(ValueError, match="stream_acceleration follows runs"):
        TrainConfig.from_dict({"batch_size": 8, "windows_per_run": 16})
    assert TrainConfig.from_dict({"windows_per_run": 1, "losses": {"stream_acceleration": 0.0}}).windows_per_run == 1


SHIPPED_TRAIN_CONFIGS = sorted((Path(__file__).resolve().parent.parent / "config").glob("train*.yaml"))


@pytest.mark.parametrize("path", SHIPPED_TRAIN_CONFIGS, ids=lambda path: path.name)
def test_shipped_train_configs_load(path: Path) -> None:
    config = TrainConfig.from_yaml(path)
    assert config.network_config().window == 16 and config.batch_size >= 1


def test_init_modules_need_init_weights_and_are_names() -> None:
    with pytest.raises(ValueError, match="init_modules needs init_weights"):
        TrainConfig.from_dict({"init_modules": ["encoder"]})
    with pytest.raises(ValueError, match="list of names"):
        TrainConfig.from_dict({"init_weights": "w.safetensors", "init_modules": [1]})


def test_optimiser_state_round_trips_with_tensors_only(tmp_path: Path) -> None:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.ones(4, 3)).sum().backward()
    optimizer.step()
    save_training_state(tmp_path / "state.pt", optimizer, step=7, best_metric=42.5)
    fresh = torch.optim.AdamW(model.parameters(), lr=0.1)
    assert load_training_state(tmp_path / "state.pt", fresh) == (7, 42.5)
    for before, after in zip(optimizer.state.values(), fresh.state.values()):
        torch.testing.assert_close(before["exp_avg_sq"], after["exp_avg_sq"])


def test_csv_log_keeps_its_header_and_refuses_a_foreign_one(tmp_path: Path) -> None:
    log = CsvLog(tmp_path / "log.csv")
    log.write({"step": 1, "loss": 0.5})
    CsvLog(tmp_path / "log.csv").write({"step": 2, "loss": float("nan")})
    lines = (tmp_path / "log.csv").read_text().splitlines()
    assert lines[0].startswith("step,learning_rate") and lines[1].startswith("1,") and len(lines) == 3
    (tmp_path / "other.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="other columns"):
        CsvLog(tmp_path / "other.csv")
