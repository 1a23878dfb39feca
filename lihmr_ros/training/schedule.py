"""Learning rate schedule: linear warm-up, then cosine decay to a floor.

Warm-up matters here because the attention layers and AdamW's second-moment
estimates start cold; the cosine tail lets a run of any length end with
small steps without a hand-tuned step schedule.
"""

from __future__ import annotations

import math


def learning_rate(step: int, total_steps: int, peak: float, warmup_steps: int, min_ratio: float) -> float:
    """Learning rate for optimiser step ``step`` (0-based) of ``total_steps``."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    decay_steps = max(total_steps - warmup_steps, 1)
    progress = min(max(step - warmup_steps, 0) / decay_steps, 1.0)
    floor = peak * min_ratio
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))
