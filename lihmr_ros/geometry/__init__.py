"""Camera geometry: intrinsics (calibrated or assumed) and metric placement of a body in the camera frame."""

from lihmr_ros.geometry.intrinsics import CameraIntrinsics
from lihmr_ros.geometry.placement import PlacementConfig, PlacementError, RootPlacement, place_root

__all__ = ["CameraIntrinsics", "PlacementConfig", "PlacementError", "RootPlacement", "place_root"]
