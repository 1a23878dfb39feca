"""One synthetic sequence, end to end: body, motion, camera, scene, render, keypoints, crops.

Everything random in a sequence is drawn from one generator seeded by the
sequence's own seed, so a sequence is identical whichever worker, shard or
resume run produces it.  The Anny forward pass runs once per sequence on all
frames (batched); rendering, detection and cropping run per frame.

Crops are cut exactly as the runtime cuts them (``lihmr_ros.model.inputs``:
square box from the detected keypoints, same margin, same interpolation), so
the network trains on the inputs it will be fed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import roma
import torch

from lihmr_ros.body.coco import mid_hip
from lihmr_ros.geometry.ground import GroundPlane
from lihmr_ros.model import inputs
from lihmr_ros.synth.appearance import build_surface_atlas, paint_texture, sample_outfit
from lihmr_ros.synth.body_surface import NormalEstimator, build_body_surface
from lihmr_ros.synth.camera import Camera, CameraSampler, project
from lihmr_ros.synth.config import SynthConfig
from lihmr_ros.synth.keypoint_noise import KeypointNoiseProcess, joints_in_frame
from lihmr_ros.synth.motion import MotionSampler, heading_rotation
from lihmr_ros.synth.renderer import PERSON_ID, RenderedFrame, TexturedMesh
from lihmr_ros.synth.scene import SceneSampler, apply_sensor

KEYPOINTS_MEDIAPIPE = 0
"""``keypoint_source`` value: BlazePose found the person on the render."""
KEYPOINTS_NOISE = 1
"""``keypoint_source`` value: projected ground truth through the noise model."""
KEYPOINTS_NONE = 2
"""``keypoint_source`` value: no joint in frame; the frame has no crop."""

MIN_ROOT_DEPTH_M = 1.0
"""Placements that bring the person's hips closer than this to the camera are redrawn."""
_PLACEMENT_ATTEMPTS = 20


@dataclass
class SequenceData:
    """All stored arrays of one sequence (per-frame arrays have F rows)."""

    sequence_seed: int
    intrinsics: np.ndarray
    """(3, 3) float32."""
    image_size: np.ndarray
    """(2,) int32 width, height."""
    fps: float
    phenotypes: np.ndarray
    """(6,) float32 Anny phenotypes (gender, age, muscle, weight, height, proportions)."""
    age_years: float
    walking: bool
    crops: np.ndarray
    """(F, S, S, 3) uint8 RGB, zero where ``keypoint_source`` is ``KEYPOINTS_NONE``."""
    keypoints: np.ndarray
    """(F, 17, 3) float32 crop-normalised (x, y) + confidence (the network input)."""
    keypoints_px: np.ndarray
    """(F, 17, 3) float32 image pixels + confidence."""
    keypoint_source: np.ndarray
    """(F,) uint8 ``KEYPOINTS_*``."""
    boxes: np.ndarray
    """(F, 3) float32 crop box (cx, cy, size) in pixels (NaN without crop)."""
    crop_info: np.ndarray
    """(F, 3) float32 (see ``lihmr_ros.model.inputs.crop_info``; NaN without crop)."""
    joints_2d: np.ndarray
    """(F, 17, 2) float32 projected ground-truth joints, pixels."""
    visibility: np.ndarray
    """(F, 17) bool joint in frame and not behind an occluder."""
    frame_valid: np.ndarray
    """(F,) bool enough joints visible and a crop exists: usable as a training target."""
    joints_cam: np.ndarray
    """(F, 17, 3) float32 root-relative COCO-17 joints, camera frame, metres."""
    root_cam: np.ndarray
    """(F, 3) float32 root (mid-hip) position, camera frame, metres."""
    coarse_vertices: np.ndarray
    """(F, Vc, 3) float16 root-relative coarse-topology vertices, camera frame."""
    pose_quaternions: np.ndarray
    """(F, 104, 4) float32 Anny local-ref bone rotations as unit quaternions (x, y, z, w)."""
    global_rotation: np.ndarray
    """(F, 3, 3) float32 rotation from Anny's output (camera axes) to the camera frame."""
    images: list[np.ndarray] = field(default_factory=list)
    """Full rendered frames, kept only when asked (evaluation export, documentation)."""
    vertices_cam: np.ndarray | None = None
    """(F, V, 3) float32 absolute full-mesh vertices, kept only when asked."""
    ground: GroundPlane | None = None
    """The floor the person stands on, in the camera frame (the static camera's mount)."""

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])


class SequenceGenerator:
    """Holds the models, samplers and GL context of one worker and produces sequences."""

    def __init__(self, config: SynthConfig, use_detector: bool | None = None) -> None:
        from lihmr_ros.body.anny_model import AnnyBody
        from lihmr_ros.body.pose_sampler import AnnyPoseSampler
        from lihmr_ros.body.shape_sampler import AnnyShapeSampler
        from lihmr_ros.synth.renderer import Renderer

        self.config = config
        self.crop_spec = config.output.crop_spec()
        self.full_body = AnnyBody()
        self.coarse_body = AnnyBody(config.body.coarse_topology, full_body=self.full_body)
        self.pose_sampler = AnnyPoseSampler(
            self.full_body,
            root_yaw_deg=(0.0, 0.0),
            root_tilt_deg=config.motion.root_tilt_deg,
            activity=config.motion.activity,
        )
        self.shape_sampler = AnnyShapeSampler(self.full_body, config.body.age_range_years)
        self.motion_sampler = MotionSampler(self.pose_sampler, config.motion)
        self.camera_sampler = CameraSampler(config.camera)
        self.scene_sampler = SceneSampler(config.scene)
        self.surface = build_body_surface(self.full_body.model)
        self.atlas = build_surface_atlas(self.surface, config.scene.texture_size)
        self.normals = NormalEstimator(self.surface.faces, self.surface.num_vertices)
        self.renderer = Renderer()
        if use_detector is None:
            use_detector = config.keypoints.source == "mediapipe"
        self.detector = None
        if use_detector:
            from lihmr_ros.synth.detector import RenderDetector

            self.detector = RenderDetector(config.keypoints)

    def close(self) -> None:
        if self.detector is not None:
            self.detector.close()
        self.renderer.release()

    # ------------------------------------------------------------------ bodies
    def _sample_shape(self, rng: np.random.Generator) -> tuple[torch.Tensor, float]:
        age = float(rng.uniform(*self.config.body.age_range_years))
        gender = float(rng.uniform(0.0, 1.0))
        values = self.shape_sampler.phenotypes_for(np.array([age]), np.array([gender]), rng)
        weight = list(self.full_body.shape_labels).index("weight")
        values[:, weight] = np.clip(values[:, weight] + self.config.body.weight_shift, 0.0, 1.0)
        return torch.as_tensor(values, dtype=self.full_body.dtype), age

    def _body_measures(self, shape: torch.Tensor) -> tuple[float, float]:
        """(leg length hip->ankle, standing height) of a body in the reference pose, metres."""
        rest = self.full_body.forward(self.full_body.neutral_pose(), shape)
        joints = rest.joints[0].numpy()
        legs = np.linalg.norm(joints[[11, 12]] - joints[[15, 16]], axis=1)
        height = float(np.ptp(rest.vertices[0, :, 1].numpy()))
        return float(legs.mean()), height

    # --------------------------------------------------------------- sequence
    def generate(self, sequence_seed: int, keep_images: bool = False, keep_vertices: bool = False) -> SequenceData:
        """Produce one sequence from its seed."""
        config = self.config
        rng = np.random.default_rng(sequence_seed)
        frames = int(rng.integers(config.motion.frames[0], config.motion.frames[1] + 1))
        shape, age = self._sample_shape(rng)
        leg_length, body_height = self._body_measures(shape)
        motion = self.motion_sampler.sample(rng, frames, leg_length)

        posed = self.full_body.forward(motion.poses, shape)
        coarse = self.coarse_body.forward(motion.poses, shape).vertices.numpy().astype(np.float64)
        vertices = posed.vertices.numpy().astype(np.float64)
        joints = posed.joints.numpy().astype(np.float64)
        root = mid_hip(joints)

        heading = heading_rotation(motion.heading)
        relative_world = np.einsum("fij,fvj->fvi", heading, vertices - root[:, None])
        lowest = relative_world[..., 1].max(axis=1)  # y points down: the largest y touches the floor
        camera, root_world = self._place(rng, motion.ground_position, lowest, body_height)

        root_cam = camera.to_camera(root_world)
        rotation = np.einsum("ij,fjk->fik", camera.world_to_camera, heading)
        vertices_cam = np.einsum("fij,fvj->fvi", rotation, vertices - root[:, None]) + root_cam[:, None]
        joints_rel = np.einsum("fij,fvj->fvi", rotation, joints - root[:, None])
        coarse_rel = np.einsum("fij,fvj->fvi", rotation, coarse - root[:, None])

        ground_path = np.stack([root_world[:, 0], np.zeros(frames), root_world[:, 2]], axis=1)
        scenery = self.scene_sampler.sample(rng, camera, ground_path)
        outfit = sample_outfit(rng, age, config.scene.patterned_clothing)
        texture = paint_texture(self.atlas, outfit, rng)
        normals = self.normals(vertices_cam.astype(np.float32))

        data = self._empty(sequence_seed, camera, config.motion.fps, shape, age, motion.walking, frames)
        data.joints_cam[:] = joints_rel
        data.root_cam[:] = root_cam
        data.coarse_vertices[:] = coarse_rel
        data.global_rotation[:] = rotation
        data.pose_quaternions[:] = _pose_quaternions(motion.poses)
        data.joints_2d[:] = project(joints_rel + root_cam[:, None], camera.intrinsics)
        data.ground = camera.ground_plane()
        if keep_vertices:
            data.vertices_cam = vertices_cam.astype(np.float32)

        self.renderer.set_scene(
            camera.intrinsics, camera.width, camera.height, scenery.backdrop, scenery.meshes, scenery.lighting
        )
        corner = self.surface.corner_vertex
        keypoint_noise = KeypointNoiseProcess(config.keypoints.noise, sequence_seed)
        for index in range(frames):
            person = TexturedMesh(
                positions=vertices_cam[index, corner],
                normals=normals[index, corner],
                uvs=self.surface.corner_uv,
                triangles=self.surface.corner_faces,
                texture=texture,
                object_id=PERSON_ID,
                texture_key="person",
            )
            rendered = self.renderer.render([person])
            image = apply_sensor(rendered.image, scenery, rng)
            self._fill_frame(data, index, image, rendered, camera, keypoint_noise, rng)
            if keep_images:
                data.images.append(image)
        return data

    def _place(
        self,
        rng: np.random.Generator,
        ground_path: np.ndarray,
        lowest: np.ndarray,
        body_height: float,
    ) -> tuple[Camera, np.ndarray]:
        """Camera and per-frame world root positions; redraws placements that put the body at the lens."""
        for _ in range(_PLACEMENT_ATTEMPTS):
            placement = self.camera_sampler.sample(rng, body_height)
            path = ground_path + placement.path_offset
            root_world = np.stack([path[:, 0], -lowest, path[:, 1]], axis=1)
            camera = placement.camera
            root_depth = camera.to_camera(root_world)[:, 2]
            if root_depth.min() >= MIN_ROOT_DEPTH_M:
                break
        return camera, root_world

    def _empty(
        self,
        seed: int,
        camera: Camera,
        fps: float,
        shape: torch.Tensor,
        age: float,
        walking: bool,
        frames: int,
    ) -> SequenceData:
        size = self.crop_spec.size
        coarse_count = self.coarse_body.num_vertices
        return SequenceData(
            sequence_seed=seed,
            intrinsics=camera.intrinsics.astype(np.float32),
            image_size=np.array([camera.width, camera.height], dtype=np.int32),
            fps=fps,
            phenotypes=shape[0].numpy().astype(np.float32),
            age_years=age,
            walking=walking,
            crops=np.zeros((frames, size, size, 3), dtype=np.uint8),
            keypoints=np.zeros((frames, 17, 3), dtype=np.float32),
            keypoints_px=np.zeros((frames, 17, 3), dtype=np.float32),
            keypoint_source=np.full(frames, KEYPOINTS_NONE, dtype=np.uint8),
            boxes=np.full((frames, 3), np.nan, dtype=np.float32),
            crop_info=np.full((frames, 3), np.nan, dtype=np.float32),
            joints_2d=np.zeros((frames, 17, 2), dtype=np.float32),
            visibility=np.zeros((frames, 17), dtype=bool),
            frame_valid=np.zeros(frames, dtype=bool),
            joints_cam=np.zeros((frames, 17, 3), dtype=np.float32),
            root_cam=np.zeros((frames, 3), dtype=np.float32),
            coarse_vertices=np.zeros((frames, coarse_count, 3), dtype=np.float16),
            pose_quaternions=np.zeros((frames, 104, 4), dtype=np.float32),
            global_rotation=np.zeros((frames, 3, 3), dtype=np.float32),
        )

    def _fill_frame(
        self,
        data: SequenceData,
        index: int,
        image: np.ndarray,
        rendered: RenderedFrame,
        camera: Camera,
        keypoint_noise: KeypointNoiseProcess,
        rng: np.random.Generator,
    ) -> None:
        joints_px = data.joints_2d[index].astype(np.float64)
        in_frame = joints_in_frame(joints_px, camera.width, camera.height)
        column = np.clip(np.round(np.nan_to_num(joints_px[:, 0])).astype(int), 0, camera.width - 1)
        row = np.clip(np.round(np.nan_to_num(joints_px[:, 1])).astype(int), 0, camera.height - 1)
        occluded = rendered.occluder_coverage[row, column] > 0.5
        visible = in_frame & ~occluded
        data.visibility[index] = visible

        keypoints, source = self._detect(image, joints_px, in_frame, rng), KEYPOINTS_MEDIAPIPE
        if keypoints is None:
            if not in_frame.any():
                return
            keypoints = keypoint_noise.corrupt(index, joints_px, visible, in_frame, rng)
            source = KEYPOINTS_NOISE
        if not np.any(keypoints[:, 2] >= self.crop_spec.min_keypoint_confidence):
            return
        box = inputs.box_from_keypoints(keypoints, self.crop_spec)
        data.keypoint_source[index] = source
        data.keypoints_px[index] = keypoints
        data.keypoints[index] = inputs.keypoints_to_crop(keypoints, box)
        data.boxes[index] = box
        data.crop_info[index] = inputs.crop_info(box, camera.intrinsics)
        data.crops[index] = inputs.crop_image(image, box, self.crop_spec.size)
        data.frame_valid[index] = int(visible.sum()) >= self.config.output.min_visible_joints

    def _detect(
        self, image: np.ndarray, joints_px: np.ndarray, in_frame: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray | None:
        """BlazePose keypoints of the person, or ``None`` without a detector or when it misses them."""
        if self.detector is None:
            return None
        detection = self.detector.detect(image, joints_px, in_frame, rng)
        return None if detection is None else detection.keypoints


def _pose_quaternions(poses: torch.Tensor) -> np.ndarray:
    """(F, 104, 4, 4) rotation-only local-ref transforms -> (F, 104, 4) unit quaternions (x, y, z, w)."""
    translation = poses[..., :3, 3].abs().max()
    if float(translation) > 1e-6:
        raise ValueError("pose transforms carry translations; only rotations can be stored as quaternions")
    return roma.rotmat_to_unitquat(poses[..., :3, :3].double()).numpy().astype(np.float32)
