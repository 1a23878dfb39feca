"""An external keypoint source shared by the subscription thread and the processing thread.

:class:`~lihmr_ros.keypoints.external.ExternalKeypointSource` is filled by the
``keypoints`` subscription callback and read by the pipeline in the worker
thread; its buffer is not safe for that on its own, so every call goes
through one lock here.
"""

from __future__ import annotations

import threading

import numpy as np

from lihmr_ros.keypoints.external import ExternalKeypointSource
from lihmr_ros.keypoints.person import PersonKeypoints


class LockedExternalKeypointSource:
    """A thread-safe :class:`~lihmr_ros.keypoints.source.KeypointSource` fed with :meth:`submit`."""

    def __init__(self, max_time_difference: float) -> None:
        self._source = ExternalKeypointSource(max_time_difference=max_time_difference)
        self._lock = threading.Lock()

    def submit(
        self, timestamp: float, keypoints: np.ndarray, scores: np.ndarray | None, boxes: np.ndarray | None
    ) -> None:
        with self._lock:
            self._source.submit(timestamp, keypoints, scores, boxes)

    def detect(self, image_rgb: np.ndarray, timestamp: float) -> list[PersonKeypoints]:
        with self._lock:
            return self._source.detect(image_rgb, timestamp)

    def close(self) -> None:
        with self._lock:
            self._source.close()
