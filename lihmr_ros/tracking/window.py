"""Per-track temporal windows: the last T frames of each person, ready for the network.

The network reads a fixed window of T frames per person (keypoints, crop
placement, cached image features...).  A person who has just appeared has
fewer than T frames; the window is then *edge-padded*, repeating the oldest
frame at the front, which is what a person standing still would have produced
and keeps the newest frame in the last slot (causal streaming).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

import numpy as np

Item = TypeVar("Item")


class TemporalWindow(Generic[Item]):
    """The last ``size`` per-frame items of one track, oldest first."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"window size must be >= 1 frame, got {size}")
        self.size = size
        self._items: deque[Item] = deque(maxlen=size)

    def __len__(self) -> int:
        """Number of real (not padded) frames held."""
        return len(self._items)

    @property
    def is_full(self) -> bool:
        return len(self._items) == self.size

    @property
    def latest(self) -> Item:
        if not self._items:
            raise LookupError("the window is empty: append a frame before reading it")
        return self._items[-1]

    def append(self, item: Item) -> None:
        """Add the newest frame, dropping the oldest once ``size`` frames are held."""
        self._items.append(item)

    def padded(self) -> list[Item]:
        """Exactly ``size`` items, oldest first, the oldest repeated at the front when short."""
        if not self._items:
            raise LookupError("the window is empty: append a frame before reading it")
        return [self._items[0]] * (self.size - len(self._items)) + list(self._items)

    def valid_mask(self) -> np.ndarray:
        """(size,) bool, True where :meth:`padded` holds a real frame rather than padding."""
        mask = np.zeros(self.size, dtype=bool)
        mask[self.size - len(self._items) :] = True
        return mask


class TrackWindows(Generic[Item]):
    """One :class:`TemporalWindow` per track id, created on first use."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"window size must be >= 1 frame, got {size}")
        self.size = size
        self._windows: dict[int, TemporalWindow[Item]] = {}

    def __contains__(self, track_id: int) -> bool:
        return track_id in self._windows

    @property
    def track_ids(self) -> list[int]:
        return sorted(self._windows)

    def push(self, track_id: int, item: Item) -> TemporalWindow[Item]:
        """Append ``item`` to the track's window (creating it) and return the window."""
        window = self._windows.get(track_id)
        if window is None:
            window = self._windows[track_id] = TemporalWindow(self.size)
        window.append(item)
        return window

    def window(self, track_id: int) -> TemporalWindow[Item]:
        try:
            return self._windows[track_id]
        except KeyError:
            raise KeyError(f"no window for track {track_id}: it was never pushed or has been discarded") from None

    def discard(self, track_ids: Iterable[int]) -> None:
        """Free the windows of ended tracks (unknown ids are ignored: a track may end before its first push)."""
        for track_id in track_ids:
            self._windows.pop(track_id, None)
