"""The ROS-free streaming pipeline shared by the node, offline bag replay and evaluation.

``StreamingPipeline.process(image, timestamp, intrinsics)`` turns one camera
image into a :class:`FrameResult`: every tracked person's mesh, joints and
root in the camera optical frame, with per-stage timings.
"""

from lihmr_ros.pipeline.results import STAGES, FrameResult, PersonResult
from lihmr_ros.pipeline.streaming import StreamingPipeline, WindowEntry

__all__ = ["STAGES", "FrameResult", "PersonResult", "StreamingPipeline", "WindowEntry"]
