"""``lihmr bench model --backend`` and ``lihmr export --format tensorrt`` (commands/bench.py, commands/export.py).

Latencies are printed, never asserted: only the report's structure and
internal consistency are checked.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
from pathlib import Path

import pytest
import yaml

from lihmr_ros.commands import bench, export
from tiny_network import TINY_NETWORK


def _run(module, argv: list[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="lihmr")
    module.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = args.handler(args)
    return status, printed.getvalue()


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_NETWORK.to_dict()))
    return path


def test_bench_model_per_backend_json(tiny_config: Path, tmp_path: Path) -> None:
    argv = ["bench", "model", "--backend", "torch", "--backend", "onnxruntime", "--batch", "2", "--json"]
    argv += ["--config", str(tiny_config), "--cache-dir", str(tmp_path), "--repeats", "3", "--warmup", "0.02"]
    argv += ["--threads", "1"]
    status, printed = _run(bench, argv)
    assert status == 0
    report = json.loads(printed)
    assert report["batch"] == 2 and set(report["backends"]) == {"torch", "onnxruntime"}
    for name, result in report["backends"].items():
        assert result["backend"] == name and result["batch"] == 2
        for key in ("encode_ms", "infer_ms", "frame_ms", "frames_per_s", "persons_per_s"):
            assert result[key] > 0, (name, key)
        assert result["persons_per_s"] == pytest.approx(2 * result["frames_per_s"])
        assert result["frames_per_s"] == pytest.approx(1e3 / result["frame_ms"])
    speedups = report["frame_speedup_over_torch"]
    assert speedups["torch"] == 1.0
    assert speedups["onnxruntime"] == pytest.approx(
        report["backends"]["torch"]["frame_ms"] / report["backends"]["onnxruntime"]["frame_ms"]
    )


def test_bench_model_table_and_flag_checks(tiny_config: Path, tmp_path: Path) -> None:
    argv = ["bench", "model", "--backend", "onnxruntime", "--config", str(tiny_config)]
    argv += ["--cache-dir", str(tmp_path), "--repeats", "2", "--warmup", "0", "--threads", "1"]
    status, printed = _run(bench, argv)
    assert status == 0 and "onnxruntime" in printed and "frame ms" in printed
    with pytest.raises(SystemExit, match="apply to --backend runs only"):
        _run(bench, ["bench", "model", "--batch", "2"])
    with pytest.raises(SystemExit, match="--batch must be >= 1"):
        _run(bench, argv + ["--batch", "0"])


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="tensorrt is installed here")
def test_export_tensorrt_without_tensorrt_fails_before_exporting(tmp_path: Path) -> None:
    out = tmp_path / "engines"
    with pytest.raises(SystemExit, match="lihmr export --format tensorrt: the tensorrt Python package"):
        _run(export, ["export", "--format", "tensorrt", "--out", str(out)])
    assert not out.exists()
