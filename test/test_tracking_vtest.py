"""Track ids on real video: pedestrians in OpenCV's vtest.avi through MediaPipe and the tracker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

VIDEO = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def test_pedestrians_keep_their_ids_across_real_frames() -> None:
    pytest.importorskip("mediapipe", reason="mediapipe is not installed")
    cv2 = pytest.importorskip("cv2")
    if not VIDEO.exists():
        pytest.skip(f"{VIDEO} missing: install Debian's opencv-doc (apt-get install opencv-doc)")
    from lihmr_ros.keypoints import MultiPersonBlazePose
    from lihmr_ros.tracking import PersonTracker

    capture = cv2.VideoCapture(str(VIDEO))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 400)  # three walkers apart, one about to leave on the right
    source, tracker = MultiPersonBlazePose(), PersonTracker()
    centres: dict[int, list[tuple[int, np.ndarray]]] = {}
    try:
        for index in range(30):
            ok, frame = capture.read()
            assert ok
            stamp = index / 10.0  # the clip is about 10 frames per second
            result = tracker.update(source.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), stamp), stamp)
            for item in result.tracked:
                box = item.person.box
                centres.setdefault(item.track_id, []).append((index, 0.5 * (box[:2] + box[2:])))
    finally:
        source.close()
    long_tracks = {track_id: path for track_id, path in centres.items() if len(path) >= 20}
    assert len(long_tracks) >= 2, f"track lengths: { {k: len(v) for k, v in centres.items()} }"
    for track_id, path in centres.items():
        for (frame_a, a), (frame_b, b) in zip(path, path[1:]):
            # A walker moves a few pixels per frame (the clip drops frames: up to ~20 px); more means a swap.
            assert np.linalg.norm(b - a) < 30.0 * (frame_b - frame_a), f"track {track_id} jumped at frame {frame_b}"
    assert len(centres) <= 5  # ids are not churned: 3-4 people visible in this stretch
