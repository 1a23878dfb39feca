"""Check exported ONNX graphs against TensorRT's documented operator support.

TensorRT cannot be installed on the development machines, so the promise that
the exported graphs build into TensorRT engines is kept by checking, on CPU,
that every operator they contain is in the support matrix of TensorRT's ONNX
parser (kept in ``tensorrt_onnx_ops.txt`` beside this module, with its source).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import onnx

OPS_FILE = Path(__file__).resolve().parent / "tensorrt_onnx_ops.txt"


@lru_cache(maxsize=1)
def tensorrt_supported_ops() -> frozenset[str]:
    """Operator names from ``tensorrt_onnx_ops.txt`` (comments and blank lines skipped)."""
    lines = (line.strip() for line in OPS_FILE.read_text().splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def graph_op_types(path: Path) -> set[str]:
    """Operator types used by the nodes of an ONNX file (main graph and any subgraphs)."""
    model = onnx.load(str(path), load_external_data=False)
    ops: set[str] = set()
    pending = [model.graph]
    while pending:
        graph = pending.pop()
        for node in graph.node:
            if node.domain not in ("", "ai.onnx"):
                ops.add(f"{node.domain}::{node.op_type}")
            else:
                ops.add(node.op_type)
            for attribute in node.attribute:
                if attribute.HasField("g"):
                    pending.append(attribute.g)
                pending.extend(attribute.graphs)
    return ops


def unsupported_by_tensorrt(path: Path) -> set[str]:
    """Operators of the ONNX file at ``path`` that TensorRT's ONNX parser does not support."""
    return graph_op_types(path) - tensorrt_supported_ops()
