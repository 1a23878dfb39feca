"""Transformer building blocks shared by the lifter, the frequency extractor and the refiner.

Attention is written out with plain ``Linear``/``MatMul``/``Softmax`` instead
of ``nn.MultiheadAttention`` or ``scaled_dot_product_attention`` so that the
exported ONNX graph contains only operators TensorRT's ONNX parser supports
and that every one of them is visible to the FLOP counter.

Every attention layer is told its token counts at construction (they are
fixed by the template and the window).  With the counts as Python integers the
head split is a reshape to a constant shape, leaving the person batch as the
only dynamic axis; otherwise the exporter computes every shape at run time
(Shape/Slice/Concat chains): measured on the stage-1+2 graph, 740 instead of
475 nodes and about 15% of the onnxruntime kernel time.
"""

from __future__ import annotations

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention of ``query`` tokens over ``context`` tokens."""

    def __init__(self, width: int, heads: int, query_tokens: int, context_tokens: int) -> None:
        super().__init__()
        if width % heads != 0:
            raise ValueError(f"attention width {width} is not divisible by {heads} heads")
        self.width = width
        self.heads = heads
        self.head_dim = width // heads
        self.query_tokens = query_tokens
        self.context_tokens = context_tokens
        self.scale = self.head_dim**-0.5
        self.to_query = nn.Linear(width, width)
        # No key bias: it adds the same score to every key of a query, which softmax ignores.
        self.to_key = nn.Linear(width, width, bias=False)
        self.to_value = nn.Linear(width, width)
        self.to_output = nn.Linear(width, width)

    def _split_heads(self, tokens: torch.Tensor, count: int) -> torch.Tensor:
        # (N, L, H * d) -> (N, H, L, d)
        return tokens.reshape(-1, count, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, query: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """query (N, Lq, C), context (N, Lk, C) -> (N, Lq, C), Lq and Lk as constructed."""
        # A wrong count could reshape silently into the wrong groups, so check it (not while
        # exporting, where the shapes are the example's and the check cannot be recorded).
        tracing = torch.jit.is_tracing()
        if not tracing and (query.shape[-2] != self.query_tokens or context.shape[-2] != self.context_tokens):
            raise ValueError(
                f"attention built for {self.query_tokens} query / {self.context_tokens} context tokens, "
                f"got {query.shape[-2]} / {context.shape[-2]}"
            )
        q = self._split_heads(self.to_query(query) * self.scale, self.query_tokens)
        k = self._split_heads(self.to_key(context), self.context_tokens)
        v = self._split_heads(self.to_value(context), self.context_tokens)
        weights = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        mixed = (weights @ v).transpose(1, 2).reshape(-1, self.query_tokens, self.width)
        return self.to_output(mixed)


class FeedForward(nn.Module):
    """Position-wise two-layer MLP."""

    def __init__(self, width: int, mlp_ratio: float) -> None:
        super().__init__()
        hidden = max(1, int(round(width * mlp_ratio)))
        self.layers = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.layers(tokens)


class SelfAttentionLayer(nn.Module):
    """Pre-norm transformer layer over ``tokens`` tokens: self-attention then MLP, both residual."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, tokens: int) -> None:
        super().__init__()
        self.attention_norm = nn.LayerNorm(width)
        self.attention = MultiHeadAttention(width, heads, tokens, tokens)
        self.mlp_norm = nn.LayerNorm(width)
        self.mlp = FeedForward(width, mlp_ratio)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        normed = self.attention_norm(tokens)
        tokens = tokens + self.attention(normed, normed)
        return tokens + self.mlp(self.mlp_norm(tokens))


class CrossAttentionLayer(nn.Module):
    """Pre-norm cross-attention (tokens attend to a context) then MLP, both residual."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, query_tokens: int, context_tokens: int) -> None:
        super().__init__()
        self.query_norm = nn.LayerNorm(width)
        self.context_norm = nn.LayerNorm(width)
        self.attention = MultiHeadAttention(width, heads, query_tokens, context_tokens)
        self.mlp_norm = nn.LayerNorm(width)
        self.mlp = FeedForward(width, mlp_ratio)

    def forward(self, tokens: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        tokens = tokens + self.attention(self.query_norm(tokens), self.context_norm(context))
        return tokens + self.mlp(self.mlp_norm(tokens))
