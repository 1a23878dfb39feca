"""Rendering of synthetic frames agrees with the stored 2D ground truth (lihmr_ros.synth.renderer)."""

from __future__ import annotations

import numpy as np
import pytest

from lihmr_ros.synth.camera import Camera, intrinsics_from_fov, look_rotation, project
from lihmr_ros.synth.renderer import OCCLUDER_ID, PERSON_ID, Lighting, Renderer, TexturedMesh

LIGHT = Lighting(
    ambient=np.full(3, 0.4),
    directions=np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]),
    colours=np.array([[0.7, 0.7, 0.7], [0.1, 0.1, 0.1]]),
)
GREY = np.full((4, 4, 3), 128, dtype=np.uint8)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    renderer = Renderer()
    yield renderer
    renderer.release()


def _square(centre: np.ndarray, half: float, object_id) -> TexturedMesh:
    offsets = np.array([[-half, -half, 0.0], [half, -half, 0.0], [half, half, 0.0], [-half, half, 0.0]])
    return TexturedMesh(
        positions=(centre + offsets).astype(np.float32),
        normals=np.tile([0.0, 0.0, -1.0], (4, 1)).astype(np.float32),
        uvs=np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32),
        triangles=np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32),
        texture=GREY,
        object_id=object_id,
    )


def test_square_lands_where_the_pinhole_projection_puts_it(renderer: Renderer) -> None:
    width, height = 200, 150
    intrinsics = np.array([[180.0, 0.0, 97.3], [0.0, 175.0, 80.6], [0.0, 0.0, 1.0]])
    centre = np.array([0.21, -0.13, 2.5])
    renderer.set_scene(intrinsics, width, height, GREY, [], LIGHT)
    frame = renderer.render([_square(centre, 0.1, PERSON_ID)])
    coverage = frame.person_coverage
    rows, cols = np.mgrid[0:height, 0:width]
    centroid = np.array([(coverage * cols).sum(), (coverage * rows).sum()]) / coverage.sum()
    expected = project(centre, intrinsics)
    assert np.abs(centroid - expected).max() < 0.1  # a pixel-centre convention slip would be 0.5
    expected_area = (2 * 0.1 * 180.0 / 2.5) * (2 * 0.1 * 175.0 / 2.5)
    assert coverage.sum() == pytest.approx(expected_area, rel=0.02)
    assert frame.occluder_coverage.max() == 0.0


def test_occluder_in_front_hides_the_person_and_is_reported(renderer: Renderer) -> None:
    intrinsics = intrinsics_from_fov(160, 120, 60.0, np.zeros(2))
    box = _square(np.array([0.0, 0.0, 1.5]), 0.2, OCCLUDER_ID)
    renderer.set_scene(intrinsics, 160, 120, GREY, [box], LIGHT)
    person_behind = _square(np.array([0.0, 0.0, 3.0]), 0.2, PERSON_ID)
    frame = renderer.render([person_behind])
    centre = (60, 80)
    assert frame.occluder_coverage[centre] == pytest.approx(1.0)
    assert frame.person_coverage[centre] == 0.0
    # Same size at twice the distance: the person is smaller on screen than the box and fully hidden.
    assert frame.person_coverage.sum() == 0.0
    person_in_front = _square(np.array([0.0, 0.0, 1.0]), 0.05, PERSON_ID)
    frame = renderer.render([person_in_front])
    assert frame.person_coverage[centre] == pytest.approx(1.0)
    assert frame.occluder_coverage[centre] == 0.0


def test_render_without_scene_is_an_error() -> None:
    fresh = Renderer()
    try:
        with pytest.raises(RuntimeError, match="set_scene"):
            fresh.render([])
    finally:
        fresh.release()


def test_projected_anny_joints_fall_on_the_rendered_silhouette(renderer: Renderer) -> None:
    from lihmr_ros.body.anny_model import AnnyBody
    from lihmr_ros.body.pose_sampler import AnnyPoseSampler
    from lihmr_ros.synth.appearance import build_surface_atlas, paint_texture, sample_outfit
    from lihmr_ros.synth.body_surface import NormalEstimator, build_body_surface

    body = AnnyBody()
    sampler = AnnyPoseSampler(body, root_yaw_deg=(-180.0, 180.0))
    rng = np.random.default_rng(3)
    output = body.forward(sampler.sample(rng, 4), sampler.sample_shapes(rng, 4))
    surface = build_body_surface(body.model)
    texture = paint_texture(build_surface_atlas(surface, 64), sample_outfit(rng, 30.0), rng)
    width, height = 240, 180
    camera = Camera(
        intrinsics=intrinsics_from_fov(width, height, 60.0, np.array([3.0, -2.0])),
        width=width,
        height=height,
        world_to_camera=look_rotation(0.15, 0.05),
        position=np.array([0.0, -1.2, -3.0]),
    )
    normals = NormalEstimator(surface.faces, surface.num_vertices)
    renderer.set_scene(camera.intrinsics, width, height, GREY, [], LIGHT)
    for index in range(4):
        vertices = camera.to_camera(output.vertices[index].numpy())
        joints = camera.to_camera(output.joints[index].numpy())
        mesh = TexturedMesh(
            positions=vertices[surface.corner_vertex].astype(np.float32),
            normals=normals(vertices[None].astype(np.float32))[0, surface.corner_vertex],
            uvs=surface.corner_uv,
            triangles=surface.corner_faces,
            texture=texture,
            object_id=PERSON_ID,
        )
        silhouette = renderer.render([mesh]).person_coverage > 0.5
        pixels = np.round(project(joints, camera.intrinsics)).astype(int)
        for joint in (5, 6, 11, 12):  # shoulders and hips lie inside the body from every side
            column, row = pixels[joint]
            assert 0 <= column < width and 0 <= row < height
            assert silhouette[row, column], f"joint {joint} of body {index} projects off the silhouette"
        # The silhouette is the body, not the background: its extent matches the projected mesh.
        projected = project(vertices, camera.intrinsics)
        top, bottom = np.clip([projected[:, 1].min(), projected[:, 1].max()], 0, height - 1)
        left, right = np.clip([projected[:, 0].min(), projected[:, 0].max()], 0, width - 1)
        rows, cols = np.nonzero(silhouette)
        assert abs(rows.min() - top) < 1.5 and abs(rows.max() - bottom) < 1.5
        assert abs(cols.min() - left) < 1.5 and abs(cols.max() - right) < 1.5
