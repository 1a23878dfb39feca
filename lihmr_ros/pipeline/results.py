"""What the streaming pipeline returns for one image.

Plain numpy records, free of ROS, so the node, offline bag replay and the
evaluation command all read the same values; the ROS layer only copies them
into messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lihmr_ros.geometry.intrinsics import CameraIntrinsics

STAGES: tuple[str, ...] = ("keypoints", "tracking", "crops", "encode", "infer", "placement", "total")
"""Names of the timed stages, in processing order (``total`` covers the whole call)."""


@dataclass(frozen=True)
class PersonResult:
    """One tracked person's mesh in one image, placed in the camera optical frame (metres, pixels)."""

    track_id: int
    score: float
    """Detection score of the person's 2D keypoints, in [0, 1]."""
    window_frames: int
    """Real (not padded) frames in the person's window, at most the network's window length."""
    vertices: np.ndarray
    """(V, 3) float32 full mesh, absolute camera-frame positions."""
    joints3d: np.ndarray
    """(17, 3) float32 COCO-17 joints regressed from the mesh, absolute."""
    joints2d: np.ndarray
    """(17, 2) float32 detected 2D keypoints in image pixels (what the mesh was fitted to)."""
    joint_confidence: np.ndarray
    """(17,) float32 confidence of each detected keypoint."""
    root: np.ndarray
    """(3,) float64 mid-hip position, camera frame."""
    root_is_metric: bool
    """False when the camera was assumed (no intrinsics): the distance is a guess."""
    placement_method: str
    """``keypoints`` (reprojection fit) or ``box_prior`` (too few confident keypoints)."""
    reprojection_rms_px: float
    box: np.ndarray
    """(4,) float32 ``(x0, y0, x1, y1)`` person box in pixels."""
    shape_params: np.ndarray
    """(P,) float32 body-model shape parameters."""
    ground_scale: float = 0.0
    """Factor by which standing on the known floor rescaled the network's body (and its distance);
    0 when the floor did not set it (none configured, assumed camera, no ankle seen yet on this track)."""


@dataclass(frozen=True)
class FrameResult:
    """Everything one :meth:`StreamingPipeline.process` call produced."""

    timestamp: float
    image_width: int
    image_height: int
    camera: CameraIntrinsics
    """The intrinsics used (given, resized to the image, or assumed)."""
    people: list[PersonResult]
    """Tracked people with a mesh in this image, by ascending track id."""
    ended_track_ids: list[int]
    """Tracks that ended with this image (their markers should be deleted)."""
    detections: int
    """People the keypoint source reported, before tracking (tentative tracks have no mesh yet)."""
    encoded_crops: int
    """Crops the image encoder ran on: one per tracked person, earlier frames come from the cache."""
    failed_placements: int
    """Tracked people dropped because no root translation could be solved."""
    timings_ms: dict[str, float] = field(default_factory=dict)
    """Milliseconds per stage of :data:`STAGES`."""
