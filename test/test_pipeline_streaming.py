"""The streaming pipeline on real photos: tracking, cached features, batching, metric placement.

The network is a randomly initialised LIHMRNet saved with ``save_checkpoint``
(trained weights are not shipped yet): its meshes are not accurate, but every
other part (keypoints, tracking, crops, feature cache, batching, placement)
runs for real, and placement puts the body where its joints reproject onto
the detected keypoints whatever the network predicts.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from lihmr_ros.body import load_template
from lihmr_ros.geometry.ground import GroundPlane, GroundScaleConfig
from lihmr_ros.geometry.intrinsics import CameraIntrinsics
from lihmr_ros.keypoints import ExternalKeypointSource, MultiPersonBlazePose, MultiPersonConfig
from lihmr_ros.model.checkpoint import read_metadata, save_checkpoint
from lihmr_ros.model.config import NetworkConfig
from lihmr_ros.model.inputs import CropSpec
from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.pipeline import STAGES, StreamingPipeline
from lihmr_ros.runtime import create_backend
from lihmr_ros.tracking import TrackerConfig

DATA = Path("/usr/share/doc/opencv-doc/examples/data")
MESSI_PERSON_REGION = (60.0, 40.0, 480.0, 342.0)
"""(x0, y0, x1, y1) pixels of messi5.jpg (548x342) that the player covers, head to boots and both arms."""


def photo(name: str) -> np.ndarray:
    image = cv2.imread(str(DATA / name))
    if image is None:
        pytest.skip(f"{DATA / name} missing (Debian package opencv-doc)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    network = LIHMRNet(NetworkConfig(window=4), load_template()).eval()
    return save_checkpoint(tmp_path_factory.mktemp("weights") / "random.safetensors", network)


def crop_spec(checkpoint: Path) -> CropSpec:
    return read_metadata(checkpoint)["network_config"].crop


def torch_pipeline(checkpoint: Path, source, max_people: int = 4, min_hits: int = 1) -> StreamingPipeline:
    backend = create_backend("torch", checkpoint, max_people=max_people, device="cpu")
    return StreamingPipeline(backend, source, crop_spec(checkpoint), TrackerConfig(min_hits=min_hits, max_age=2))


@pytest.fixture(scope="module")
def basketball_people() -> tuple[np.ndarray, list]:
    """basketball1.png and the two players BlazePose finds in it (reused as external keypoints)."""
    image = photo("basketball1.png")
    source = MultiPersonBlazePose(MultiPersonConfig(max_people=2))
    try:
        people = source.detect(image, 0.0)
    finally:
        source.close()
    assert len(people) == 2, "BlazePose should find both basketball players"
    return image, people


def external_source_with(people: list, timestamps: list[float]) -> ExternalKeypointSource:
    source = ExternalKeypointSource(max_time_difference=0.01, buffer_size=len(timestamps))
    for timestamp in timestamps:
        source.submit(timestamp, np.stack([p.keypoints for p in people]), np.array([p.score for p in people]))
    return source


def test_messi_is_tracked_and_placed_in_front_of_the_camera(checkpoint: Path) -> None:
    image = photo("messi5.jpg")
    pipeline = torch_pipeline(checkpoint, MultiPersonBlazePose(MultiPersonConfig(max_people=2)), min_hits=3)
    try:
        results = [pipeline.process(image, frame / 30.0) for frame in range(6)]
    finally:
        pipeline.close()
    assert [len(r.people) for r in results] == [0, 0, 1, 1, 1, 1]  # an id after min_hits=3 detections
    assert {person.track_id for r in results for person in r.people} == {1}
    # The window fills up to T=4 and the encoder runs once per person per frame (earlier features cached).
    assert [r.people[0].window_frames for r in results[2:]] == [1, 2, 3, 4]
    assert [r.encoded_crops for r in results] == [0, 0, 1, 1, 1, 1]
    person, last = results[-1].people[0], results[-1]
    assert set(last.timings_ms) == set(STAGES) and all(value >= 0.0 for value in last.timings_ms.values())
    assert person.vertices.shape == (load_template().num_full_vertices, 3)
    assert np.all(np.isfinite(person.vertices)) and np.all(np.isfinite(person.joints3d))
    assert person.vertices[:, 2].min() > 0.5, "the whole body must be in front of the camera"
    assert not person.root_is_metric and last.camera.is_assumed
    x0, y0, x1, y1 = MESSI_PERSON_REGION
    seen = person.joints2d[person.joint_confidence >= 0.5]
    assert len(seen) >= 10
    assert np.all((seen[:, 0] >= x0) & (seen[:, 0] <= x1) & (seen[:, 1] >= y0) & (seen[:, 1] <= y1))
    root_pixel = last.camera.project(person.root)
    bx0, by0, bx1, by1 = person.box
    assert bx0 <= root_pixel[0] <= bx1 and by0 <= root_pixel[1] <= by1, "the mid-hip must project onto the person"


def test_calibrated_intrinsics_give_metric_roots_scaled_to_the_image(checkpoint: Path) -> None:
    image = photo("messi5.jpg")
    pipeline = torch_pipeline(checkpoint, MultiPersonBlazePose(MultiPersonConfig(max_people=1)))
    calibrated_at_double_size = CameraIntrinsics(fx=1000.0, fy=1000.0, cx=547.5, cy=341.5, width=1096, height=684)
    try:
        result = pipeline.process(image, 0.0, calibrated_at_double_size)
    finally:
        pipeline.close()
    assert (result.camera.width, result.camera.height) == (548, 342)
    assert result.camera.fx == pytest.approx(500.0)
    assert len(result.people) == 1 and result.people[0].root_is_metric


def test_batches_split_by_max_people_give_the_same_meshes(checkpoint: Path, basketball_people) -> None:
    image, people = basketball_people
    timestamps = [0.0, 0.04, 0.08]
    outputs = {}
    for max_people in (1, 2):
        pipeline = torch_pipeline(checkpoint, external_source_with(people, timestamps), max_people=max_people)
        try:
            outputs[max_people] = [pipeline.process(image, t) for t in timestamps]
        finally:
            pipeline.close()
    for one_at_a_time, batched in zip(outputs[1], outputs[2]):
        assert [p.track_id for p in batched.people] == [1, 2]
        assert batched.encoded_crops == 2
        for single, pair in zip(one_at_a_time.people, batched.people):
            np.testing.assert_allclose(single.vertices, pair.vertices, atol=1e-4)
    first, second = outputs[2][-1].people
    assert np.linalg.norm(first.root - second.root) > 0.3, "two players must be placed apart"


def test_ended_tracks_are_reported_and_their_windows_dropped(checkpoint: Path, basketball_people) -> None:
    image, people = basketball_people
    present = [0.0, 0.04]
    returning = 0.24
    pipeline = torch_pipeline(checkpoint, external_source_with(people[:1], present + [returning]))
    try:
        seen = [pipeline.process(image, t) for t in present]
        gone = [pipeline.process(image, t) for t in (0.08, 0.12, 0.16)]  # no keypoints: max_age=2 ends the track
        back = pipeline.process(image, returning)
    finally:
        pipeline.close()
    assert [p.track_id for p in seen[-1].people] == [1]
    assert [r.ended_track_ids for r in gone] == [[], [], [1]]
    assert [p.track_id for p in back.people] == [2] and back.people[0].window_frames == 1


def test_a_new_resolution_ends_every_track(checkpoint: Path, basketball_people) -> None:
    image, people = basketball_people
    pipeline = torch_pipeline(checkpoint, external_source_with(people, [0.0]))
    try:
        assert [p.track_id for p in pipeline.process(image, 0.0).people] == [1, 2]
        resized = pipeline.process(cv2.resize(image, (320, 240)), 0.04)
    finally:
        pipeline.close()
    assert resized.ended_track_ids == [1, 2] and resized.people == []


def test_bad_images_and_mismatched_crop_specs_are_refused(checkpoint: Path) -> None:
    pipeline = torch_pipeline(checkpoint, ExternalKeypointSource())
    try:
        with pytest.raises(ValueError, match="uint8 RGB"):
            pipeline.process(np.zeros((48, 64, 3), np.float32), 0.0)
        with pytest.raises(ValueError, match="uint8 RGB"):
            pipeline.process(np.zeros((0, 64, 3), np.uint8), 0.0)
        with pytest.raises(ValueError, match="finite"):
            pipeline.process(np.zeros((48, 64, 3), np.uint8), float("nan"))
        with pytest.raises(ValueError, match="crop size 64 does not match"):
            StreamingPipeline(pipeline.backend, ExternalKeypointSource(), CropSpec(size=64))
    finally:
        pipeline.close()


def test_a_known_floor_rescales_people_about_the_camera_until_they_stand_on_it(
    checkpoint: Path, basketball_people
) -> None:
    image, people = basketball_people
    camera = CameraIntrinsics(fx=600.0, fy=600.0, cx=319.5, cy=239.5, width=image.shape[1], height=image.shape[0])
    timestamps = [0.0, 0.04, 0.08]
    plain = torch_pipeline(checkpoint, external_source_with(people, timestamps))
    try:
        free = [plain.process(image, t, camera) for t in timestamps][-1].people
    finally:
        plain.close()
    # A floor 1.25x as far below the camera as the first player's lowest point: their feet must move onto it.
    level = GroundPlane.from_camera_pose(1.0, 0.0)
    floor = GroundPlane(level.normal, 1.25 * float(-np.min(free[0].vertices @ level.normal)))
    backend = create_backend("torch", checkpoint, max_people=4, device="cpu")
    source = external_source_with(people, [*timestamps, 0.12, 0.16, 0.2])
    grounded = StreamingPipeline(backend, source, crop_spec(checkpoint),
                                 TrackerConfig(min_hits=1, max_age=2), ground=floor,
                                 ground_config=GroundScaleConfig(history=1, min_ankle_confidence=0.0,
                                                                   pitch_uncertainty_deg=0.0, foot_uncertainty_m=0.0))
    try:
        placed = [grounded.process(image, t, camera) for t in timestamps][-1].people
        unknown_camera = grounded.process(image, 0.12)  # assumed intrinsics: the floor cannot be used
        grounded.ground = None  # the floor can change between frames (TF): none for this one ...
        no_floor = grounded.process(image, 0.16, camera)
        grounded.ground = floor  # ... and back: each track's size history was kept
        again = grounded.process(image, 0.2, camera)
    finally:
        grounded.close()
    first = placed[0]
    assert first.ground_scale == pytest.approx(1.25, rel=1e-4)
    assert floor.heights(first.vertices).min() == pytest.approx(0.0, abs=1e-4)
    np.testing.assert_allclose(first.vertices, 1.25 * free[0].vertices, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(camera.project(first.joints3d.astype(np.float64)),
                               camera.project(free[0].joints3d.astype(np.float64)), atol=1e-2)
    assert len(unknown_camera.people) == 2 and all(person.ground_scale == 0.0 for person in unknown_camera.people)
    assert len(no_floor.people) == 2 and all(person.ground_scale == 0.0 for person in no_floor.people)
    assert again.people[0].ground_scale == pytest.approx(1.25, rel=0.02)
