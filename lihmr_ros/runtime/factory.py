"""``create_backend``: turn the ``backend`` setting into a running :class:`InferenceBackend`.

``auto`` tries TensorRT, then onnxruntime, then PyTorch, and logs which one
runs and why the ones before it did not.  An explicit choice that cannot run
here is a :class:`BackendUnavailableError` at start-up, never a silent
fallback: a user who asked for TensorRT must learn that they are not getting it.

onnxruntime and TensorRT run graphs exported from the checkpoint on demand
into ``<cache root>/<checkpoint digest[:16]>/`` (``onnx/``, ``tensorrt/``,
see :mod:`lihmr_ros.runtime.onnx_graphs`), TensorRT's timing cache sits in
``<cache root>/timing/``.  The cache root is ``cache_dir``, else
``$LIHMR_ENGINE_CACHE``, else ``${XDG_CACHE_HOME:-~/.cache}/lihmr/engines``;
if it is not writable the backend still starts from a temporary directory,
with a warning (:func:`lihmr_ros.runtime.cache.writable_cache_dir`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from lihmr_ros.runtime.backend import BACKEND_NAMES, BackendUnavailableError, InferenceBackend
from lihmr_ros.runtime.cache import Logger, default_cache_root, writable_cache_dir

AUTO_ORDER: tuple[str, ...] = tuple(name for name in BACKEND_NAMES if name != "auto")
"""``tensorrt``, ``onnxruntime``, ``torch``: fastest first, always-available last."""
DEFAULT_LOGGER = logging.getLogger("lihmr_ros.runtime")


def create_backend(
    name: str = "auto",
    checkpoint_path: Path | None = None,
    max_people: int = 4,
    device: str = "auto",
    cache_dir: Path | str | None = None,
    logger: Logger | None = None,
    *,
    precision: str = "auto",
    threads: int = 2,
    template_path: Path | None = None,
    flip_averaging: bool = False,
) -> InferenceBackend:
    """Load ``checkpoint_path`` (default: the shipped weights) into the backend ``name``.

    ``device``: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.  ``precision``:
    ``auto`` (FP16 where the GPU backend supports it, else FP32), ``fp32`` or
    ``fp16``.  ``threads``: CPU threads of torch / onnxruntime.
    ``template_path``: mesh template the checkpoint was trained with (default:
    the packaged one), needed only to load the PyTorch network.
    ``flip_averaging``: wrap the backend in a
    :class:`~lihmr_ros.runtime.flip_averaging.FlipAveragingBackend` that still
    takes ``max_people`` people (the engine underneath is built for twice as
    many); :class:`~lihmr_ros.runtime.flip_averaging.AsymmetricTemplateError` if the
    template has no left/right symmetry.
    """
    from lihmr_ros.model.checkpoint import DEFAULT_CHECKPOINT

    if name not in BACKEND_NAMES:
        raise ValueError(f"backend must be one of {', '.join(BACKEND_NAMES)}, got {name!r}")
    if max_people < 1:
        raise ValueError(f"max_people must be >= 1, got {max_people}")
    checkpoint = Path(checkpoint_path) if checkpoint_path is not None else DEFAULT_CHECKPOINT
    if not checkpoint.is_file():
        raise FileNotFoundError(
            f"checkpoint {checkpoint} does not exist (the default checkpoint is produced by training; "
            "pass a checkpoint path)"
        )
    logger = logger or DEFAULT_LOGGER
    twins = None
    if flip_averaging:
        from lihmr_ros.model.templates import resolve_template
        from lihmr_ros.runtime.flip_averaging import FlipAveragingBackend, mirror_twins

        # Before any engine is built: an asymmetric template must not cost an export.
        twins = mirror_twins(resolve_template(template_path).full_rest_vertices)
    options = {
        "checkpoint": checkpoint,
        # Flip averaging runs every person and their mirror image in one batch.
        "max_people": max_people * (2 if flip_averaging else 1),
        "device": device,
        # An empty string (an unset ROS parameter) means the default too.
        "cache_root": Path(cache_dir) if cache_dir else default_cache_root(),
        "logger": logger,
        "precision": precision,
        "threads": threads,
        "template_path": template_path,
    }
    backend = _create_named_or_first(name, options, logger)
    return backend if twins is None else FlipAveragingBackend(backend, twins)


def _create_named_or_first(name: str, options: dict, logger: Logger) -> InferenceBackend:
    """The backend ``name``, or for ``auto`` the first of :data:`AUTO_ORDER` that can run, logging why."""
    if name != "auto":
        try:
            backend = _create(name, **options)
        except BackendUnavailableError as error:
            raise BackendUnavailableError(f"backend {name!r} is not available: {error}") from error
        logger.info(f"backend {name}: {backend.description}")
        return backend
    skipped = []
    for candidate in AUTO_ORDER:
        try:
            backend = _create(candidate, **options)
        except BackendUnavailableError as error:
            skipped.append(f"{candidate} unavailable: {error}")
            continue
        because = f" ({'; '.join(skipped)})" if skipped else " (the first choice)"
        logger.info(f"backend auto: using {candidate}: {backend.description}{because}")
        return backend
    raise BackendUnavailableError("no backend can run here: " + "; ".join(skipped))


def _create(
    name: str,
    checkpoint: Path,
    max_people: int,
    device: str,
    cache_root: Path,
    logger: Logger,
    precision: str,
    threads: int,
    template_path: Path | None,
) -> InferenceBackend:
    if name == "torch":
        from lihmr_ros.model.checkpoint import load_checkpoint
        from lihmr_ros.model.templates import resolve_template
        from lihmr_ros.runtime.torch_backend import TorchBackend, resolve_precision, resolve_torch_device

        # Device and precision first: an unusable request must not cost a model load.
        resolve_precision(precision, resolve_torch_device(device).type == "cuda")
        network = load_checkpoint(checkpoint, resolve_template(template_path))
        return TorchBackend(network, max_people, logger, device, precision, threads)
    # Cheap checks of the request first: an unusable one must not cost an ONNX export.
    if name == "tensorrt":
        from lihmr_ros.runtime.tensorrt_backend import check_tensorrt_available

        check_tensorrt_available(device)
    else:
        from lihmr_ros.runtime.onnxruntime_backend import resolve_providers

        resolve_providers(device, precision)
    from lihmr_ros.runtime.onnx_graphs import checkpoint_cache_dir, ensure_onnx_graphs

    with writable_cache_dir(cache_root, logger) as (root, persistent):
        graphs = ensure_onnx_graphs(checkpoint, root, logger, template_path)
        backend_dir = checkpoint_cache_dir(root, graphs.checkpoint_sha256)
        if name == "onnxruntime":
            from lihmr_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend

            return OnnxRuntimeBackend(
                graphs, max_people, logger, device, precision, threads,
                tensorrt_cache_dir=backend_dir / "onnxruntime-tensorrt" if persistent else None,
            )
        from lihmr_ros.runtime.tensorrt_backend import TensorRTBackend

        return TensorRTBackend(
            graphs,
            engine_dir=backend_dir / "tensorrt" if persistent else None,
            timing_cache_dir=root / "timing" if persistent else None,
            max_people=max_people,
            logger=logger,
            device=device,
            precision=precision,
        )
