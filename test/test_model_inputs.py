"""Cropping and normalisation shared by runtime and synthetic data (lihmr_ros.model.inputs)."""

from __future__ import annotations

import numpy as np
import pytest

from lihmr_ros.model import inputs

K = np.array([[500.0, 0.0, 320.0], [0.0, 480.0, 240.0], [0.0, 0.0, 1.0]])


def _keypoints(xy: np.ndarray, confidence: float = 1.0) -> np.ndarray:
    return np.concatenate([xy, np.full((len(xy), 1), confidence)], axis=1)


def test_box_from_keypoints_known_answer() -> None:
    xy = np.zeros((17, 2))
    xy[:, 0] = np.linspace(100, 140, 17)  # 40 px wide
    xy[:, 1] = np.linspace(50, 150, 17)  # 100 px tall
    kp = _keypoints(xy)
    kp[0] = (1000.0, 1000.0, 0.1)  # an unconfident outlier must not move the box
    box = inputs.box_from_keypoints(kp, inputs.CropSpec(margin=1.2))
    expected_tight_y = (np.linspace(50, 150, 17)[1], 150.0)
    expected_tight_x = (np.linspace(100, 140, 17)[1], 140.0)
    assert box[0] == pytest.approx(np.mean(expected_tight_x))
    assert box[1] == pytest.approx(np.mean(expected_tight_y))
    assert box[2] == pytest.approx(1.2 * (expected_tight_y[1] - expected_tight_y[0]))


def test_box_from_keypoints_batched_and_min_size() -> None:
    spec = inputs.CropSpec(min_box_size=30.0)
    single_point = np.zeros((2, 5, 17, 3))
    single_point[..., 0, :] = (10.0, 20.0, 1.0)  # only the nose is confident
    boxes = inputs.box_from_keypoints(single_point, spec)
    assert boxes.shape == (2, 5, 3)
    np.testing.assert_allclose(boxes[..., :], np.broadcast_to([10.0, 20.0, 30.0], (2, 5, 3)))


def test_box_from_corners_squares_the_longer_side() -> None:
    box = inputs.box_from_corners(np.array([10.0, 20.0, 50.0, 220.0]), inputs.CropSpec(margin=1.5))
    np.testing.assert_allclose(box, [30.0, 120.0, 300.0])


def test_bad_input_errors_are_actionable() -> None:
    spec = inputs.CropSpec()
    with pytest.raises(ValueError, match="no keypoint with confidence"):
        inputs.box_from_keypoints(np.zeros((17, 3)), spec)
    with pytest.raises(ValueError, match=r"\(\.\.\., 17, 3\)"):
        inputs.box_from_keypoints(np.zeros((17, 2)), spec)
    with pytest.raises(ValueError, match="x0 <= x1"):
        inputs.box_from_corners(np.array([10.0, 0.0, 5.0, 5.0]), spec)
    with pytest.raises(ValueError, match="3x3"):
        inputs.crop_info(np.array([1.0, 1.0, 1.0]), np.eye(4))
    with pytest.raises(ValueError, match="margin"):
        inputs.CropSpec(margin=0.5)
    with pytest.raises(ValueError, match="uint8 RGB"):
        inputs.prepare_person_frame(np.zeros((10, 10, 3), np.float32), np.ones((17, 3)), K, spec)


def test_crop_blob_lands_where_the_keypoint_mapping_says() -> None:
    """The warped image and the keypoint normalisation must use one geometry."""
    rng = np.random.default_rng(0)
    size = 64
    rows, cols = np.indices((240, 320))
    for _ in range(5):
        x, y = rng.uniform(80, 240), rng.uniform(80, 160)
        image = np.exp(-((cols - x) ** 2 + (rows - y) ** 2) / (2 * 5.0**2)).astype(np.float32)[..., None]
        box = np.array([x + rng.uniform(-10, 10), y + rng.uniform(-10, 10), rng.uniform(80, 140)])
        crop = inputs.crop_image(image, box, size).astype(np.float64)[..., 0]
        weights = crop / crop.sum()
        crop_rows, crop_cols = np.indices(crop.shape)
        centroid_px = np.array([(crop_cols * weights).sum(), (crop_rows * weights).sum()])
        normalised = inputs.keypoints_to_crop(np.array([[x, y]]), box)[0]
        expected_px = (normalised + 1.0) * size / 2.0 - 0.5
        np.testing.assert_allclose(centroid_px, expected_px, atol=0.02)


def test_crop_outside_image_is_border_filled() -> None:
    image = np.full((50, 50, 3), 200, np.uint8)
    crop = inputs.crop_image(image, np.array([0.0, 0.0, 50.0]), 32)
    assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8
    assert crop[0, 0, 0] == 0 and crop[-1, -1, 0] == 200


def test_keypoint_round_trip_and_confidence_passthrough() -> None:
    rng = np.random.default_rng(1)
    boxes = np.stack([rng.uniform(0, 640, (4, 3)), rng.uniform(0, 480, (4, 3)), rng.uniform(20, 400, (4, 3))], -1)
    kp = np.concatenate([rng.uniform(0, 640, (4, 3, 17, 2)), rng.uniform(0, 1, (4, 3, 17, 1))], -1)
    normalised = inputs.keypoints_to_crop(kp, boxes)
    np.testing.assert_array_equal(normalised[..., 2], kp[..., 2])
    np.testing.assert_allclose(inputs.keypoints_from_crop(normalised, boxes), kp, atol=1e-9)
    corners = boxes[..., None, :2] + np.array([[-0.5], [0.5]]) * boxes[..., None, 2:3]
    expected_corners = np.broadcast_to([[-1.0, -1.0], [1.0, 1.0]], corners.shape)
    np.testing.assert_allclose(inputs.keypoints_to_crop(corners, boxes), expected_corners)


def test_crop_info_known_answer_and_inverse() -> None:
    box = np.array([420.0, 120.0, 250.0])
    info = inputs.crop_info(box, K)
    np.testing.assert_allclose(info, [100.0 / 500.0, -120.0 / 480.0, 250.0 / 500.0])
    np.testing.assert_allclose(inputs.boxes_from_crop_info(info, K), box)


def test_prepare_person_frame_layout() -> None:
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    kp = _keypoints(np.stack([rng.uniform(100, 200, 17), rng.uniform(50, 200, 17)], -1))
    spec = inputs.CropSpec(size=48)
    person = inputs.prepare_person_frame(image, kp, K, spec)
    assert person.crop.shape == (3, 48, 48) and person.crop.dtype == np.float32
    assert 0.0 <= person.crop.min() and person.crop.max() <= 1.0
    assert person.keypoints.shape == (17, 3) and np.abs(person.keypoints[:, :2]).max() <= 1.0 / spec.margin + 1e-6
    np.testing.assert_allclose(person.crop_info, inputs.crop_info(person.box, K), rtol=1e-6)
    expected = inputs.crops_to_network(inputs.crop_image(image, person.box, 48))
    np.testing.assert_array_equal(person.crop, expected)
