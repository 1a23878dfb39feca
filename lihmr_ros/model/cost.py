"""Measured cost of the network: parameters, FLOPs and CPU latency (torch and onnxruntime).

The paper's claim is that the low-dimensional interaction costs far less than
full-size joint/vertex attention; ``compare_interactions`` measures both
variants in one run on the same template, inputs and threads so the ratio is
meaningful.  FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``
(matrix products and convolutions; element-wise ops are not counted).
Latencies are medians of repeated single-person runs, so one scheduler hiccup
does not move the result.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.export import example_inputs, export_onnx
from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.model.ort_session import DEFAULT_THREADS, open_session

VARIANT_NAMES = {"low": "low_dim", "full": "full"}


@dataclass(frozen=True)
class VariantCost:
    """Cost of one network variant.  Unprefixed fields are the stage-2 refiner alone."""

    params: int
    gflops: float
    torch_ms: float
    ort_ms: float
    network_params: int
    """Whole network (encoder + stage 1 + stage 2)."""
    network_gflops: float
    """One streaming frame: encoder on the newest crop, stages 1 + 2 over the window."""
    network_window_gflops: float
    """One window from scratch: encoder on all T crops, stages 1 + 2 (offline, no feature cache)."""
    stream_frame_ms_torch: float
    stream_frame_ms_ort: float


def count_parameters(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def count_gflops(function: Callable[[], object]) -> float:
    """GFLOPs of one call of ``function`` (multiply and add counted separately)."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        function()
    return counter.get_total_flops() / 1e9


def median_ms(function: Callable[[], object], repeats: int, warmup_s: float = 0.3) -> float:
    """Median wall time of ``function`` in milliseconds after ``warmup_s`` seconds of untimed calls.

    Warm-up is by time, not by count: the first calls pay for thread-pool
    start-up, allocator growth and, after another library ran, that library's
    worker threads still spinning on the same cores.
    """
    deadline = time.perf_counter() + warmup_s
    function()
    while time.perf_counter() < deadline:
        function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


@dataclass(frozen=True)
class ExampleCalls:
    """One person's example inputs and the three calls whose cost is measured."""

    refiner_args: tuple[torch.Tensor, ...]
    window_args: tuple[torch.Tensor, ...]
    newest_crop: torch.Tensor
    refine: Callable[[], object]
    """Stage 2 alone."""
    stream_frame: Callable[[], object]
    """Streaming: only the newest crop is encoded; the window reuses cached features."""
    whole_window: Callable[[], object]
    """Every frame of the window encoded (what streaming avoids)."""


def example_calls(network: LIHMRNet) -> ExampleCalls:
    inputs = example_inputs(network, batch=1)
    refiner_args = (inputs["target_tokens"], inputs["target_joints3d"], inputs["target_hybrid"])
    window_args = (inputs["features"], inputs["keypoints"], inputs["crop_info"])
    newest_crop = inputs["crops"]
    window = network.config.window

    def stream_frame() -> object:
        network.encode_crops(newest_crop)
        return network.forward_features(*window_args)

    return ExampleCalls(
        refiner_args=refiner_args,
        window_args=window_args,
        newest_crop=newest_crop,
        refine=lambda: network.refiner(*refiner_args),
        stream_frame=stream_frame,
        whole_window=lambda: network(newest_crop.unsqueeze(1).expand(-1, window, -1, -1, -1), *window_args[1:]),
    )


def measure_variant(
    network: LIHMRNet, repeats: int, threads: int = DEFAULT_THREADS, warmup_s: float = 0.3
) -> VariantCost:
    """Cost of one (untrained or trained: the cost is the same) network for one person."""
    network = network.eval()
    calls = example_calls(network)
    refiner_args, window_args, newest_crop = calls.refiner_args, calls.window_args, calls.newest_crop
    refine, stream_frame = calls.refine, calls.stream_frame

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            torch_refine_ms = median_ms(refine, repeats, warmup_s)
            torch_stream_ms = median_ms(stream_frame, repeats, warmup_s)
    finally:
        torch.set_num_threads(previous_threads)

    with tempfile.TemporaryDirectory(prefix="lihmr-bench-") as folder:
        manifest = export_onnx(network, Path(folder))
        sessions = {
            name: open_session(Path(folder) / graph["file"], threads) for name, graph in manifest["graphs"].items()
        }
        refiner_names = manifest["graphs"]["stage2"]["inputs"]
        window_names = manifest["graphs"]["temporal"]["inputs"]
        refiner_feeds = {name: tensor.numpy() for name, tensor in zip(refiner_names, refiner_args)}
        window_feeds = {name: tensor.numpy() for name, tensor in zip(window_names, window_args)}
        crop_feed = {"crops": newest_crop.numpy()}
        feature_cache = window_args[0].numpy().copy()  # the cached features of the window

        def ort_stream_frame() -> object:
            newest = sessions["encoder"].run(None, crop_feed)[0]
            feature_cache[:, :-1] = feature_cache[:, 1:]
            feature_cache[:, -1] = newest
            return sessions["temporal"].run(None, {**window_feeds, "features": feature_cache})

        ort_refine_ms = median_ms(lambda: sessions["stage2"].run(None, refiner_feeds), repeats, warmup_s)
        ort_stream_ms = median_ms(ort_stream_frame, repeats, warmup_s)

    return VariantCost(
        params=count_parameters(network.refiner),
        gflops=count_gflops(refine),
        torch_ms=torch_refine_ms,
        ort_ms=ort_refine_ms,
        network_params=count_parameters(network),
        network_gflops=count_gflops(stream_frame),
        network_window_gflops=count_gflops(calls.whole_window),
        stream_frame_ms_torch=torch_stream_ms,
        stream_frame_ms_ort=ort_stream_ms,
    )


def compare_interactions(
    config: NetworkConfig,
    template: MeshTemplate,
    repeats: int = 30,
    threads: int = DEFAULT_THREADS,
    warmup_s: float = 0.3,
    seed: int = 0,
) -> dict:
    """Measure the low-dimensional and the full-dimension refiner in the same run.

    Returns a JSON-ready dict: ``variants.low_dim`` / ``variants.full`` (see
    :class:`VariantCost`), the full/low ratios, and ``stream_frame_ms_ort`` of
    the configured (default: low-dimensional) network.
    """
    variants = {}
    for interaction, name in VARIANT_NAMES.items():
        torch.manual_seed(seed)
        network = LIHMRNet(config.with_interaction(interaction), template)
        variants[name] = asdict(measure_variant(network, repeats, threads, warmup_s))
    low, full = variants["low_dim"], variants["full"]
    configured = variants[VARIANT_NAMES[config.refiner.interaction]]
    return {
        "threads": threads,
        "repeats": repeats,
        "window": config.window,
        "crop_size": config.crop.size,
        "coarse_vertices": template.num_coarse_vertices,
        "full_vertices": template.num_full_vertices,
        "template_fingerprint": template.fingerprint(),
        "variants": variants,
        "gflops_ratio_full_over_low": full["gflops"] / low["gflops"],
        "params_ratio_full_over_low": full["params"] / low["params"],
        "torch_ms_ratio_full_over_low": full["torch_ms"] / low["torch_ms"],
        "ort_ms_ratio_full_over_low": full["ort_ms"] / low["ort_ms"],
        "network_gflops_ratio_full_over_low": full["network_gflops"] / low["network_gflops"],
        "stream_frame_ms_ort": configured["stream_frame_ms_ort"],
        "stream_frame_ms_torch": configured["stream_frame_ms_torch"],
    }


def format_table(report: dict) -> str:
    """Human-readable table of :func:`compare_interactions`' result."""
    rows = [
        ("refiner params", "params", "{:,}"),
        ("refiner GFLOPs", "gflops", "{:.4f}"),
        ("refiner torch ms", "torch_ms", "{:.2f}"),
        ("refiner ORT ms", "ort_ms", "{:.2f}"),
        ("network params", "network_params", "{:,}"),
        ("network GFLOPs / frame", "network_gflops", "{:.4f}"),
        ("network GFLOPs / window", "network_window_gflops", "{:.4f}"),
        ("stream frame torch ms", "stream_frame_ms_torch", "{:.2f}"),
        ("stream frame ORT ms", "stream_frame_ms_ort", "{:.2f}"),
    ]
    low, full = report["variants"]["low_dim"], report["variants"]["full"]
    lines = [
        f"window T={report['window']}, crop {report['crop_size']}px, coarse Vc={report['coarse_vertices']}, "
        f"full Vf={report['full_vertices']}, {report['threads']} threads, median of {report['repeats']}",
        f"{'':26s}{'low_dim':>14s}{'full':>14s}{'full/low':>10s}",
    ]
    for label, key, fmt in rows:
        ratio = full[key] / low[key] if low[key] else float("nan")
        lines.append(f"{label:26s}{fmt.format(low[key]):>14s}{fmt.format(full[key]):>14s}{ratio:>10.2f}")
    lines.append(f"stream_frame_ms_ort (configured network): {report['stream_frame_ms_ort']:.2f} ms")
    return "\n".join(lines)

