"""One distinct, stable colour per track id, shared by markers and the overlay."""

from __future__ import annotations

import colorsys

GOLDEN_RATIO_CONJUGATE = 0.618033988749895
"""Hue step between consecutive ids: consecutive people never get similar hues."""


def track_color(track_id: int) -> tuple[float, float, float, float]:
    """(r, g, b, a) in [0, 1] for ``track_id``; the same id always gets the same colour."""
    hue = (0.1 + track_id * GOLDEN_RATIO_CONJUGATE) % 1.0
    red, green, blue = colorsys.hsv_to_rgb(hue, 0.75, 0.95)
    return red, green, blue, 1.0
