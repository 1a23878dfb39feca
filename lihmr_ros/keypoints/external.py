"""Keypoints produced outside this package, served through the :class:`KeypointSource` interface.

A user's own 2D detector usually publishes on a topic that is not perfectly
in step with the image topic.  :class:`ExternalKeypointSource` buffers what
arrives and, when an image is processed, hands back the keypoint set whose
time stamp is nearest to the image's (within a tolerance), so the node treats
external keypoints exactly like MediaPipe's.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from lihmr_ros.body.coco import NUM_COCO17
from lihmr_ros.keypoints.person import PersonKeypoints, keypoint_box

EXTERNAL_BOX_MARGIN = 0.1
"""Boxes derived from keypoints grow by this fraction of their size on each side:
COCO joints stop at the nose and ankles, so a tight box would cut off head and feet."""


def persons_from_arrays(
    keypoints: np.ndarray,
    scores: np.ndarray | None = None,
    boxes: np.ndarray | None = None,
) -> list[PersonKeypoints]:
    """Validate externally supplied arrays and turn them into :class:`PersonKeypoints`.

    ``keypoints`` is (N, 17, 3) ``(x, y, confidence)`` or (N, 17, 2) (all
    joints then count as seen, confidence 1) in image pixels.  ``scores`` (N,)
    defaults to the mean keypoint confidence; ``boxes`` (N, 4) default to the
    seen keypoints' box grown by :data:`EXTERNAL_BOX_MARGIN`.  People without a
    single seen keypoint are dropped, since nothing downstream can use them.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32)
    if keypoints.size == 0:
        return []
    if keypoints.ndim == 2:
        keypoints = keypoints[None]
    if keypoints.ndim != 3 or keypoints.shape[1] != NUM_COCO17 or keypoints.shape[2] not in (2, 3):
        raise ValueError(
            f"external keypoints must have shape (N, {NUM_COCO17}, 2|3) in pixels, got {keypoints.shape}; "
            "other skeleton layouts must be mapped to COCO-17 order first"
        )
    if keypoints.shape[2] == 2:
        keypoints = np.concatenate([keypoints, np.ones((*keypoints.shape[:2], 1), np.float32)], axis=2)
    count = keypoints.shape[0]
    if scores is not None:
        scores = np.asarray(scores, dtype=np.float32).reshape(-1)
        if scores.shape != (count,):
            raise ValueError(f"got {count} people but {scores.shape[0]} scores")
    if boxes is not None:
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        if boxes.shape[0] != count:
            raise ValueError(f"got {count} people but {boxes.shape[0]} boxes")
    persons = []
    for index in range(count):
        tight = keypoint_box(keypoints[index])
        if tight is None:
            continue
        if boxes is None:
            margin = EXTERNAL_BOX_MARGIN * (tight[2:] - tight[:2])
            box = np.concatenate([tight[:2] - margin, tight[2:] + margin])
        else:
            box = boxes[index]
        score = float(np.mean(keypoints[index, :, 2])) if scores is None else float(scores[index])
        persons.append(PersonKeypoints(box=box, keypoints=keypoints[index], score=score))
    return persons


@dataclass(frozen=True)
class _StampedPersons:
    timestamp: float
    persons: list[PersonKeypoints]


class ExternalKeypointSource:
    """A :class:`KeypointSource` fed with keypoints from elsewhere (e.g. a ROS topic)."""

    def __init__(self, max_time_difference: float = 0.05, buffer_size: int = 30) -> None:
        """``max_time_difference`` (s): how far a keypoint set's stamp may be from the image's.

        ``buffer_size`` bounds memory when keypoints arrive but images do not.
        """
        if not max_time_difference >= 0.0:
            raise ValueError(f"max_time_difference must be >= 0 seconds, got {max_time_difference}")
        if buffer_size < 1:
            raise ValueError(f"buffer_size must be >= 1, got {buffer_size}")
        self._max_time_difference = float(max_time_difference)
        self._buffer: deque[_StampedPersons] = deque(maxlen=buffer_size)

    def submit(
        self,
        timestamp: float,
        keypoints: np.ndarray,
        scores: np.ndarray | None = None,
        boxes: np.ndarray | None = None,
    ) -> None:
        """Store one message's people (see :func:`persons_from_arrays` for the array layout)."""
        self._buffer.append(_StampedPersons(float(timestamp), persons_from_arrays(keypoints, scores, boxes)))

    def detect(self, image_rgb: np.ndarray, timestamp: float) -> list[PersonKeypoints]:
        """The buffered people nearest in time to ``timestamp``, or none if nothing is close enough.

        Sets older than the one returned, or too old for this image, are
        discarded: images arrive in time order, so they can never match again.
        Keypoints must therefore arrive before (or with) their image.
        """
        while self._buffer and self._buffer[0].timestamp < timestamp - self._max_time_difference:
            self._buffer.popleft()
        if not self._buffer:
            return []
        differences = [abs(entry.timestamp - timestamp) for entry in self._buffer]
        best = int(np.argmin(differences))
        if differences[best] > self._max_time_difference:
            return []
        match = self._buffer[best]
        for _ in range(best + 1):
            self._buffer.popleft()
        return list(match.persons)

    def close(self) -> None:
        """Forget everything buffered."""
        self._buffer.clear()
