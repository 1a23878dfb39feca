"""HOG person boxes and the newcomer filter (lihmr_ros.keypoints.person_detector)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lihmr_ros.keypoints import HogConfig, HogPersonDetector, PersonBox
from lihmr_ros.keypoints.boxes import iou_matrix
from lihmr_ros.keypoints.person_detector import novel_boxes

SAMPLES = Path("/usr/share/doc/opencv-doc/examples/data")


def _frame(name: str, index: int = 0) -> np.ndarray:
    cv2 = pytest.importorskip("cv2")
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} missing: install Debian's opencv-doc (apt-get install opencv-doc)")
    if name.endswith(".avi"):
        capture = cv2.VideoCapture(str(path))
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, image = capture.read()
        assert ok, f"could not read frame {index} of {path}"
    else:
        image = cv2.imread(str(path))
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def test_hog_finds_the_standing_player() -> None:
    boxes = HogPersonDetector().detect(_frame("basketball1.png"))
    player = np.array([0.0, 40.0, 190.0, 474.0])  # the full-height player on the left
    assert max(iou_matrix(player, np.stack([b.box for b in boxes]))[0]) > 0.7
    assert [b.score for b in boxes] == sorted((b.score for b in boxes), reverse=True)


def test_hog_finds_several_pedestrians_and_upscaling_finds_more() -> None:
    frame = _frame("vtest.avi", 400)
    native = HogPersonDetector().detect(frame)
    upscaled = HogPersonDetector(HogConfig(upscale=1.5)).detect(frame)
    assert len(native) >= 3
    assert len(upscaled) > len(native)
    assert all(b.box[2] <= frame.shape[1] + 40 and b.box[3] <= frame.shape[0] + 40 for b in upscaled)


def test_hog_returns_nothing_on_a_blank_frame() -> None:
    assert HogPersonDetector().detect(np.full((240, 320, 3), 128, np.uint8)) == []
    with pytest.raises(ValueError, match="uint8 RGB"):
        HogPersonDetector().detect(np.zeros((240, 320), np.uint8))


def test_novel_boxes_drop_people_already_known() -> None:
    padded_detection = PersonBox(box=np.array([90.0, 40.0, 190.0, 260.0], np.float32), score=1.0)
    stranger = PersonBox(box=np.array([400.0, 50.0, 460.0, 200.0], np.float32), score=0.8)
    tight_keypoint_box = np.array([115.0, 60.0, 165.0, 250.0])  # low IoU with the padded box, same person
    assert iou_matrix(padded_detection.box, tight_keypoint_box)[0, 0] < 0.5
    assert novel_boxes([padded_detection, stranger], [tight_keypoint_box]) == [stranger]
    assert novel_boxes([stranger], []) == [stranger]


@pytest.mark.parametrize(
    ("options", "message_part"),
    [({"upscale": 0.0}, "upscale"), ({"scale_step": 1.0}, "scale_step"), ({"window_stride": 6}, "window_stride")],
)
def test_bad_hog_config_is_rejected(options: dict, message_part: str) -> None:
    with pytest.raises(ValueError, match=message_part):
        HogConfig(**options)
