"""``lihmr bench model``: report structure on a small network (lihmr_ros.model.cost, commands/bench.py).

Numbers are only checked for consistency, never against times: the benchmark
prints latencies, it does not assert them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import yaml

from lihmr_ros.commands import bench
from lihmr_ros.model.cost import format_table
from tiny_network import TINY_NETWORK


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lihmr")
    bench.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


@pytest.fixture(scope="module")
def small_config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "small.yaml"
    path.write_text(yaml.safe_dump(TINY_NETWORK.to_dict()))
    return path


@pytest.fixture(scope="module")
def report(small_config_file: Path) -> dict:
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        # One thread: on a shared 2-core machine a 2-thread pool can stall for tens of ms per op.
        argv = ["bench", "model", "--json", "--config", str(small_config_file)]
        argv += ["--repeats", "2", "--warmup", "0.02", "--threads", "1"]
        assert _run(argv) == 0
    return json.loads(printed.getvalue())


def test_bench_model_json_report(report: dict) -> None:
    low, full = report["variants"]["low_dim"], report["variants"]["full"]
    for variant in (low, full):
        for key in ("params", "gflops", "torch_ms", "ort_ms", "network_params", "network_gflops",
                    "network_window_gflops", "stream_frame_ms_torch", "stream_frame_ms_ort"):
            assert variant[key] > 0, key
        assert variant["network_params"] > variant["params"]
        assert variant["network_window_gflops"] > variant["network_gflops"] > variant["gflops"]
    assert report["gflops_ratio_full_over_low"] == pytest.approx(full["gflops"] / low["gflops"])
    assert report["stream_frame_ms_ort"] == low["stream_frame_ms_ort"]  # the configured variant is low-dim
    assert report["window"] == 4 and report["crop_size"] == 32


def test_bench_model_table(report: dict) -> None:
    table = format_table(report)
    assert "refiner GFLOPs" in table and "stream frame ORT ms" in table and "full/low" in table
    assert f"{report['variants']['full']['network_params']:,}" in table


def test_bench_requires_a_target() -> None:
    with pytest.raises(SystemExit):
        _run(["bench"])
