"""The interface the node uses to get 2D people out of an image.

MediaPipe is the default, but users with their own detector (OpenPose,
RTMPose, a TensorRT model on another machine...) publish keypoints on a topic;
both plug into the node through this one protocol, so the tracking and mesh
recovery code never knows which one it is talking to.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from lihmr_ros.keypoints.person import PersonKeypoints


class KeypointSource(Protocol):
    """Something that turns an image (and its time) into the people seen in it."""

    def detect(self, image_rgb: np.ndarray, timestamp: float) -> list[PersonKeypoints]:
        """People in ``image_rgb`` (H, W, 3) uint8 RGB taken at ``timestamp`` seconds.

        Sources may keep state between calls (tracking crops, buffered
        messages), so frames must be passed in time order.
        """
        ...

    def close(self) -> None:
        """Release models, threads or buffers held by the source."""
        ...
