"""onnxruntime sessions configured for this network on a small CPU.

One place decides the session settings so that the benchmark measures what
the runtime runs.  Threads are pinned explicitly: by default onnxruntime
sizes its pool from the machine, which on a robot shared with other nodes
oversubscribes the cores, and the per-person graphs here are too small for
inter-op parallelism to pay.  Worker threads do not spin between calls:
measured on the shared 2-core machine with other processes busy, the default
spinning made a 2-thread streaming frame ~3x slower (24 ms vs 7.5-8 ms median)
and burned ~3x the CPU, while on an idle machine it gains almost nothing
because each graph is a chain of small kernels.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime

DEFAULT_THREADS = 2


def open_session(path: Path, threads: int = DEFAULT_THREADS) -> onnxruntime.InferenceSession:
    """CPU inference session with ``threads`` intra-op threads and full graph optimisation."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ONNX graph {path} does not exist; export it with `lihmr export --format onnx`")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
