"""``lihmr bag process``: bags written here (compressed sqlite3, raw MCAP) in, complete result bags out.

The bags hold real footage (messi5.jpg, shifted a little per frame) and are
processed by the real command with the built-in BlazePose detector and a
randomly initialised checkpoint, so the checks are about replay (every
image processed, stamps, topics, intrinsics), not mesh accuracy.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from lihmr_ros.bag import BagReader, BagWriter
from lihmr_ros.body import load_template
from lihmr_ros.cli import main
from lihmr_ros.imaging import rgb_to_compressed, rgb_to_image
from lihmr_ros.model.checkpoint import save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.replay import ReplayTopicError, choose_topics, node_parameter_values
from lihmr_ros.ros.settings import SettingsError

MESSI = Path("/usr/share/doc/opencv-doc/examples/data/messi5.jpg")
WINDOW = 2
FRAMES = 5
FRAME_ID = "camera_optical_frame"
FIRST_STAMP_S = 100


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    image = cv2.imread(str(MESSI))
    if image is None:
        pytest.skip(f"{MESSI} missing (Debian package opencv-doc)")
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return [np.roll(rgb, 3 * index, axis=1) for index in range(FRAMES)]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    network = LIHMRNet(NetworkConfig(window=WINDOW), load_template()).eval()
    return save_checkpoint(tmp_path_factory.mktemp("weights") / "random.safetensors", network)


def camera_info(width: int, height: int, stamp_s: int) -> bytes:
    message = CameraInfo(width=width, height=height, k=[500.0, 0, width / 2, 0, 500.0, height / 2, 0, 0, 1])
    message.header.stamp.sec, message.header.frame_id = stamp_s, FRAME_ID
    return serialize_message(message)


def write_bag(path: Path, frames: list[np.ndarray], storage: str, compressed: bool, with_camera_info: bool,
              unstamped: tuple[int, ...] = (), unusable: tuple[int, ...] = ()) -> None:
    """A camera recording: image (+ camera_info) per frame, 100 ms apart, as ``ros2 bag record`` stores it."""
    image_topic = "/cam/image_raw/compressed" if compressed else "/cam/image_raw"
    with BagWriter(path, storage) as writer:
        writer.add_topic(image_topic, f"sensor_msgs/msg/{'CompressedImage' if compressed else 'Image'}")
        if with_camera_info:
            writer.add_topic("/cam/camera_info", "sensor_msgs/msg/CameraInfo")
        for index, rgb in enumerate(frames):
            stamp_s = FIRST_STAMP_S + index
            bag_time_ns = stamp_s * 1_000_000_000 + 5_000_000
            message = CompressedImage() if compressed else Image()
            (rgb_to_compressed(rgb) if compressed else rgb_to_image(rgb, "bgr8")).apply_to(message)
            if index not in unstamped:
                message.header.stamp.sec = stamp_s
            message.header.frame_id = FRAME_ID
            if index in unusable:
                message.encoding = "bayer_rggb8"
            if with_camera_info:
                writer.write_raw("/cam/camera_info", bag_time_ns - 1, camera_info(rgb.shape[1], rgb.shape[0], stamp_s))
            writer.write_raw(image_topic, bag_time_ns, serialize_message(message))


def run(bag: Path, out: Path, checkpoint: Path, *extra: str) -> int:
    return main(["bag", "process", str(bag), str(out), "--weights", str(checkpoint), "--quiet",
                 "--param", "backend:=torch", "--param", "device:=cpu", "--param", "tracker.min_hits:=1", *extra])


def decoded(path: Path, topic: str) -> list:
    with BagReader(path) as reader:
        return [(message.timestamp_ns, reader.decode(message)) for message in reader.messages([topic])]


def test_a_compressed_sqlite3_bag_gets_one_result_per_image_with_the_image_stamps(
    frames: list[np.ndarray], checkpoint: Path, tmp_path: Path
) -> None:
    bag, out = tmp_path / "in", tmp_path / "out"
    write_bag(bag, frames, "sqlite3", compressed=True, with_camera_info=True)
    assert run(bag, out, checkpoint) == 0
    assert any(out.glob("*.db3")), "the output keeps the input's storage format"
    with BagReader(bag) as original, BagReader(out) as result:
        for topic, count in original.counts.items():
            assert result.counts[topic] == count, f"input topic {topic} must be copied whole"
        assert result.counts["/replay/mesh_topology"] == 1
        assert result.counts["/replay/markers"] == FRAMES and "/replay/overlay" not in result.topics
    images = decoded(out, "/cam/image_raw/compressed")
    humans = decoded(out, "/replay/humans")
    assert len(humans) == len(images) == FRAMES
    for (image_time, image), (result_time, result) in zip(images, humans):
        assert result_time == image_time
        assert (result.header.stamp.sec, result.header.stamp.nanosec) == (image.header.stamp.sec, 0)
        assert result.header.frame_id == FRAME_ID
    people = [result.humans for _, result in humans if len(result.humans)]
    assert len(people) >= FRAMES - 1, "the player must be found in (nearly) every frame"
    assert all(person.root_is_metric for persons in people for person in persons), "camera_info was in the bag"
    assert len({persons[0].track_id for persons in people}) == 1


def test_a_floor_that_contradicts_the_people_is_reported_in_the_summary(
    frames: list[np.ndarray], checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As the node's test: a floor 15 m below a level camera, fully trusted, would make the player ten times
    # their size, so every sized person-frame is held at ground.max_scale and the report must say so.
    bag, out = tmp_path / "in", tmp_path / "out"
    write_bag(bag, frames, "mcap", compressed=False, with_camera_info=True)
    wrong_floor = ["ground.camera_height:=15.0", "ground.pitch_uncertainty_deg:=0.0", "ground.foot_uncertainty_m:=0.0"]
    assert run(bag, out, checkpoint, *(f for value in wrong_floor for f in ("--param", value))) == 0
    report = capsys.readouterr().out
    scales = [person.ground_scale for _, result in decoded(out, "/replay/humans") for person in result.humans]
    assert scales and all(scale == pytest.approx(1.6, rel=0.01) for scale in scales), scales
    assert f"floor   sized {len(scales)} of {len(scales)} person-frames, {len(scales)} held at" in report, report
    assert "ground.camera_height and ground.camera_pitch_deg" in report

    write_bag(tmp_path / "plain", frames, "mcap", compressed=False, with_camera_info=True)
    assert run(tmp_path / "plain", tmp_path / "plain_out", checkpoint) == 0
    plain_report = capsys.readouterr().out
    assert "\nfloor " not in plain_report and "warning" not in plain_report, "without ground.* no floor lines"


def test_without_camera_info_the_command_refuses_unless_intrinsics_are_given(
    frames: list[np.ndarray], checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "in"
    write_bag(bag, frames[:2], "mcap", compressed=False, with_camera_info=False)
    assert run(bag, tmp_path / "refused", checkpoint) == 2
    message = capsys.readouterr().out
    assert "no camera_info for /cam/image_raw" in message and "--intrinsics FX FY CX CY" in message
    assert not (tmp_path / "refused").exists()

    assert run(bag, tmp_path / "out", checkpoint, "--intrinsics", "500", "500", "274", "171", "--overlay") == 0
    humans = decoded(tmp_path / "out", "/replay/humans")
    overlays = decoded(tmp_path / "out", "/replay/overlay")
    assert len(humans) == len(overlays) == 2
    assert all(person.root_is_metric for _, result in humans for person in result.humans)
    assert (overlays[0][1].width, overlays[0][1].height) == (frames[0].shape[1], frames[0].shape[0])


def test_unusable_images_are_skipped_and_unstamped_ones_take_the_bag_time(
    frames: list[np.ndarray], checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag, out = tmp_path / "in", tmp_path / "out"
    write_bag(bag, frames[:3], "mcap", compressed=False, with_camera_info=False, unstamped=(1,), unusable=(2,))
    assert run(bag, out, checkpoint, "--assume-intrinsics", "--namespace", "/lihmr_offline") == 0
    report = capsys.readouterr().out
    assert "skipped 1 unusable images" in report and "unsupported image encoding 'bayer_rggb8'" in report
    humans = decoded(out, "/lihmr_offline/humans")
    assert len(humans) == 2
    bag_time_ns, unstamped_result = humans[1]
    assert unstamped_result.header.stamp.sec * 1_000_000_000 + unstamped_result.header.stamp.nanosec == bag_time_ns
    assert not any(person.root_is_metric for _, result in humans for person in result.humans)


def test_topic_choice_is_automatic_only_when_unambiguous() -> None:
    demo_bag = {"/camera/image_raw": "sensor_msgs/msg/Image", "/camera/camera_info": "sensor_msgs/msg/CameraInfo",
                "/lihmr/overlay": "sensor_msgs/msg/Image", "/lihmr/humans": "lihmr_ros/msg/HumanMeshArray"}
    chosen = choose_topics(demo_bag)
    assert (chosen.image, chosen.camera_info, chosen.compressed) == ("/camera/image_raw", "/camera/camera_info", False)
    two_cameras = {**demo_bag, "/left/image_raw": "sensor_msgs/msg/Image"}
    with pytest.raises(ReplayTopicError, match="/camera/image_raw, /left/image_raw.*--image-topic"):
        choose_topics(two_cameras)
    assert choose_topics(two_cameras, "/left/image_raw").camera_info is None
    with pytest.raises(ReplayTopicError, match="not in the bag"):
        choose_topics(demo_bag, "/nothing")
    with pytest.raises(ReplayTopicError, match="HumanMeshArray, not sensor_msgs"):
        choose_topics(demo_bag, "/lihmr/humans")


def test_node_parameters_come_from_the_params_file_with_overrides(tmp_path: Path) -> None:
    params = tmp_path / "robot.yaml"
    params.write_text("/robot/lihmr_node:\n  ros__parameters:\n    max_people: 2\n    tracker:\n      min_hits: 5\n"
                      "other_node:\n  ros__parameters:\n    max_people: 9\n")
    values = node_parameter_values(params, ["tracker.min_hits:=1", "frame_id:=123"])
    assert values == {"max_people": 2, "tracker.min_hits": 1, "frame_id": "123"}
    with pytest.raises(SettingsError, match="unknown parameter 'max_persons'"):
        node_parameter_values(params, ["max_persons:=3"])
    with pytest.raises(SettingsError, match="NAME:=VALUE"):
        node_parameter_values(params, ["max_people=3"])
