"""BlazePose -> COCO-17 (lihmr_ros.keypoints.blazepose) and the multi-person source, on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lihmr_ros.body.coco import COCO17_NAMES
from lihmr_ros.keypoints.blazepose import BLAZEPOSE_LANDMARKS_FOR_COCO17, CropWindow, coco17_from_landmarks

SAMPLES = Path("/usr/share/doc/opencv-doc/examples/data")


def _photo(name: str) -> np.ndarray:
    cv2 = pytest.importorskip("cv2")
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} missing: install Debian's opencv-doc (apt-get install opencv-doc)")
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_landmark_table_matches_mediapipes_own_names() -> None:
    pose = pytest.importorskip("mediapipe.python.solutions.pose", reason="mediapipe is not installed")
    for coco_name, landmark in zip(COCO17_NAMES, BLAZEPOSE_LANDMARKS_FOR_COCO17):
        assert pose.PoseLandmark[coco_name.upper()].value == landmark


def test_landmarks_map_to_frame_pixels_and_out_of_frame_points_are_unseen() -> None:
    landmarks = np.tile([0.5, 0.5, 0.8], (33, 1))
    landmarks[0] = (0.5, 0.25, 0.9)  # nose
    landmarks[27] = (1.2, 0.5, 0.7)  # left ankle, extrapolated past the frame's right edge
    window = CropWindow(left=100, top=-20, width=200, height=200)
    keypoints = coco17_from_landmarks(landmarks, window, frame_width=250, frame_height=300)
    np.testing.assert_allclose(keypoints[0], (199.5, 29.5, 0.9), rtol=1e-6)
    np.testing.assert_allclose(keypoints[15], (339.5, 79.5, 0.0), rtol=1e-6)
    assert keypoints[1, 2] == pytest.approx(0.8)


def test_crop_window_is_square_and_padded_outside_the_frame() -> None:
    window = CropWindow.around_box(np.array([0.0, 10.0, 20.0, 49.0]), scale=1.0)
    assert window.width == window.height == 39
    image = np.full((60, 80, 3), 7, np.uint8)
    crop = window.cut(image)
    assert crop.shape == (39, 39, 3) and crop.flags.c_contiguous
    assert (crop[:, : -window.left] == 0).all() and (crop[:, -window.left :] == 7).all()
    inside = CropWindow(left=5, top=5, width=10, height=10).cut(image)
    assert inside.shape == (10, 10, 3) and (inside == 7).all()


@pytest.fixture(scope="module")
def static_estimator():
    pytest.importorskip("mediapipe", reason="mediapipe is not installed")
    from lihmr_ros.keypoints.blazepose import BlazePoseEstimator

    estimator = BlazePoseEstimator(tracking=False)
    yield estimator
    estimator.close()


def test_full_body_photo_gives_an_anatomically_ordered_skeleton(static_estimator) -> None:
    person = static_estimator.estimate(_photo("messi5.jpg"))
    assert person is not None and person.score > 0.8
    kp = {name: person.keypoints[i] for i, name in enumerate(COCO17_NAMES)}
    assert kp["nose"][1] < kp["left_shoulder"][1] < kp["left_hip"][1]
    assert kp["nose"][1] < kp["right_shoulder"][1] < kp["right_hip"][1]
    # He faces the camera: his left side is on the image's right.
    assert kp["left_shoulder"][0] > kp["right_shoulder"][0] and kp["left_hip"][0] > kp["right_hip"][0]
    assert 80 < person.box[0] < 130 and 380 < person.box[2] < 450  # arms spread across the photo


def test_crop_coordinates_come_back_in_frame_pixels(static_estimator) -> None:
    image = _photo("basketball1.png")
    whole = static_estimator.estimate(image)
    cropped = static_estimator.estimate(image, CropWindow(left=-40, top=60, width=300, height=300))
    assert whole is not None and cropped is not None
    seen = (whole.keypoints[:, 2] > 0.8) & (cropped.keypoints[:, 2] > 0.8)
    assert seen.sum() >= 10
    # Same person from two views: same joints within a few pixels on a ~350 px tall body.
    assert np.median(np.linalg.norm(whole.keypoints[seen, :2] - cropped.keypoints[seen, :2], axis=1)) < 6.0


@pytest.fixture(scope="module")
def multi_person():
    pytest.importorskip("mediapipe", reason="mediapipe is not installed")
    from lihmr_ros.keypoints import MultiPersonBlazePose

    source = MultiPersonBlazePose()
    yield source
    source.close()


def test_two_people_are_found_and_followed(multi_person) -> None:
    image = _photo("basketball1.png")
    for frame in range(3):
        people = multi_person.detect(image, frame / 30.0)
        centres = sorted(0.5 * (p.box[0] + p.box[2]) for p in people)
        assert len(people) == 2, f"frame {frame}: {len(people)} people"
        assert centres[0] < 200 and centres[1] > 420  # the player on the left, the man on the right
    assert multi_person.num_followed == 2


def test_static_mode_finds_the_same_people() -> None:
    pytest.importorskip("mediapipe", reason="mediapipe is not installed")
    from lihmr_ros.keypoints import MultiPersonBlazePose, MultiPersonConfig

    image = _photo("basketball2.png")
    source = MultiPersonBlazePose(MultiPersonConfig(tracking=False))
    try:
        source.warm_up()
        counts = [len(source.detect(image, frame / 30.0)) for frame in range(2)]
    finally:
        source.close()
    assert counts == [2, 2]


def test_a_new_resolution_starts_over(multi_person) -> None:
    people = multi_person.detect(_photo("messi5.jpg"), 10.0)
    assert len(people) == 1 and multi_person.num_followed == 1


def test_small_pedestrians_are_found_through_person_boxes() -> None:
    pytest.importorskip("mediapipe", reason="mediapipe is not installed")
    cv2 = pytest.importorskip("cv2")
    from lihmr_ros.keypoints import MultiPersonBlazePose, MultiPersonConfig

    path = SAMPLES / "vtest.avi"
    if not path.exists():
        pytest.skip(f"{path} missing: install Debian's opencv-doc (apt-get install opencv-doc)")
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 400)
    ok, frame = capture.read()
    assert ok
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    without_hog = MultiPersonBlazePose(MultiPersonConfig(hog=None))
    with_hog = MultiPersonBlazePose()
    try:
        heights_alone = [p.box[3] - p.box[1] for p in without_hog.detect(rgb, 0.0)]
        people = with_hog.detect(rgb, 0.0)
    finally:
        without_hog.close()
        with_hog.close()
    assert len(people) >= 3 > len(heights_alone)  # ~50-100 px pedestrians need HOG's crops
    assert all(20 < p.box[3] - p.box[1] < 160 for p in people)


@pytest.mark.parametrize(
    ("options", "message_part"),
    [
        ({"max_people": 0}, "max_people"),
        ({"redetect_interval": 0}, "redetect_interval"),
        ({"crop_scale": 0.5}, "crop_scale"),
        ({"min_score": 2.0}, "min_score"),
        ({"hog_every": 0}, "hog_every"),
        ({"full_frame_search": False, "hog": None}, "no person is ever found"),
    ],
)
def test_bad_multi_person_config_is_rejected(options: dict, message_part: str) -> None:
    from lihmr_ros.keypoints import MultiPersonConfig

    with pytest.raises(ValueError, match=message_part):
        MultiPersonConfig(**options)
