"""Per-track temporal windows with edge padding (lihmr_ros.tracking.window)."""

from __future__ import annotations

import numpy as np
import pytest

from lihmr_ros.tracking import TemporalWindow, TrackWindows


def test_short_window_is_edge_padded_at_the_front() -> None:
    window: TemporalWindow[int] = TemporalWindow(5)
    for frame in (10, 11):
        window.append(frame)
    assert window.padded() == [10, 10, 10, 10, 11]
    np.testing.assert_array_equal(window.valid_mask(), [False, False, False, True, True])
    assert len(window) == 2 and not window.is_full and window.latest == 11


def test_full_window_slides_and_keeps_the_newest_last() -> None:
    window: TemporalWindow[int] = TemporalWindow(3)
    for frame in range(7):
        window.append(frame)
    assert window.padded() == [4, 5, 6]
    assert window.is_full and window.valid_mask().all()


def test_padded_items_stack_into_fixed_size_arrays() -> None:
    window: TemporalWindow[np.ndarray] = TemporalWindow(4)
    window.append(np.full((17, 3), 1.0))
    window.append(np.full((17, 3), 2.0))
    stacked = np.stack(window.padded())
    assert stacked.shape == (4, 17, 3)
    np.testing.assert_array_equal(stacked[:, 0, 0], [1.0, 1.0, 1.0, 2.0])


def test_empty_window_refuses_to_be_read() -> None:
    window: TemporalWindow[int] = TemporalWindow(3)
    with pytest.raises(LookupError, match="empty"):
        window.padded()
    with pytest.raises(LookupError, match="empty"):
        _ = window.latest
    with pytest.raises(ValueError, match="size"):
        TemporalWindow(0)


def test_track_windows_are_separate_and_discarded_with_their_tracks() -> None:
    windows: TrackWindows[str] = TrackWindows(2)
    windows.push(1, "a1")
    windows.push(2, "b1")
    windows.push(1, "a2")
    assert windows.window(1).padded() == ["a1", "a2"]
    assert windows.window(2).padded() == ["b1", "b1"]
    windows.discard([1, 99])  # an id that never got a window is fine
    assert windows.track_ids == [2] and 1 not in windows
    with pytest.raises(KeyError, match="track 1"):
        windows.window(1)
