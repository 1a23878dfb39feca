"""Latency and throughput of one backend on the streaming calls (``lihmr bench model --backend``).

What is timed is what the node does per camera frame: ``encode`` on the
newest crop of each of ``batch`` persons, then ``infer`` over each person's
window of cached features.  Inputs are random but shaped and scaled like
real ones (features come from the backend's own encoder), and are created
once, so only the backend is measured.  Times are medians after a timed
warm-up (see :func:`lihmr_ros.model.cost.median_ms`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lihmr_ros.model.cost import median_ms
from lihmr_ros.runtime.backend import InferenceBackend


def streaming_inputs(backend: InferenceBackend, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Newest crops (B, 3, S, S) and window inputs (features, keypoints, crop_info) for ``batch`` persons."""
    generator = np.random.default_rng(seed)
    size, window = backend.crop_size, backend.window
    frames = [generator.random((batch, 3, size, size), dtype=np.float32) for _ in range(window)]
    features = np.stack([backend.encode(crops) for crops in frames], axis=1)
    keypoints = generator.random((batch, window, 17, 3), dtype=np.float32)
    keypoints[..., :2] = keypoints[..., :2] * 1.6 - 0.8
    # Box centre within +-0.3 of the optical axis, box size 0.2-1.2 focal lengths (as in model.export).
    crop_info = generator.random((batch, window, 3), dtype=np.float32) * np.float32([0.6, 0.6, 1.0])
    crop_info += np.float32([-0.3, -0.3, 0.2])
    return {"crops": frames[-1], "features": features, "keypoints": keypoints, "crop_info": crop_info}


def bench_backend(backend: InferenceBackend, batch: int, repeats: int, warmup_s: float) -> dict:
    """JSON-ready timings: ``encode_ms``, ``infer_ms``, ``frame_ms`` (both) and throughputs."""
    if not 1 <= batch <= backend.max_people:
        raise ValueError(f"batch must be in 1..{backend.max_people} (the backend's max_people), got {batch}")
    inputs = streaming_inputs(backend, batch)
    window = (inputs["features"], inputs["keypoints"], inputs["crop_info"])

    def frame() -> object:
        backend.encode(inputs["crops"])
        return backend.infer(*window)

    encode_ms = median_ms(lambda: backend.encode(inputs["crops"]), repeats, warmup_s)
    infer_ms = median_ms(lambda: backend.infer(*window), repeats, warmup_s)
    frame_ms = median_ms(frame, repeats, warmup_s)
    return {
        "backend": backend.name,
        "description": backend.description,
        "batch": batch,
        "encode_ms": encode_ms,
        "infer_ms": infer_ms,
        "frame_ms": frame_ms,
        "frames_per_s": 1e3 / frame_ms,
        "persons_per_s": batch * 1e3 / frame_ms,
    }


def random_init_checkpoint(
    config_path: Path | None, template_path: Path | None, directory: Path, seed: int = 0
) -> Path:
    """A checkpoint of a seeded, untrained network: cost does not depend on the weights.

    Seeded, so repeated benchmark runs write the same weights (same content
    digest) and reuse the engine cache entry of the first run instead of
    exporting again.
    """
    import torch

    from lihmr_ros.model.checkpoint import save_checkpoint
    from lihmr_ros.model.config import NetworkConfig
    from lihmr_ros.model.network import LIHMRNet
    from lihmr_ros.model.templates import resolve_template

    config = NetworkConfig.from_yaml(config_path) if config_path else NetworkConfig()
    torch.manual_seed(seed)
    network = LIHMRNet(config, resolve_template(template_path))
    return save_checkpoint(Path(directory) / "random-init.safetensors", network, {"random_init_seed": seed})
