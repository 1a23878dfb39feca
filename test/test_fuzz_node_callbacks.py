"""Property-based checks of lihmr_node's input handling: garbage is counted and logged, never raised.

Two real nodes run in this process (raw and compressed image transport,
torch backend, keypoints from the ``keypoints`` topic so no detector runs).
Each hypothesis example is handed to the node's own callbacks: the
subscription callbacks for camera_info and keypoints, and the worker's per-image
step (what the worker thread runs for every image it takes), so an example
that would raise there is a failure of this test, not a line in a log.
Expected outcome per example, checked against the conversion functions:
unusable input raises the node's ``bad input`` counter by exactly one, usable
input is processed, and nothing ends up in the ``failed`` counter (which is
for faults of the pipeline, not of the input).  The conversions themselves
are fuzzed in test_imaging_fuzz.py and test_fuzz_camera_info.py.
"""

from __future__ import annotations

import array
import itertools
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import cv2
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lihmr_ros.body import load_template
from lihmr_ros.geometry.intrinsics import CameraIntrinsics
from lihmr_ros.imaging import SUPPORTED_ENCODINGS, ImageConversionError, compressed_to_rgb, image_to_rgb
from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet

WINDOW = 2
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_stamps = itertools.count(1)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    network = LIHMRNet(NetworkConfig(window=WINDOW), load_template()).eval()
    return save_checkpoint(tmp_path_factory.mktemp("weights") / "random.safetensors", network)


@pytest.fixture(scope="module")
def nodes(checkpoint: Path) -> Iterator[dict[str, Any]]:
    import rclpy
    from rclpy.parameter import Parameter

    from lihmr_ros.ros.node import LihmrNode

    context = rclpy.Context()
    rclpy.init(context=context)
    common = {"weights": str(checkpoint), "window": WINDOW, "backend": "torch", "device": "cpu",
              "keypoint_source": "topic", "tracker.min_hits": 1}
    started = {}
    try:
        for transport in ("raw", "compressed"):
            values = {**common, "image_transport": transport}
            overrides = [Parameter(name, value=value) for name, value in values.items()]
            started[transport] = LihmrNode(context=context, namespace=f"/fuzz_{transport}",
                                           parameter_overrides=overrides)
        yield started
    finally:
        for node in started.values():
            node.shutdown()
            node.destroy_node()
        rclpy.shutdown(context=context)


def totals(node: Any) -> tuple[int, int, int]:
    """(bad input, failures, processed) since the node started."""
    snapshot = node._statistics.snapshot()
    return snapshot.total_bad_input, snapshot.total_failures, snapshot.total_processed


def next_stamp(message: Any) -> float:
    """Give ``message`` a stamp later than every earlier one (the pipeline needs time order); returns it in s."""
    seconds = next(_stamps)
    message.header.stamp.sec = seconds
    message.header.stamp.nanosec = 0
    return float(seconds)


def run_worker_step(node: Any, message: Any) -> None:
    """What the worker thread does with one image taken from the mailbox."""
    from lihmr_ros.ros.node import ReceivedImage

    node._process(ReceivedImage(message, node.get_clock().now().to_msg(), time.monotonic()))


def expect_counted(node: Any, action: Callable[[], None], unusable: bool, is_image: bool = True) -> None:
    """Run ``action``; unusable input must add one bad-input count, a usable image one processed image."""
    bad_before, failed_before, processed_before = totals(node)
    action()
    bad, failed, processed = totals(node)
    assert failed == failed_before, "input problems must not count as pipeline failures"
    assert bad - bad_before == int(unusable)
    assert processed - processed_before == int(is_image and not unusable)


def raw_image(height: int, width: int, encoding: str, step: int, data: bytes, is_bigendian: bool = False):
    from sensor_msgs.msg import Image

    message = Image(height=height, width=width, encoding=encoding, step=step, is_bigendian=is_bigendian)
    message.data = array.array("B", data)
    next_stamp(message)
    return message


def good_image(width: int = 96, height: int = 72):
    rgb = np.random.default_rng(width * height).integers(0, 255, (height, width, 3), dtype=np.uint8)
    return raw_image(height, width, "rgb8", width * 3, rgb.tobytes())


def converts(convert: Callable[[Any], np.ndarray], message: Any) -> bool:
    try:
        convert(message)
    except ImageConversionError:
        return False
    return True


@SETTINGS
@given(
    encoding=st.one_of(st.sampled_from(SUPPORTED_ENCODINGS), st.sampled_from(["bayer_rggb8", "", "RGB8", "jpeg"]),
                       st.text(max_size=10)),
    height=st.integers(0, 40),
    width=st.integers(0, 40),
    step=st.integers(0, 200),
    is_bigendian=st.booleans(),
    data=st.binary(max_size=4000),
)
def test_any_raw_image_is_processed_or_counted_as_bad_input(
    nodes, encoding: str, height: int, width: int, step: int, is_bigendian: bool, data: bytes
) -> None:
    node = nodes["raw"]
    message = raw_image(height, width, encoding, step, data, is_bigendian)
    expect_counted(node, lambda: run_worker_step(node, message), unusable=not converts(image_to_rgb, message))


@pytest.mark.parametrize(
    ("height", "width", "data_bytes", "usable"),
    [
        (100_000, 100_000, 64, False),  # a header claiming 30 GB, with almost no data
        (4_294_967_295, 1, 16, False),  # the largest uint32 height
        (3000, 4000, 3000 * 4000 * 3, True),  # a real 12-megapixel frame
    ],
)
def test_huge_images_are_handled(nodes, height: int, width: int, data_bytes: int, usable: bool) -> None:
    node = nodes["raw"]
    message = raw_image(height, width, "rgb8", width * 3 if width * 3 < 2**32 else 0, bytes(data_bytes))
    expect_counted(node, lambda: run_worker_step(node, message), unusable=not usable)


def encoded(codec: str) -> bytes:
    rgb = np.random.default_rng(5).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    ok, data = cv2.imencode(f".{codec}", rgb)
    assert ok
    return data.tobytes()


@st.composite
def compressed_payloads(draw: st.DrawFn) -> bytes:
    """Random bytes, or a real JPEG/PNG cut short or with bytes overwritten."""
    kind = draw(st.sampled_from(["random", "truncated", "overwritten"]))
    if kind == "random":
        return draw(st.binary(max_size=300))
    payload = encoded(draw(st.sampled_from(["jpg", "png"])))
    if kind == "truncated":
        return payload[: draw(st.integers(0, len(payload) - 1))]
    position = draw(st.integers(0, len(payload) - 1))
    patch = draw(st.binary(min_size=1, max_size=32))
    return payload[:position] + patch + payload[position + len(patch):]


@SETTINGS
@given(fmt=st.sampled_from(["jpeg", "png", "", "rgb8; jpeg compressed bgr8", "theora", "png; 16UC1"]),
       data=compressed_payloads())
def test_any_compressed_image_is_processed_or_counted_as_bad_input(nodes, fmt: str, data: bytes) -> None:
    from sensor_msgs.msg import CompressedImage

    node = nodes["compressed"]
    message = CompressedImage(format=fmt)
    message.data = array.array("B", data)
    next_stamp(message)
    expect_counted(node, lambda: run_worker_step(node, message), unusable=not converts(compressed_to_rgb, message))


def refused_camera_info(message: Any) -> bool:
    try:
        CameraIntrinsics.from_camera_info(message)
    except ValueError:
        return True
    return False


@SETTINGS
@given(
    k=st.lists(st.one_of(st.floats(), st.floats(-2000, 2000), st.just(0.0)), min_size=9, max_size=9),
    width=st.integers(0, 10_000),
    height=st.integers(0, 10_000),
)
def test_any_camera_info_is_used_or_counted_and_images_still_process(nodes, k: list[float], width: int,
                                                                      height: int) -> None:
    from sensor_msgs.msg import CameraInfo

    node = nodes["raw"]
    message = CameraInfo(width=width, height=height, k=k)
    expect_counted(node, lambda: node._on_camera_info(message), unusable=refused_camera_info(message),
                   is_image=False)
    expect_counted(node, lambda: run_worker_step(node, good_image()), unusable=False)


finite32 = st.floats(-1e4, 1e4, width=32)
any32 = st.floats(width=32)


@st.composite
def keypoint_messages(draw: st.DrawFn):
    """A keypoints message of 0-3 people: mostly well-formed, with NaN, huge values and wrong lengths."""
    from lihmr_ros.msg import HumanMesh, HumanMeshArray

    message = HumanMeshArray()
    for _ in range(draw(st.integers(0, 3))):
        person = HumanMesh()
        joints = draw(st.sampled_from([34, 34, 34, 0, 17, 36]))
        values = st.one_of(finite32, any32) if draw(st.booleans()) else finite32
        person.joints2d = array.array("f", draw(st.lists(values, min_size=joints, max_size=joints)))
        confidences = draw(st.sampled_from([17, 17, 17, 16]))
        person.joint_confidence = array.array(
            "f", draw(st.lists(st.one_of(st.floats(0, 1, width=32), any32), min_size=confidences,
                               max_size=confidences)))
        person.score = draw(any32)
        person.bbox_x_min, person.bbox_y_min, person.bbox_x_max, person.bbox_y_max = draw(
            st.lists(finite32, min_size=4, max_size=4))
        message.humans.append(person)
    return message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=keypoint_messages())
def test_any_keypoints_message_is_used_or_counted_and_never_breaks_the_pipeline(nodes, message) -> None:
    node = nodes["raw"]
    image = good_image(160, 120)
    message.header.stamp = image.header.stamp  # the matching image follows, as a real detector's would
    bad_before, failed_before, processed_before = totals(node)
    node._on_keypoints(message)
    run_worker_step(node, image)
    bad, failed, processed = totals(node)
    assert failed == failed_before and bad - bad_before in (0, 1)
    assert processed == processed_before + 1, "the image must be processed whatever the keypoints were"


def test_repeated_bad_images_are_logged_once_per_interval(nodes, capfd: pytest.CaptureFixture[str]) -> None:
    from lihmr_ros.ros.node import WARNING_THROTTLE_S

    node = nodes["raw"]
    time.sleep(WARNING_THROTTLE_S)  # let the throttle of earlier tests' warnings run out
    capfd.readouterr()
    for _ in range(5):
        run_worker_step(node, raw_image(4, 4, "bayer_grbg8", 4, bytes(16)))
    logged = capfd.readouterr().err.count("skipping an input image: unsupported image encoding 'bayer_grbg8'")
    assert logged == 1, f"expected one rate-limited warning for five bad images, got {logged}"
