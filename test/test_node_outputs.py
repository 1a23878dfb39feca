"""The node's building blocks without a running node: mailbox, statistics, messages, markers, overlay."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticStatus
from std_msgs.msg import Header
from visualization_msgs.msg import Marker

from lihmr_ros.body import load_template
from lihmr_ros.geometry.intrinsics import CameraIntrinsics
from lihmr_ros.msg import HumanMesh, HumanMeshArray
from lihmr_ros.pipeline.results import STAGES, FrameResult, PersonResult
from lihmr_ros.ros.diagnostics import diagnostic_array
from lihmr_ros.ros.latest_frame import LatestSlot
from lihmr_ros.ros.markers import frame_markers
from lihmr_ros.ros.mesh_preview import MeshPreview
from lihmr_ros.ros.messages import human_mesh_array, keypoints_from_message, mesh_topology
from lihmr_ros.ros.overlay import draw_overlay
from lihmr_ros.ros.statistics import PipelineStatistics


@pytest.fixture(scope="module")
def template():
    return load_template()


def placed_person(template, track_id: int, depth: float) -> PersonResult:
    """The template's rest body stood ``depth`` metres in front of a 640x480 camera."""
    offset = np.array([0.0, 0.0, depth])
    joints = template.rest_joints + offset
    camera = CameraIntrinsics.assumed(640, 480)
    joints2d = camera.project(joints)
    return PersonResult(
        track_id=track_id, score=0.9, window_frames=3,
        vertices=(template.full_rest_vertices + offset).astype(np.float32),
        joints3d=joints.astype(np.float32), joints2d=joints2d.astype(np.float32),
        joint_confidence=np.full(17, 0.9, np.float32), root=offset, root_is_metric=False,
        placement_method="keypoints", reprojection_rms_px=0.0,
        box=np.concatenate([joints2d.min(0), joints2d.max(0)]).astype(np.float32),
        shape_params=np.linspace(0, 1, 6, dtype=np.float32), ground_scale=1.25,
    )


def frame_with(people: list[PersonResult], ended: list[int]) -> FrameResult:
    return FrameResult(
        timestamp=1.0, image_width=640, image_height=480, camera=CameraIntrinsics.assumed(640, 480), people=people,
        ended_track_ids=ended, detections=len(people), encoded_crops=len(people), failed_placements=0,
        timings_ms=dict.fromkeys(STAGES, 1.0),
    )


def test_the_slot_keeps_only_the_newest_item_and_counts_replacements() -> None:
    slot: LatestSlot[int] = LatestSlot()
    assert [slot.put(1), slot.put(2), slot.put(3)] == [False, True, True]
    assert slot.take() == 3
    taken: list[int | None] = []
    worker = threading.Thread(target=lambda: taken.extend([slot.take(), slot.take()]))
    worker.start()
    slot.put(4)
    while slot.put(4):  # wait until the worker took it, then close: the second take must end the worker
        pass
    slot.close()
    worker.join(timeout=5)
    assert not worker.is_alive() and taken[0] == 4 and taken[-1] is None


def test_statistics_report_rates_drops_and_stage_latency_per_period() -> None:
    now = [0.0]
    statistics = PipelineStatistics(clock=lambda: now[0])
    for dropped in (False, True, False, False):
        statistics.count_received(dropped_previous=dropped)
    statistics.count_processed(2, {"infer": 10.0, "total": 30.0}, latency_ms=40.0, floor_people=2, floor_clamped=1)
    statistics.count_processed(0, {"infer": 20.0, "total": 50.0}, latency_ms=60.0)
    statistics.count_bad_input()
    now[0] = 2.0
    first = statistics.snapshot()
    assert (first.input_rate_hz, first.output_rate_hz, first.dropped, first.bad_input) == (2.0, 1.0, 1, 1)
    assert first.stage_mean_ms["infer"] == 15.0 and first.stage_max_ms["total"] == 50.0
    assert (first.latency_mean_ms, first.mean_people) == (50.0, 1.0)
    assert (first.floor_people, first.floor_clamped) == (2, 1)
    now[0] = 3.0
    second = statistics.snapshot()
    assert (second.input_rate_hz, second.dropped, second.total_received, second.total_dropped) == (0.0, 0, 4, 1)
    assert (second.floor_people, second.floor_clamped) == (0, 0)


def test_diagnostics_warn_when_the_floor_holds_people_at_its_clamp() -> None:
    now = [0.0]
    statistics = PipelineStatistics(clock=lambda: now[0])
    statistics.count_received(dropped_previous=False)
    statistics.count_processed(1, {"total": 30.0}, latency_ms=40.0, floor_people=1, floor_clamped=0)
    now[0] = 1.0
    fine = diagnostic_array(Time(), "/lihmr_node", statistics.snapshot(), "torch", "cpu").status[0]
    statistics.count_received(dropped_previous=False)
    statistics.count_processed(1, {"total": 30.0}, latency_ms=40.0, floor_people=1, floor_clamped=1)
    now[0] = 2.0
    clamped = diagnostic_array(Time(), "/lihmr_node", statistics.snapshot(), "torch", "cpu").status[0]
    assert fine.level == DiagnosticStatus.OK
    assert {v.key: v.value for v in fine.values}["floor_scaled_people"] == "1"
    assert clamped.level == DiagnosticStatus.WARN and "ground.camera_height" in clamped.message
    assert {v.key: v.value for v in clamped.values}["floor_clamped_people"] == "1"


def test_messages_carry_the_result_and_the_topology_matches(template) -> None:
    person = placed_person(template, track_id=7, depth=3.0)
    header = Header(frame_id="camera_optical_frame")
    header.stamp.sec = 42
    message = human_mesh_array(frame_with([person], []), header, "anny")
    human = message.humans[0]
    assert (message.header.stamp.sec, message.header.frame_id, human.track_id) == (42, "camera_optical_frame", 7)
    np.testing.assert_array_equal(np.asarray(human.vertices).reshape(-1, 3), person.vertices)
    np.testing.assert_allclose(np.asarray(human.joints2d).reshape(17, 2), person.joints2d)
    assert (human.root.z, human.window_frames, len(human.shape_params)) == (3.0, 3, 6)
    assert human.ground_scale == 1.25 and not human.root_is_metric
    topology = mesh_topology(template, header.stamp)
    assert topology.vertex_count * 3 == len(human.vertices)
    assert np.asarray(topology.faces).max() < topology.vertex_count
    assert len(topology.skeleton_edges) % 2 == 0 and topology.body_model == "anny"


def test_external_keypoints_come_from_the_2d_fields_of_a_human_mesh_array() -> None:
    message = HumanMeshArray()
    person = HumanMesh()
    person.joints2d = [float(v) for v in range(34)]
    person.joint_confidence = [0.5] * 17
    person.score = 0.8
    message.humans = [person]
    keypoints, scores, boxes = keypoints_from_message(message)
    assert keypoints.shape == (1, 17, 3) and keypoints[0, 1].tolist() == [2.0, 3.0, 0.5]
    assert scores.tolist() == pytest.approx([0.8]) and boxes is None  # no box given: derived from keypoints later
    person.joints2d = [0.0] * 10
    with pytest.raises(ValueError, match="joints2d needs 34 values"):
        keypoints_from_message(message)


def test_markers_draw_each_person_and_delete_ended_tracks(template) -> None:
    preview = MeshPreview.from_template(template)
    people = [placed_person(template, 1, 3.0), placed_person(template, 4, 5.0)]
    markers = frame_markers(Header(frame_id="cam"), frame_with(people, ended=[2]), preview).markers
    deletions = [(m.ns, m.id) for m in markers if m.action == Marker.DELETE]
    assert deletions == [("mesh", 2), ("skeleton", 2)]
    meshes = [m for m in markers if m.ns == "mesh" and m.action == Marker.ADD]
    assert [m.id for m in meshes] == [1, 4] and meshes[0].color != meshes[1].color
    assert len(meshes[0].points) == 3 * len(template.coarse_faces)
    assert min(p.z for p in meshes[0].points) > 2.0, "mesh markers are in the camera frame, in front"
    skeleton = next(m for m in markers if m.ns == "skeleton" and m.id == 1)
    assert skeleton.type == Marker.LINE_LIST and len(skeleton.points) == 2 * 19


def test_the_overlay_paints_the_person_and_leaves_the_rest(template) -> None:
    person = placed_person(template, 1, 3.0)
    image = np.full((480, 640, 3), 128, np.uint8)
    drawn = draw_overlay(image, frame_with([person], []), MeshPreview.from_template(template))
    changed = np.any(drawn != image, axis=2)
    x0, y0, x1, y1 = person.box.astype(int)
    assert changed[y0:y1, x0:x1].mean() > 0.2
    assert not changed[:, : max(x0 - 40, 1)].any(), "nothing is drawn left of the person"
    assert np.array_equal(image, np.full((480, 640, 3), 128, np.uint8)), "the input image is not modified"
