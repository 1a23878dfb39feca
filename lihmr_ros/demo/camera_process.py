"""A stand-in camera driver: publishes recorded footage as ``sensor_msgs/Image`` + ``CameraInfo`` at a steady rate.

Run as its own process (``python -m lihmr_ros.demo.camera_process ...``) so
that the node sees exactly what a real driver would give it: images over DDS
from another process, stamped with the capture (publish) time, with the
matching ``CameraInfo``. It waits until the expected number of subscribers
(the node, a recorder) have matched, plus a moment for discovery to finish on
their side, so no frame is lost to discovery, then keeps a fixed period; if the machine is too busy to
keep up it publishes late rather than in bursts, and counts those frames.

On exit it prints one JSON line to stdout (``published``, ``late``,
``first_stamp_ns``, ``last_stamp_ns``, ``width``, ``height``) for the
process that started it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import Sequence

from lihmr_ros.geometry.intrinsics import CameraIntrinsics

SUBSCRIBER_WAIT_S = 60.0
"""How long to wait for the expected subscribers before giving up (the node may still be loading)."""

DEFAULT_FRAME_ID = "camera_optical_frame"

DISCOVERY_SETTLE_S = 1.0
"""Pause after the subscribers matched: DDS discovery is asymmetric, so a reader may still be matching this
writer when the writer already counts it, and a best-effort first frame would be lost."""

ACK_WAIT_S = 5.0
"""Longest wait at the end for subscribers to acknowledge the last reliable frames."""


@dataclass(frozen=True)
class CameraSettings:
    """What the camera publishes and how."""

    source: str
    fps: float
    max_frames: int | None
    start: int
    width: int
    height: int
    intrinsics: CameraIntrinsics
    image_topic: str
    camera_info_topic: str
    frame_id: str


def camera_intrinsics(width: int, height: int, fx: float | None, fy: float | None,
                      cx: float | None, cy: float | None) -> CameraIntrinsics:
    """The published K: the given values, else fx = fy = image width and the image centre.

    fx = width is a ~53 degree horizontal field of view, typical of webcams and
    robot RGB cameras, and the same focal length the node assumes without a
    ``CameraInfo``; recorded footage comes without calibration, so this is a
    plausible stand-in, not the true camera.
    """
    focal_x = float(fx) if fx is not None else float(fy if fy is not None else width)
    focal_y = float(fy) if fy is not None else focal_x
    return CameraIntrinsics(
        fx=focal_x, fy=focal_y,
        cx=float(cx) if cx is not None else (width - 1) / 2.0,
        cy=float(cy) if cy is not None else (height - 1) / 2.0,
        width=width, height=height,
    )


def add_camera_arguments(parser: argparse.ArgumentParser) -> None:
    """The footage and intrinsics options, shared by this process and ``lihmr demo``."""
    parser.add_argument("--input", default="demo",
                        help="video file, image file, folder of images, or 'demo' (vtest.avi pedestrians plus "
                             "messi5.jpg and basketball1/2.png from opencv-doc); default: demo")
    parser.add_argument("--fps", type=float, default=15.0, help="publishing rate in Hz (default 15)")
    parser.add_argument("--frames", type=int, default=None, help="publish at most this many frames")
    parser.add_argument("--start", type=int, default=0, help="first video frame / image index to publish")
    parser.add_argument("--size", default=None, metavar="WxH",
                        help="published image size; frames are letterboxed to it (default: 640x480 for the demo "
                             "footage, else the input's own size)")
    for name in ("fx", "fy", "cx", "cy"):
        parser.add_argument(f"--{name}", type=float, default=None,
                            help=f"camera matrix {name} in pixels of the published size "
                                 "(default: fx = fy = width, principal point at the centre)")
    parser.add_argument("--frame-id", default=DEFAULT_FRAME_ID, help=f"header frame_id (default {DEFAULT_FRAME_ID})")


def parse_size(text: str) -> tuple[int, int]:
    """``"640x480"`` -> (640, 480), with an error that shows the expected form."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--size must look like 640x480, got {text!r}") from None
    if width < 16 or height < 16:
        raise ValueError(f"--size must be at least 16x16, got {text!r}")
    return width, height


def settings_from_arguments(args: argparse.Namespace, image_topic: str, camera_info_topic: str) -> CameraSettings:
    """Validate the camera options; raises ValueError / FileNotFoundError with the option named."""
    from lihmr_ros.demo.frames import DEMO_REEL_NAME, clips_for_input, native_size

    if not args.fps > 0:
        raise ValueError(f"--fps must be positive, got {args.fps}")
    if args.frames is not None and args.frames < 1:
        raise ValueError(f"--frames must be at least 1, got {args.frames}")
    if args.start < 0:
        raise ValueError(f"--start must be >= 0, got {args.start}")
    clips = clips_for_input(args.input, args.frames, args.start)
    if args.size is not None:
        width, height = parse_size(args.size)
    elif args.input == DEMO_REEL_NAME:
        width, height = 640, 480
    else:
        width, height = native_size(clips[0])
    return CameraSettings(
        source=args.input, fps=args.fps, max_frames=args.frames, start=args.start, width=width, height=height,
        intrinsics=camera_intrinsics(width, height, args.fx, args.fy, args.cx, args.cy),
        image_topic=image_topic, camera_info_topic=camera_info_topic, frame_id=args.frame_id,
    )


def settings_to_arguments(settings: CameraSettings) -> list[str]:
    """Command-line arguments that make this process use ``settings`` (the inverse of parsing)."""
    k = settings.intrinsics
    arguments = [
        "--input", settings.source, "--fps", repr(settings.fps), "--start", str(settings.start),
        "--size", f"{settings.width}x{settings.height}",
        "--fx", repr(k.fx), "--fy", repr(k.fy), "--cx", repr(k.cx), "--cy", repr(k.cy),
        "--frame-id", settings.frame_id, "--image-topic", settings.image_topic,
        "--camera-info-topic", settings.camera_info_topic,
    ]
    if settings.max_frames is not None:
        arguments += ["--frames", str(settings.max_frames)]
    return arguments


def camera_info_message(intrinsics: CameraIntrinsics, frame_id: str):
    """A ``sensor_msgs/CameraInfo`` for an undistorted pinhole camera with these intrinsics."""
    from sensor_msgs.msg import CameraInfo

    message = CameraInfo()
    message.header.frame_id = frame_id
    message.width, message.height = intrinsics.width, intrinsics.height
    message.distortion_model = "plumb_bob"
    message.d = [0.0] * 5
    k = intrinsics
    message.k = [k.fx, 0.0, k.cx, 0.0, k.fy, k.cy, 0.0, 0.0, 1.0]
    message.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    message.p = [k.fx, 0.0, k.cx, 0.0, 0.0, k.fy, k.cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return message


def publish(settings: CameraSettings, wait_subscribers: int) -> dict[str, int]:
    """Publish every frame at ``settings.fps`` once each topic has ``wait_subscribers``; returns the exit report."""
    import rclpy
    from rclpy.duration import Duration
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image

    from lihmr_ros.demo.frames import clips_for_input, read_frames
    from lihmr_ros.imaging import rgb_to_image

    clips = clips_for_input(settings.source, settings.max_frames, settings.start)
    node = rclpy.create_node("lihmr_demo_camera")
    report = {"published": 0, "late": 0, "first_stamp_ns": 0, "last_stamp_ns": 0,
              "width": settings.width, "height": settings.height}
    try:
        # Reliable, like many camera drivers: the node's best-effort (sensor-data) subscription
        # still matches it, and the recorder's reliable one keeps every frame for the bag.
        camera_qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        images = node.create_publisher(Image, settings.image_topic, camera_qos)
        infos = node.create_publisher(CameraInfo, settings.camera_info_topic, camera_qos)
        _wait_for_subscribers(node, (images, infos), wait_subscribers)
        time.sleep(DISCOVERY_SETTLE_S)
        camera_info = camera_info_message(settings.intrinsics, settings.frame_id)
        period = 1.0 / settings.fps
        next_due = time.monotonic()
        for rgb in read_frames(clips, settings.width, settings.height):
            delay = next_due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -period:  # fell behind by a whole frame: count it, restart the schedule
                report["late"] += 1
                next_due = time.monotonic()
            next_due += period
            stamp = node.get_clock().now()
            image = Image()
            image.header.stamp = stamp.to_msg()
            image.header.frame_id = settings.frame_id
            rgb_to_image(rgb, "rgb8").apply_to(image)
            camera_info.header.stamp = image.header.stamp
            infos.publish(camera_info)
            images.publish(image)
            report["published"] += 1
            report["last_stamp_ns"] = stamp.nanoseconds
            report["first_stamp_ns"] = report["first_stamp_ns"] or stamp.nanoseconds
        # Reliable delivery ends with this process: without waiting for the acknowledgements,
        # the last frames can vanish before the recorder has them.
        for publisher in (images, infos):
            publisher.wait_for_all_acked(Duration(seconds=ACK_WAIT_S))
    finally:
        node.destroy_node()
    return report


def _wait_for_subscribers(node, publishers, count: int) -> None:
    deadline = time.monotonic() + SUBSCRIBER_WAIT_S
    while any(p.get_subscription_count() < count for p in publishers):
        if time.monotonic() > deadline:
            found = [p.get_subscription_count() for p in publishers]
            raise TimeoutError(f"camera: expected {count} subscribers on {[p.topic_name for p in publishers]} "
                               f"within {SUBSCRIBER_WAIT_S:.0f} s, found {found}")
        time.sleep(0.05)


def main(argv: Sequence[str] | None = None) -> int:
    """Process entry point; exit status 0 when every frame was published, 2 on bad options."""
    parser = argparse.ArgumentParser(prog="python -m lihmr_ros.demo.camera_process", description=__doc__.split("\n")[0])
    add_camera_arguments(parser)
    parser.add_argument("--image-topic", default="/camera/image_raw")
    parser.add_argument("--camera-info-topic", default="/camera/camera_info")
    parser.add_argument("--wait-subscribers", type=int, default=1,
                        help="subscribers each topic must have before the first frame (default 1)")
    args = parser.parse_args(argv)
    try:
        settings = settings_from_arguments(args, args.image_topic, args.camera_info_topic)
    except (ValueError, FileNotFoundError) as error:
        print(f"camera: {error}", file=sys.stderr)
        return 2

    import rclpy

    rclpy.init()
    try:
        report = publish(settings, args.wait_subscribers)
    except KeyboardInterrupt:
        return 130
    except TimeoutError as error:
        print(str(error), file=sys.stderr)
        return 1
    finally:
        rclpy.try_shutdown()
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
