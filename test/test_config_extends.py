"""Settings files that build on others (``extends:``): merge rules, errors, and the shipped recipe chains."""

from __future__ import annotations

from pathlib import Path

import pytest

from lihmr_ros.synth.config import load_config
from lihmr_ros.training.config import TrainConfig
from lihmr_ros.yaml_files import deep_merge, read_settings

CONFIG = Path(__file__).resolve().parents[1] / "config"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_mappings_merge_key_by_key_and_other_values_replace() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 2}
    merged = deep_merge(base, {"a": {"y": [3]}, "c": 4})
    assert merged == {"a": {"x": 1, "y": [3]}, "b": 2, "c": 4}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 2}, "the base must not be modified"


def test_a_chain_of_bases_resolves_relative_to_each_file(tmp_path: Path) -> None:
    _write(tmp_path / "root.yaml", "seed: 1\noptimizer:\n  learning_rate: 0.1\n  warmup_steps: 5\n")
    _write(tmp_path / "mid" / "middle.yaml", "extends: ../root.yaml\nseed: 2\n")
    leaf = _write(tmp_path / "mid" / "leaf.yaml", "extends: middle.yaml\noptimizer:\n  learning_rate: 0.2\n")
    assert read_settings(leaf, "test") == {"seed": 2, "optimizer": {"learning_rate": 0.2, "warmup_steps": 5}}


def test_a_cycle_is_an_error_naming_the_files(tmp_path: Path) -> None:
    first = _write(tmp_path / "first.yaml", "extends: second.yaml\n")
    _write(tmp_path / "second.yaml", "extends: first.yaml\n")
    with pytest.raises(ValueError, match="cycle.*first.yaml.*second.yaml.*first.yaml"):
        read_settings(first, "test")


def test_a_missing_base_names_the_file_that_extends_it(tmp_path: Path) -> None:
    leaf = _write(tmp_path / "leaf.yaml", "extends: gone.yaml\n")
    with pytest.raises(FileNotFoundError, match=r"gone.yaml does not exist \(extended by .*leaf.yaml\)"):
        read_settings(leaf, "training config")


@pytest.mark.parametrize("value", ["[a.yaml]", "''", "3"])
def test_extends_must_name_a_file(tmp_path: Path, value: str) -> None:
    leaf = _write(tmp_path / "leaf.yaml", f"extends: {value}\n")
    with pytest.raises(ValueError, match="'extends' must name a YAML file"):
        read_settings(leaf, "test")


def test_a_training_recipe_overrides_only_what_it_names(tmp_path: Path) -> None:
    _write(tmp_path / "base.yaml", "steps: 100\nseed: 1\nlosses:\n  edges: 5.0\n  normals: 0.3\n")
    child = _write(tmp_path / "child.yaml", "extends: base.yaml\nseed: 2\nlosses:\n  normals: 0.1\n")
    config = TrainConfig.from_yaml(child)
    assert (config.steps, config.seed) == (100, 2)
    assert (config.losses.edges, config.losses.normals) == (5.0, 0.1)


def test_an_unknown_key_in_a_base_is_still_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "base.yaml", "stepz: 100\n")
    child = _write(tmp_path / "child.yaml", "extends: base.yaml\n")
    with pytest.raises(ValueError, match="stepz"):
        TrainConfig.from_yaml(child)


def test_shipped_training_phases_each_continue_an_earlier_one() -> None:
    """Every phase recipe resolves, starts from weights an earlier phase wrote (or the shipped file, which is
    one of them) and writes its own run; phases 3-11 each continue the one just before."""
    phases = sorted(CONFIG.glob("train_phase*.yaml"), key=lambda path: int(path.stem.removeprefix("train_phase")))
    assert len(phases) >= 7
    earlier_outs = [TrainConfig.from_yaml(CONFIG / "train_continue.yaml").out]
    for path in phases:
        config = TrainConfig.from_yaml(path)
        started_from = {f"{out}/{name}.safetensors" for out in earlier_outs for name in ("best", "last")}
        started_from.add("lihmr_ros/weights/lihmr_default.safetensors")
        assert config.init_weights in started_from, path.name
        if int(path.stem.removeprefix("train_phase")) <= 11:
            assert config.init_weights == f"{earlier_outs[-1]}/best.safetensors", path.name
        assert config.out not in earlier_outs, path.name
        earlier_outs.append(config.out)


def test_synth_settings_extend_like_training_recipes(tmp_path: Path) -> None:
    _write(tmp_path / "base.yaml", "body:\n  age_range_years: [20.0, 30.0]\ncamera:\n  distance_m: [2.0, 3.0]\n")
    child = _write(tmp_path / "child.yaml", "extends: base.yaml\nbody:\n  age_range_years: [5.0, 9.0]\n")
    config = load_config(child, "train")
    assert config.body.age_range_years == (5.0, 9.0)
    assert config.camera.distance_m == (2.0, 3.0)
