"""The demo's parts without running the system: footage, camera model, CDR stamps, PLY files, summary numbers."""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import pytest
from rclpy.serialization import serialize_message

from lihmr_ros.bag import BagWriter
from lihmr_ros.commands.demo import parse_node_parameters
from lihmr_ros.demo.camera_process import (
    add_camera_arguments,
    camera_info_message,
    camera_intrinsics,
    parse_size,
    settings_from_arguments,
    settings_to_arguments,
)
from lihmr_ros.demo.frames import OPENCV_DATA_DIR, clips_for_input, letterbox, read_frames
from lihmr_ros.demo.outputs import snapshot_indices, write_ply
from lihmr_ros.demo.recorder import header_stamp_ns
from lihmr_ros.demo.summary import summarize
from lihmr_ros.msg import HumanMesh, HumanMeshArray

MESSI = OPENCV_DATA_DIR / "messi5.jpg"
VTEST = OPENCV_DATA_DIR / "vtest.avi"


def _parse(arguments: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_camera_arguments(parser)
    parser.add_argument("--image-topic", default="/img")
    parser.add_argument("--camera-info-topic", default="/info")
    return parser.parse_args(arguments)


def test_letterbox_keeps_proportions_and_centres() -> None:
    image = np.full((100, 200, 3), 255, np.uint8)  # 2:1 into 4:3
    boxed = letterbox(image, 64, 48)
    assert boxed.shape == (48, 64, 3)
    rows = np.flatnonzero(boxed[:, 32, 0] > 128)
    assert (rows.min(), rows.max()) == (8, 39), "32 content rows centred in 48"
    assert letterbox(image, 200, 100) is image


@pytest.mark.skipif(not VTEST.is_file(), reason="opencv-doc not installed")
def test_demo_reel_and_inputs() -> None:
    clips = clips_for_input("demo", max_frames=160)
    assert [(c.path.name, c.count) for c in clips] == [("vtest.avi", 150), ("messi5.jpg", 10)]
    frames = list(read_frames(clips_for_input(str(VTEST), max_frames=3, start=100), 320, 240))
    assert len(frames) == 3 and all(f.shape == (240, 320, 3) for f in frames)
    direct = cv2.VideoCapture(str(VTEST))
    direct.set(cv2.CAP_PROP_POS_FRAMES, 100)
    expected = cv2.resize(cv2.cvtColor(direct.read()[1], cv2.COLOR_BGR2RGB), (320, 240), interpolation=cv2.INTER_AREA)
    direct.release()
    np.testing.assert_array_equal(frames[0], expected)
    still = clips_for_input(str(MESSI), max_frames=4)
    assert len(list(read_frames(still, 64, 48))) == 4


def test_image_folder_and_bad_inputs(tmp_path: Path) -> None:
    for index in range(3):
        cv2.imwrite(str(tmp_path / f"frame_{index:02d}.png"), np.full((20, 30, 3), index * 40, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    frames = list(read_frames(clips_for_input(str(tmp_path), max_frames=None, start=1), 30, 20))
    assert [int(f[0, 0, 0]) for f in frames] == [40, 80]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        clips_for_input(str(tmp_path / "missing.avi"), None)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        clips_for_input(str(empty), None)


def test_camera_model_defaults_and_overrides() -> None:
    default = camera_intrinsics(640, 480, None, None, None, None)
    assert (default.fx, default.fy, default.cx, default.cy) == (640.0, 640.0, 319.5, 239.5)
    given = camera_intrinsics(640, 480, 500.0, None, 300.0, None)
    assert (given.fx, given.fy, given.cx, given.cy) == (500.0, 500.0, 300.0, 239.5)
    info = camera_info_message(given, "camera_optical_frame")
    assert list(info.k) == [500.0, 0.0, 300.0, 0.0, 500.0, 239.5, 0.0, 0.0, 1.0]
    assert info.p[0] == 500.0 and info.p[2] == 300.0 and info.header.frame_id == "camera_optical_frame"
    assert parse_size("800X600") == (800, 600)
    for bad in ("800", "axb", "8x8"):
        with pytest.raises(ValueError, match="--size"):
            parse_size(bad)


@pytest.mark.skipif(not MESSI.is_file(), reason="opencv-doc not installed")
def test_camera_settings_survive_the_command_line() -> None:
    settings = settings_from_arguments(_parse(["--input", str(MESSI), "--fps", "12.5", "--frames", "7", "--fx", "700"]),
                                       "/img", "/info")
    assert (settings.width, settings.height) == (548, 342), "an input's own size by default"
    arguments = settings_to_arguments(settings)
    again = settings_from_arguments(_parse(arguments), "/img", "/info")
    assert again == settings
    with pytest.raises(ValueError, match="--fps"):
        settings_from_arguments(_parse(["--input", str(MESSI), "--fps", "0"]), "/img", "/info")


def test_node_parameters_need_the_ros_separator() -> None:
    assert parse_node_parameters(["max_people:=2", "backend:=torch"]) == {"max_people": "2", "backend": "torch"}
    with pytest.raises(ValueError, match="NAME:=VALUE"):
        parse_node_parameters(["max_people=2"])


def test_header_stamp_is_read_from_cdr_bytes() -> None:
    message = HumanMeshArray(body_model="anny")
    message.header.stamp.sec, message.header.stamp.nanosec = 1_795_000_000, 123_456_789
    message.humans = [HumanMesh(track_id=3)]
    assert header_stamp_ns(serialize_message(message)) == 1_795_000_000_123_456_789
    with pytest.raises(ValueError, match="little-endian"):
        header_stamp_ns(b"\x00\x00\x00\x00" + bytes(8))


def test_snapshots_prefer_frames_with_people() -> None:
    stamps = [10, 20, 30, 40, 50, 60, 70]
    assert snapshot_indices(stamps, {30, 40, 60}, 3) == [2, 3, 5]
    assert snapshot_indices(stamps, {30, 40, 60}, 2) == [2, 5]
    assert snapshot_indices(stamps, {30}, 3) == [0, 3, 6], "too few frames with people: spread over all"
    assert snapshot_indices(stamps[:2], set(), 3) == [0, 1]
    assert snapshot_indices(stamps, {30}, 0) == []


def test_ply_file_is_valid(tmp_path: Path) -> None:
    vertices = np.array([[0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 2]], np.float32)
    faces = np.array([0, 1, 2, 2, 1, 3], np.uint32)
    write_ply(tmp_path / "mesh.ply", vertices, faces)
    raw = (tmp_path / "mesh.ply").read_bytes()
    header, body = raw.split(b"end_header\n", 1)
    assert b"element vertex 4" in header and b"element face 2" in header
    np.testing.assert_array_equal(np.frombuffer(body[:48], "<f4").reshape(4, 3), vertices)
    records = np.frombuffer(body[48:], dtype=[("count", "u1"), ("indices", "<i4", (3,))])
    assert records["count"].tolist() == [3, 3] and records["indices"].reshape(-1).tolist() == faces.tolist()
    with pytest.raises(ValueError, match="out of range"):
        write_ply(tmp_path / "bad.ply", vertices, np.array([0, 1, 4]))


def _diagnostics(stamp_s: int, total_processed: int, keypoints_ms: float):
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    status = DiagnosticStatus(name="/lihmr/lihmr_node: pipeline")
    status.values = [KeyValue(key="total_processed", value=str(total_processed)),
                     KeyValue(key="total_dropped", value="1"),
                     KeyValue(key="stage_keypoints_mean_ms", value=str(keypoints_ms)),
                     KeyValue(key="stage_total_mean_ms", value=str(2 * keypoints_ms))]
    other = DiagnosticStatus(name="/camera_driver: status",
                             values=[KeyValue(key="stage_keypoints_mean_ms", value="999")])
    message = DiagnosticArray(status=[other, status])
    message.header.stamp.sec = stamp_s
    return message


def test_summary_numbers_from_a_known_bag(tmp_path: Path) -> None:
    """Four results at 10 Hz with latencies 20/40/60/80 ms; diagnostics over 1 then 3 processed images."""
    second = 1_000_000_000
    with BagWriter(tmp_path / "bag") as writer:
        writer.add_topic("/humans", "lihmr_ros/msg/HumanMeshArray")
        writer.add_topic("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray")
        for index, (people, latency_ms) in enumerate([(0, 20), (1, 40), (2, 60), (1, 80)]):
            message = HumanMeshArray()
            stamp_ns = 100 * second + index * 100_000_000
            message.header.stamp.sec, message.header.stamp.nanosec = divmod(stamp_ns, second)
            message.humans = [HumanMesh(track_id=track) for track in (7, 9)[:people]]
            writer.write_raw("/humans", stamp_ns + latency_ms * 1_000_000, serialize_message(message))
        writer.write_raw("/diagnostics", 101 * second, serialize_message(_diagnostics(101, 1, 10.0)))
        writer.write_raw("/diagnostics", 102 * second, serialize_message(_diagnostics(102, 4, 30.0)))
    summary = summarize(tmp_path / "bag", "/humans", "/diagnostics", frames_in=6, input_fps=10.0)
    assert (summary["frames_in"], summary["frames_out"], summary["dropped"]) == (6, 4, 2)
    assert summary["fps"] == pytest.approx(3 / 0.36, abs=0.01), "3 intervals over 360 ms of arrivals"
    assert summary["latency_ms_p50"] == pytest.approx(50.0)
    assert summary["latency_ms_p95"] == pytest.approx(77.0)
    assert (summary["people_max"], summary["people_mean"], summary["frames_with_people"]) == (2, 1.0, 3)
    assert summary["tracks"] == 2 and summary["track_frames"] == {"7": 3, "9": 1}
    assert summary["stage_ms"] == {"keypoints": 25.0, "total": 50.0}, "(1 x 10 + 3 x 30) / 4; other nodes ignored"
    assert summary["node_totals"] == {"processed": 4, "dropped": 1}


def test_shipped_fastdds_profile_fits_a_camera_image_in_shared_memory() -> None:
    import xml.etree.ElementTree as ElementTree

    from lihmr_ros.demo.transport import fastdds_profile

    namespace = {"dds": "http://www.eprosima.com"}
    root = ElementTree.parse(fastdds_profile()).getroot()
    shm = next(d for d in root.iterfind(".//dds:transport_descriptor", namespace)
               if d.findtext("dds:type", namespaces=namespace) == "SHM")
    assert int(shm.findtext("dds:segment_size", namespaces=namespace)) >= 1920 * 1080 * 3
    udp_addresses = [a.text for a in root.iterfind(".//dds:interfaceWhiteList/dds:address", namespace)]
    assert udp_addresses == ["127.0.0.1"]  # DDS traffic never leaves the machine
