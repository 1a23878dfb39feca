"""The per-person record, box arithmetic and the external keypoint source (no MediaPipe needed)."""

from __future__ import annotations

import numpy as np
import pytest

from lihmr_ros.keypoints import ExternalKeypointSource, PersonKeypoints, keypoint_box, persons_from_arrays
from lihmr_ros.keypoints.boxes import iou_matrix, non_max_suppression, overlap_of_smaller, scale_box

IMAGE = np.zeros((48, 64, 3), np.uint8)


def _keypoints(x0: float = 10.0, y0: float = 5.0, confidence: float = 0.8) -> np.ndarray:
    xy = np.stack([x0 + np.arange(17) * 1.0, y0 + np.arange(17) * 2.0], axis=1)
    return np.concatenate([xy, np.full((17, 1), confidence)], axis=1)


def test_person_keypoints_are_validated_and_stored_as_float32() -> None:
    person = PersonKeypoints(box=[0, 0, 10, 20], keypoints=_keypoints(), score=0.5)
    assert person.box.dtype == np.float32 and person.keypoints.dtype == np.float32
    with pytest.raises(ValueError, match=r"keypoints must have shape \(17, 3\)"):
        PersonKeypoints(box=[0, 0, 1, 1], keypoints=np.zeros((18, 3)), score=0.5)
    with pytest.raises(ValueError, match="x0 <= x1"):
        PersonKeypoints(box=[5, 0, 1, 1], keypoints=_keypoints(), score=0.5)
    with pytest.raises(ValueError, match="confidence 0 instead of NaN"):
        PersonKeypoints(box=[0, 0, 1, 1], keypoints=np.full((17, 3), np.nan), score=0.5)
    with pytest.raises(ValueError, match=r"confidences must lie in \[0, 1\]"):
        PersonKeypoints(box=[0, 0, 1, 1], keypoints=_keypoints(confidence=2.0), score=0.5)
    with pytest.raises(ValueError, match="score"):
        PersonKeypoints(box=[0, 0, 1, 1], keypoints=_keypoints(), score=1.5)


def test_keypoint_box_ignores_unconfident_points() -> None:
    keypoints = _keypoints()
    keypoints[16] = (500.0, 500.0, 0.1)
    np.testing.assert_allclose(keypoint_box(keypoints, min_confidence=0.3), [10, 5, 25, 35])
    keypoints[:, 2] = 0.0
    assert keypoint_box(keypoints) is None


def test_box_arithmetic_known_answers() -> None:
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[5.0, 0.0, 15.0, 10.0], [2.0, 2.0, 4.0, 4.0], [20.0, 20.0, 30.0, 30.0]])
    np.testing.assert_allclose(iou_matrix(a, b), [[50 / 150, 4 / 100, 0.0]])
    np.testing.assert_allclose(overlap_of_smaller(a, b), [[0.5, 1.0, 0.0]])
    np.testing.assert_allclose(scale_box(a[0], 2.0), [-5, -5, 15, 15])
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 3)


def test_non_max_suppression_keeps_the_best_of_each_cluster() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 9, 10]], dtype=float)
    scores = np.array([0.6, 0.9, 0.5, 0.7])
    np.testing.assert_array_equal(non_max_suppression(boxes, scores, 0.5), [1, 2])
    assert non_max_suppression(np.zeros((0, 4)), np.zeros(0), 0.5).size == 0
    with pytest.raises(ValueError, match="2 boxes but 1 scores"):
        non_max_suppression(boxes[:2], scores[:1], 0.5)


def test_persons_from_arrays_fills_boxes_and_scores() -> None:
    keypoints = np.stack([_keypoints(), _keypoints(30.0, 0.0, 0.4)])
    keypoints[1, :5, 2] = 0.0
    persons = persons_from_arrays(keypoints)
    assert len(persons) == 2
    # Tight box (10..26, 5..37) grown by 10 % of its size on each side.
    np.testing.assert_allclose(persons[0].box, [8.4, 1.8, 27.6, 40.2], rtol=1e-5)
    assert persons[1].score == pytest.approx(0.4 * 12 / 17, rel=1e-5)
    explicit = persons_from_arrays(keypoints, scores=[0.9, 0.1], boxes=[[0, 0, 50, 50], [1, 1, 2, 2]])
    assert explicit[0].score == pytest.approx(0.9)
    np.testing.assert_allclose(explicit[1].box, [1, 1, 2, 2])


def test_persons_from_arrays_accepts_xy_only_and_drops_unseen_people() -> None:
    xy_only = persons_from_arrays(_keypoints()[None, :, :2])
    assert xy_only[0].keypoints[:, 2].tolist() == [1.0] * 17
    unseen = _keypoints()
    unseen[:, 2] = 0.0
    assert persons_from_arrays(np.stack([unseen, _keypoints()]))[0].keypoints[0, 0] == pytest.approx(10.0)
    assert len(persons_from_arrays(np.stack([unseen, _keypoints()]))) == 1
    assert persons_from_arrays(np.zeros((0, 17, 3))) == []


@pytest.mark.parametrize(
    ("arrays", "message_part"),
    [
        ({"keypoints": np.zeros((2, 18, 3))}, "mapped to COCO-17 order"),
        ({"keypoints": np.zeros((2, 17, 4))}, r"\(N, 17, 2\|3\)"),
        ({"keypoints": np.stack([_keypoints()] * 2), "scores": [0.5]}, "2 people but 1 scores"),
        ({"keypoints": np.stack([_keypoints()] * 2), "boxes": np.zeros((3, 4))}, "2 people but 3 boxes"),
    ],
)
def test_persons_from_arrays_rejects_bad_layouts(arrays: dict, message_part: str) -> None:
    with pytest.raises(ValueError, match=message_part):
        persons_from_arrays(**arrays)


def test_external_source_matches_keypoints_to_images_by_time() -> None:
    source = ExternalKeypointSource(max_time_difference=0.02)
    for stamp, x in ((1.00, 10.0), (1.033, 20.0), (1.066, 30.0)):
        source.submit(stamp, _keypoints(x)[None])
    assert source.detect(IMAGE, 0.5) == []  # nothing near this time
    assert source.detect(IMAGE, 1.035)[0].keypoints[0, 0] == pytest.approx(20.0)
    assert source.detect(IMAGE, 1.000) == []  # older sets were dropped: images come in time order
    assert source.detect(IMAGE, 1.07)[0].keypoints[0, 0] == pytest.approx(30.0)
    assert source.detect(IMAGE, 1.07) == []  # each set is used once


def test_external_source_buffer_is_bounded_and_closable() -> None:
    source = ExternalKeypointSource(max_time_difference=1.0, buffer_size=2)
    for stamp in (0.0, 0.1, 0.2):
        source.submit(stamp, _keypoints(stamp * 100)[None])
    assert source.detect(IMAGE, 0.0)[0].keypoints[0, 0] == pytest.approx(10.0)  # 0.0 fell out of the buffer
    source.close()
    assert source.detect(IMAGE, 0.2) == []
    with pytest.raises(ValueError, match="max_time_difference"):
        ExternalKeypointSource(max_time_difference=-1.0)
