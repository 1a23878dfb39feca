"""Stable person ids across frames and each person's temporal window of recent frames."""

from lihmr_ros.tracking.tracker import PersonTracker, TrackedPerson, TrackerConfig, TrackingResult
from lihmr_ros.tracking.window import TemporalWindow, TrackWindows

__all__ = [
    "PersonTracker",
    "TemporalWindow",
    "TrackWindows",
    "TrackedPerson",
    "TrackerConfig",
    "TrackingResult",
]
