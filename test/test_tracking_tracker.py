"""Stable person ids across frames (lihmr_ros.tracking.tracker) on synthetic sequences."""

from __future__ import annotations

import numpy as np
import pytest

from lihmr_ros.keypoints import PersonKeypoints
from lihmr_ros.tracking import PersonTracker, TrackerConfig

FPS = 30.0

# A simple upright skeleton in a unit box (x right, y down), COCO-17 order.
UNIT_SKELETON = np.array(
    [
        [0.50, 0.08], [0.46, 0.05], [0.54, 0.05], [0.42, 0.07], [0.58, 0.07], [0.32, 0.22], [0.68, 0.22],
        [0.25, 0.40], [0.75, 0.40], [0.22, 0.55], [0.78, 0.55], [0.40, 0.55], [0.60, 0.55], [0.40, 0.78],
        [0.60, 0.78], [0.40, 0.98], [0.60, 0.98],
    ]
)


def _person(x: float, y: float, height: float, arms_up: bool = False) -> PersonKeypoints:
    """A person whose box's top-left corner is (x, y); ``arms_up`` changes the pose, not the box."""
    unit = UNIT_SKELETON.copy()
    if arms_up:
        unit[[9, 10], 1] = 0.0
    width = 0.4 * height
    xy = np.stack([x + unit[:, 0] * width, y + unit[:, 1] * height], axis=1)
    keypoints = np.concatenate([xy, np.full((17, 1), 0.9)], axis=1)
    return PersonKeypoints(box=[x, y, x + width, y + height], keypoints=keypoints, score=0.9)


def _run(tracker: PersonTracker, frames: list[list[PersonKeypoints]]) -> list[dict[int, PersonKeypoints]]:
    """Per frame: track id -> the detection it was matched to."""
    return [
        {item.track_id: item.person for item in tracker.update(detections, index / FPS).tracked}
        for index, detections in enumerate(frames)
    ]


def test_ids_are_stable_over_a_moving_sequence_and_appear_after_min_hits() -> None:
    frames = [
        [_person(50 + 4 * t, 100, 200), _person(400 - 3 * t, 120 + t, 180), _person(250, 300 - 2 * t, 120)]
        for t in range(40)
    ]
    results = _run(PersonTracker(TrackerConfig(min_hits=3)), frames)
    assert [len(frame) for frame in results[:2]] == [0, 0]  # tentative: not reported yet
    assert all(sorted(frame) == [1, 2, 3] for frame in results[2:])
    for t, frame in enumerate(results[2:], start=2):  # each id stays on its own walker
        assert frame[1].box[0] == pytest.approx(50 + 4 * t)
        assert frame[2].box[0] == pytest.approx(400 - 3 * t)
        assert frame[3].box[1] == pytest.approx(300 - 2 * t)


def test_crossing_people_keep_their_ids() -> None:
    # Two people of similar size walk through each other; their boxes overlap almost fully mid-way.
    frames = []
    for t in range(60):
        left_to_right = _person(100 + 8 * t, 150, 220, arms_up=False)
        right_to_left = _person(572 - 8 * t, 160, 210, arms_up=True)
        frames.append([right_to_left, left_to_right] if t % 2 else [left_to_right, right_to_left])
    results = _run(PersonTracker(TrackerConfig(min_hits=2)), frames)
    for frame in results[1:]:
        assert sorted(frame) == [1, 2]
        walker_1, walker_2 = frame[1], frame[2]
        # The track that started on the left keeps moving right and never swaps poses.
        assert walker_1.keypoints[9, 1] > walker_1.box[1] + 1.0
        assert walker_2.keypoints[9, 1] == pytest.approx(walker_2.box[1])
    assert results[-1][1].box[0] > results[-1][2].box[0]


def test_short_gaps_keep_the_id_and_long_gaps_end_the_track_once() -> None:
    tracker = PersonTracker(TrackerConfig(min_hits=1, max_age=5))
    timeline: list[list[PersonKeypoints]] = []
    for t in range(30):
        visible = not (10 <= t < 14) and not (18 <= t < 25)  # a 4-frame gap, then a 7-frame gap
        timeline.append([_person(100 + 2 * t, 100, 200)] if visible else [])
    ended_at: dict[int, list[int]] = {}
    ids_at: dict[int, list[int]] = {}
    for t, detections in enumerate(timeline):
        result = tracker.update(detections, t / FPS)
        ids_at[t] = [item.track_id for item in result.tracked]
        ended_at[t] = result.ended
    assert ids_at[9] == [1] and ids_at[14] == [1]  # recovered after 4 missed frames
    assert ended_at[23] == [1]  # 6th consecutive miss > max_age
    assert sum(len(ids) for ids in ended_at.values()) == 1
    assert ids_at[25] == [2]  # a new id, never a reused one
    assert tracker.confirmed_ids == [2]


def test_one_frame_false_positives_never_get_an_id() -> None:
    tracker = PersonTracker(TrackerConfig(min_hits=3))
    frames = [[_person(100 + t, 100, 200)] + ([_person(500, 50, 100)] if t in (3, 9) else []) for t in range(15)]
    seen_ids = {track_id for frame in _run(tracker, frames) for track_id in frame}
    assert seen_ids == {1}


def test_time_going_backwards_ends_all_tracks() -> None:
    tracker = PersonTracker(TrackerConfig(min_hits=1))
    tracker.update([_person(100, 100, 200), _person(400, 100, 200)], 10.0)
    result = tracker.update([_person(100, 100, 200)], 0.0)  # a bag loops back to its start
    assert sorted(result.ended) == [1, 2]
    assert [item.track_id for item in result.tracked] == [3]


def test_reset_reports_confirmed_tracks_only() -> None:
    tracker = PersonTracker(TrackerConfig(min_hits=2))
    tracker.update([_person(100, 100, 200)], 0.0)
    tracker.update([_person(102, 100, 200), _person(400, 100, 200)], 1 / FPS)
    assert tracker.reset() == [1]
    assert tracker.confirmed_ids == []


def test_detection_index_points_into_the_frames_detections() -> None:
    tracker = PersonTracker(TrackerConfig(min_hits=1))
    detections = [_person(400, 100, 200), _person(100, 100, 200)]
    result = tracker.update(detections, 0.0)
    for item in result.tracked:
        assert detections[item.detection_index] is item.person


@pytest.mark.parametrize(
    ("options", "message_part"),
    [
        ({"min_hits": 0}, "min_hits"),
        ({"max_age": -1}, "max_age"),
        ({"keypoint_weight": 1.5}, "keypoint_weight"),
        ({"max_cost": 0.0}, "max_cost"),
    ],
)
def test_bad_config_is_rejected(options: dict, message_part: str) -> None:
    with pytest.raises(ValueError, match=message_part):
        TrackerConfig(**options)
