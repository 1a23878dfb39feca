"""Stable person ids across frames.

The keypoint source reports who is in each frame but not who is who.  The
tracker gives each person an id that survives across frames, so every person
keeps their own temporal window and their own mesh marker:

* Tracks are predicted forward with a constant-velocity model on the box
  centre (people crossing keep heading the way they were going), then matched
  to detections by the Hungarian algorithm on a cost that blends box IoU and
  keypoint similarity (:mod:`lihmr_ros.tracking.similarity`); leftovers get
  a second chance on centre distance (a dropped video frame can move a thin,
  distant person clean off their old box).
* A new track is *tentative* until it has been matched ``min_hits`` times
  (one-frame false positives never get an id); a tentative track that misses
  a frame is forgotten silently.
* A *confirmed* track may go unmatched for ``max_age`` frames (occlusion,
  a missed detection) and keep its id; after that it *ends*, and its id is
  reported once in :attr:`TrackingResult.ended` so the node can delete that
  person's markers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from lihmr_ros.keypoints.person import PersonKeypoints
from lihmr_ros.tracking.similarity import centre_distance, matching_cost

MAX_PREDICTION_SECONDS = 0.5
"""Velocity is extrapolated at most this far; beyond it people have likely changed course."""

VELOCITY_BLEND = 0.5
"""Weight of the newest displacement in the velocity estimate (the rest is the previous estimate)."""


@dataclass(frozen=True)
class TrackerConfig:
    """Settings of :class:`PersonTracker`."""

    min_hits: int = 3
    """Matches needed before a track gets reported (1 reports every detection at once)."""
    max_age: int = 10
    """Consecutive unmatched frames a confirmed track survives."""
    keypoint_weight: float = 0.5
    """Share of keypoint similarity (vs box IoU) in the matching cost."""
    max_cost: float = 0.8
    """Pairs costlier than this are not matched in the first (IoU + keypoint) stage."""
    max_centre_distance: float = 0.35
    """Second stage: leftover pairs whose box centres are closer than this x the taller box's height match.
    It catches what overlap cannot: a frame drop or a sudden turn moving a thin person off their old box
    (0.25 of their height on vtest.avi), while a neighbour walking past stays further away."""

    def __post_init__(self) -> None:
        if self.min_hits < 1:
            raise ValueError(f"min_hits must be >= 1, got {self.min_hits}")
        if self.max_age < 0:
            raise ValueError(f"max_age must be >= 0 frames, got {self.max_age}")
        if not 0.0 <= self.keypoint_weight <= 1.0:
            raise ValueError(f"keypoint_weight must lie in [0, 1], got {self.keypoint_weight}")
        if not 0.0 < self.max_cost <= 1.0:
            raise ValueError(f"max_cost must lie in (0, 1], got {self.max_cost}")
        if not self.max_centre_distance >= 0.0:
            raise ValueError(f"max_centre_distance must be >= 0, got {self.max_centre_distance}")


@dataclass(frozen=True)
class TrackedPerson:
    """A confirmed track matched in the current frame."""

    track_id: int
    person: PersonKeypoints
    detection_index: int
    """Index of ``person`` in the detections given to :meth:`PersonTracker.update`."""


@dataclass(frozen=True)
class TrackingResult:
    """What one frame did to the tracks."""

    tracked: list[TrackedPerson]
    """Confirmed tracks seen in this frame, by ascending id."""
    ended: list[int]
    """Ids of confirmed tracks that ended in this frame (never reported again)."""


class _Track:
    def __init__(self, person: PersonKeypoints, timestamp: float) -> None:
        self.track_id: int | None = None  # assigned on confirmation; None while tentative
        self.person = person
        self.timestamp = timestamp
        self.velocity = np.zeros(2)
        self.hits = 1
        self.misses = 0

    def predicted_shift(self, timestamp: float) -> np.ndarray:
        return self.velocity * float(np.clip(timestamp - self.timestamp, 0.0, MAX_PREDICTION_SECONDS))

    def update(self, person: PersonKeypoints, timestamp: float) -> None:
        elapsed = timestamp - self.timestamp
        if elapsed > 0.0:
            displacement = _centre(person.box) - _centre(self.person.box)
            self.velocity = (1.0 - VELOCITY_BLEND) * self.velocity + VELOCITY_BLEND * displacement / elapsed
        self.person = person
        self.timestamp = timestamp
        self.hits += 1
        self.misses = 0


def _centre(box: np.ndarray) -> np.ndarray:
    return 0.5 * (box[:2] + box[2:]).astype(np.float64)


class PersonTracker:
    """Assigns stable ids to the people a :class:`~lihmr_ros.keypoints.source.KeypointSource` reports."""

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        self.config = config
        self._tracks: list[_Track] = []
        # Ids start at 1 and are never reused, so a late DELETE can never hit a new person's marker.
        self._next_id = 1
        self._last_timestamp: float | None = None

    @property
    def confirmed_ids(self) -> list[int]:
        """Ids of confirmed tracks still alive (seen now or coasting through a short gap)."""
        return [track.track_id for track in self._tracks if track.track_id is not None]

    def update(self, detections: list[PersonKeypoints], timestamp: float) -> TrackingResult:
        """Match this frame's detections to the tracks; frames must come in time order.

        A timestamp earlier than the previous one (a replayed bag looping)
        ends every track first, because motion from the old timeline says
        nothing about the new one.
        """
        ended: list[int] = []
        if self._last_timestamp is not None and timestamp < self._last_timestamp:
            ended.extend(self.reset())
        self._last_timestamp = timestamp

        matches, unmatched_detections = self._associate(detections, timestamp)
        matched_tracks = {track_index for track_index, _ in matches}
        tracked: list[TrackedPerson] = []
        for track_index, detection_index in matches:
            track = self._tracks[track_index]
            track.update(detections[detection_index], timestamp)
            self._confirm_if_due(track)
            if track.track_id is not None:
                tracked.append(TrackedPerson(track.track_id, track.person, detection_index))

        surviving: list[_Track] = []
        for index, track in enumerate(self._tracks):
            if index not in matched_tracks:
                track.misses += 1
                if track.track_id is None:  # tentative: one miss and it was probably noise
                    continue
                if track.misses > self.config.max_age:
                    ended.append(track.track_id)
                    continue
            surviving.append(track)

        for detection_index in unmatched_detections:
            track = _Track(detections[detection_index], timestamp)
            self._confirm_if_due(track)
            surviving.append(track)
            if track.track_id is not None:
                tracked.append(TrackedPerson(track.track_id, track.person, detection_index))
        self._tracks = surviving
        tracked.sort(key=lambda item: item.track_id)
        return TrackingResult(tracked=tracked, ended=ended)

    def reset(self) -> list[int]:
        """Forget every track; returns the ids of the confirmed ones, which have now ended."""
        ended = self.confirmed_ids
        self._tracks = []
        self._last_timestamp = None
        return ended

    def _confirm_if_due(self, track: _Track) -> None:
        """Give a tentative track its id once it has enough hits (ids stay consecutive among real people)."""
        if track.track_id is None and track.hits >= self.config.min_hits:
            track.track_id = self._next_id
            self._next_id += 1

    def _associate(
        self, detections: list[PersonKeypoints], timestamp: float
    ) -> tuple[list[tuple[int, int]], list[int]]:
        """(track index, detection index) matches and the unmatched detection indices.

        Two stages, each an optimal (Hungarian) assignment: first on IoU and
        keypoint similarity against the motion-predicted tracks, then, for
        what is left of the tracks seen last frame, on centre distance
        relative to body height.
        """
        if not self._tracks or not detections:
            return [], list(range(len(detections)))
        shifts = np.stack([track.predicted_shift(timestamp) for track in self._tracks])
        track_boxes = np.stack([track.person.box for track in self._tracks]) + np.tile(shifts, 2)
        track_keypoints = np.stack([track.person.keypoints for track in self._tracks]).astype(np.float64)
        track_keypoints[..., :2] += shifts[:, None, :]
        detection_boxes = np.stack([d.box for d in detections]).astype(np.float64)
        cost = matching_cost(
            track_boxes,
            track_keypoints,
            detection_boxes,
            np.stack([d.keypoints for d in detections]),
            self.config.keypoint_weight,
        )
        matches = _assign(cost, self.config.max_cost)
        matched_tracks = {t for t, _ in matches}
        matched_detections = {d for _, d in matches}
        # Only tracks seen in the previous frame get the lenient second stage: a coasting track's
        # prediction is a guess, and the person now standing there is usually whoever hid it.
        left_tracks = [t for t, track in enumerate(self._tracks) if t not in matched_tracks and track.misses == 0]
        left_detections = [d for d in range(len(detections)) if d not in matched_detections]
        if left_tracks and left_detections:
            distance = centre_distance(track_boxes[left_tracks], detection_boxes[left_detections])
            for t, d in _assign(distance, self.config.max_centre_distance):
                matches.append((left_tracks[t], left_detections[d]))
                matched_detections.add(left_detections[d])
        return matches, [d for d in range(len(detections)) if d not in matched_detections]


def _assign(cost: np.ndarray, max_cost: float) -> list[tuple[int, int]]:
    """Minimum-cost one-to-one assignment, keeping only pairs no costlier than ``max_cost``."""
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if cost[r, c] <= max_cost]
