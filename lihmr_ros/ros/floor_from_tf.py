"""The floor from TF, for cameras that move relative to it (pan-tilt heads, torso lifts).

A robot publishes where its floor frame (``base_footprint``: z up, the floor at
z = 0) is relative to its camera; looking that transform up at each image's
stamp gives the floor as the camera saw it. tf2_ros ships with every ROS 2
installation but has no wheel in the pip route of this package, so it is
imported only when ``ground.frame`` asks for it, and its absence is a start-up
error that names the alternative (the static mount parameters).
"""

from __future__ import annotations

from typing import Any

from lihmr_ros.geometry.ground import GroundPlane, rotation_from_quaternion
from lihmr_ros.ros.settings import SettingsError

LOOKUP_TIMEOUT_S = 0.1
"""How long the worker waits for the transform at an image's stamp (TF often lags the camera slightly)."""


class FloorFromTf:
    """Looks up the floor frame in the camera frame at image stamps."""

    def __init__(self, node: Any, floor_frame: str) -> None:
        """Starts a TF listener on ``node``; raises :class:`SettingsError` when tf2_ros is not installed."""
        try:
            from tf2_ros import Buffer, TransformListener
        except ImportError as error:
            raise SettingsError(
                f"invalid parameter 'ground.frame' ({floor_frame!r}): the floor from TF needs tf2_ros "
                f"(apt: ros-<distro>-tf2-ros), which cannot be imported here ({error}); for a camera fixed to "
                "the robot give its mount with ground.camera_height, ground.camera_pitch_deg and "
                "ground.camera_roll_deg instead"
            ) from error
        self.floor_frame = floor_frame
        self._buffer = Buffer()
        self._listener = TransformListener(self._buffer, node)

    def floor_at(self, camera_frame: str, stamp: Any) -> GroundPlane:
        """The floor in ``camera_frame`` at ``stamp`` (a ``builtin_interfaces/Time``); raises LookupError with
        TF's reason when the transform is not available, ValueError when it puts the camera below the floor."""
        from rclpy.duration import Duration
        from rclpy.time import Time
        from tf2_ros import TransformException

        if not camera_frame:
            raise LookupError("the image has no header.frame_id (set the frame_id parameter)")
        try:
            transform = self._buffer.lookup_transform(
                camera_frame, self.floor_frame, Time.from_msg(stamp), timeout=Duration(seconds=LOOKUP_TIMEOUT_S)
            )
        except TransformException as error:
            raise LookupError(f"no transform from '{self.floor_frame}' to '{camera_frame}': {error}") from error
        rotation, translation = transform.transform.rotation, transform.transform.translation
        return GroundPlane.from_floor_pose(
            rotation_from_quaternion(rotation.x, rotation.y, rotation.z, rotation.w),
            (translation.x, translation.y, translation.z),
        )
