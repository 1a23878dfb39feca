"""SMPL and SMPL-X through ``smplx``, for users who own the model files.

Neither the SMPL/SMPL-X model files nor a licence to use them ship with lihmr
(they are for non-commercial research, after registration at
smpl.is.tue.mpg.de / smpl-x.is.tue.mpg.de); point ``--model-path`` or the
``body.model_path`` setting at your copy.

COCO-17 regressor (documented in docs/body_models.md): the 12 body joints
(shoulders, elbows, wrists, hips, knees, ankles) are the matching rows of the
model's own ``J_regressor`` (SMPL and SMPL-X share their first 22 joints),
and the 5 face points (nose, eyes, ears) are single mesh vertices, the same
vertex ids ``smplx`` itself uses for COCO/OpenPose keypoints.  Every row sums
to 1 because ``J_regressor`` rows do.

Axes: SMPL is Y-up and faces +Z; camera axes are reached by a 180-degree turn
about x, (x, y, z) -> (x, -y, -z), which keeps the body's left at +x.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lihmr_ros.body.base import BodyModel, BodyOutput, check_regressor
from lihmr_ros.body.template_builder import TemplateInputs

SMPL_TO_CAMERA = np.diag([1.0, -1.0, -1.0])

# COCO-17 index -> SMPL/SMPL-X joint index (the first 22 joints are shared).
COCO_FROM_SMPL_JOINT: dict[int, int] = {
    5: 16, 6: 17,  # shoulders
    7: 18, 8: 19,  # elbows
    9: 20, 10: 21,  # wrists
    11: 1, 12: 2,  # hips
    13: 4, 14: 5,  # knees
    15: 7, 16: 8,  # ankles
}
# COCO-17 index -> key of smplx.vertex_ids.vertex_ids[<model>].
COCO_FROM_VERTEX_KEY: dict[int, str] = {0: "nose", 1: "leye", 2: "reye", 3: "lear", 4: "rear"}

EXPECTED_VERTICES = {"smpl": 6890, "smplx": 10475}
BODY_POSE_JOINTS = {"smpl": 23, "smplx": 21}
"""Joints after the root in the pose vector (SMPL-X hands, jaw and eyes stay at rest)."""

DEFAULT_SMPL_COARSE_VERTICES = 431
"""Coarse vertex count for SMPL templates, as in PMCE's 6890 -> 431 mesh."""

FIT_SAMPLES = 300
POSE_STD_RAD = 0.3
BETA_STD = 1.0


def official_file_name(kind: str, gender: str) -> str:
    """Name of the file as distributed, e.g. ``SMPL_NEUTRAL.pkl`` or ``SMPLX_NEUTRAL.npz``."""
    return f"{kind.upper()}_{gender.upper()}.{'pkl' if kind == 'smpl' else 'npz'}"


def expected_model_file(model_path: Path, kind: str, gender: str) -> Path:
    """The file ``smplx`` will open for ``model_path`` (a file, or a folder holding the official names)."""
    model_path = Path(model_path).expanduser()
    return model_path / official_file_name(kind, gender) if model_path.is_dir() else model_path


class SmplBody(BodyModel):
    """SMPL (pose (B, 72)) or SMPL-X (pose (B, 66), body only), axis-angle, root first."""

    def __init__(self, model_path: Path, kind: str = "smpl", gender: str = "neutral", num_betas: int = 10) -> None:
        if kind not in EXPECTED_VERTICES:
            raise ValueError(f"kind must be 'smpl' or 'smplx', got '{kind}'")
        model_file = expected_model_file(model_path, kind, gender)
        if not model_file.is_file():
            raise FileNotFoundError(
                f"{kind.upper()} model file {model_file} does not exist. lihmr cannot ship SMPL/SMPL-X "
                f"(licensed for non-commercial research): download {official_file_name(kind, gender)} from "
                f"{'smpl.is.tue.mpg.de' if kind == 'smpl' else 'smpl-x.is.tue.mpg.de'} and pass the file "
                "or its folder (--model-path or body.model_path)."
            )
        import smplx

        try:
            if kind == "smpl":
                self.model = smplx.SMPL(str(model_file), gender=gender, num_betas=num_betas)
            else:
                self.model = smplx.SMPLX(
                    str(model_file),
                    gender=gender,
                    num_betas=num_betas,
                    ext=model_file.suffix.lstrip("."),
                    use_pca=False,
                    flat_hand_mean=True,
                )
        except AssertionError as error:  # smplx's only signal for a path it cannot use
            raise FileNotFoundError(f"smplx could not load {kind.upper()} from {model_file}: {error}") from error
        except (KeyError, AttributeError, ValueError) as error:
            raise ValueError(f"{model_file} is not a valid {kind.upper()} model file: {error!r}") from error
        self.model.eval()
        self.name = kind
        self.kind = kind
        self._num_betas = int(self.model.num_betas)
        self._faces = np.asarray(self.model.faces, dtype=np.int64)
        vertex_count = int(self.model.v_template.shape[0])
        if vertex_count != EXPECTED_VERTICES[kind]:
            raise ValueError(
                f"{model_file} has {vertex_count} vertices, {kind.upper()} has {EXPECTED_VERTICES[kind]}: "
                "the COCO face-keypoint vertex ids would point at the wrong places"
            )
        self._regressor = coco_regressor(self.model.J_regressor.numpy(), kind)
        check_regressor(self._regressor, vertex_count)
        self._to_camera = torch.as_tensor(SMPL_TO_CAMERA, dtype=torch.float32)

    @property
    def num_shape_params(self) -> int:
        return self._num_betas

    @property
    def pose_size(self) -> int:
        return 3 * (1 + BODY_POSE_JOINTS[self.kind])

    def neutral_pose(self, batch_size: int = 1) -> torch.Tensor:
        """All-zero axis-angles: the model's T-pose."""
        return torch.zeros(batch_size, self.pose_size)

    def neutral_shape(self, batch_size: int = 1) -> torch.Tensor:
        """All-zero betas: the model's mean body."""
        return torch.zeros(batch_size, self._num_betas)

    def forward(self, pose: torch.Tensor, shape: torch.Tensor) -> BodyOutput:
        """pose (B, 72 | 66) axis-angle (root first), shape (B, num_betas)."""
        if pose.ndim != 2 or pose.shape[1] != self.pose_size:
            raise ValueError(f"{self.kind.upper()} pose must be (B, {self.pose_size}) axis-angles, got {tuple(pose.shape)}")
        if shape.ndim != 2 or shape.shape[1] != self._num_betas or shape.shape[0] != pose.shape[0]:
            raise ValueError(f"shape must be (B={pose.shape[0]}, {self._num_betas}) betas, got {tuple(shape.shape)}")
        batch = pose.shape[0]
        pose = pose.float()
        extra = {}
        if self.kind == "smplx":
            zeros3 = torch.zeros(batch, 3)
            extra = dict(
                jaw_pose=zeros3, leye_pose=zeros3, reye_pose=zeros3,
                left_hand_pose=torch.zeros(batch, 45), right_hand_pose=torch.zeros(batch, 45),
                expression=torch.zeros(batch, self.model.num_expression_coeffs),
            )
        with torch.no_grad():
            output = self.model(
                betas=shape.float(), global_orient=pose[:, :3], body_pose=pose[:, 3:],
                transl=torch.zeros(batch, 3), **extra,
            )
        vertices = output.vertices @ self._to_camera.T
        return BodyOutput(vertices=vertices, joints=self.regress_joints(vertices))


def coco_regressor(joint_regressor: np.ndarray, kind: str) -> np.ndarray:
    """(17, V) COCO-17 regressor from the model's ``J_regressor`` and smplx's keypoint vertex ids."""
    from smplx.vertex_ids import vertex_ids

    regressor = np.zeros((17, joint_regressor.shape[1]), dtype=np.float32)
    for coco, smpl_joint in COCO_FROM_SMPL_JOINT.items():
        regressor[coco] = joint_regressor[smpl_joint]
    keypoint_vertices = vertex_ids["smplh" if kind == "smpl" else "smplx"]
    for coco, key in COCO_FROM_VERTEX_KEY.items():
        regressor[coco, keypoint_vertices[key]] = 1.0
    return regressor


def farthest_point_indices(points: np.ndarray, count: int) -> np.ndarray:
    """``count`` well-spread vertex indices, starting from the vertex nearest the centroid (deterministic)."""
    if not 0 < count <= points.shape[0]:
        raise ValueError(f"coarse vertex count must be in 1..{points.shape[0]}, got {count}")
    chosen = [int(np.argmin(np.linalg.norm(points - points.mean(axis=0), axis=1)))]
    distance = np.linalg.norm(points - points[chosen[0]], axis=1)
    for _ in range(count - 1):
        chosen.append(int(np.argmax(distance)))
        distance = np.minimum(distance, np.linalg.norm(points - points[chosen[-1]], axis=1))
    return np.asarray(chosen, dtype=np.int64)


def cluster_faces(faces: np.ndarray, vertex_cluster: np.ndarray) -> np.ndarray:
    """Vertex-clustering decimation: full faces whose corners fall in three clusters, deduplicated."""
    mapped = vertex_cluster[faces]
    distinct = (mapped[:, 0] != mapped[:, 1]) & (mapped[:, 1] != mapped[:, 2]) & (mapped[:, 0] != mapped[:, 2])
    mapped = mapped[distinct]
    _, first = np.unique(np.sort(mapped, axis=1), axis=0, return_index=True)
    return mapped[np.sort(first)].astype(np.int64)


def smpl_template_inputs(
    body: SmplBody, num_coarse: int = DEFAULT_SMPL_COARSE_VERTICES, seed: int = 0, num_samples: int = FIT_SAMPLES
) -> TemplateInputs:
    """Coarse mesh by farthest-point sampling + vertex clustering; fitting bodies from random axis-angles and betas.

    The coarse mesh is a vertex subset of the full mesh, so coarse samples are
    just the chosen rows of the full samples.
    """
    from scipy.spatial import cKDTree

    rest = body.forward(body.neutral_pose(), body.neutral_shape()).vertices[0].numpy().astype(np.float64)
    coarse_index = farthest_point_indices(rest, num_coarse)
    _, cluster = cKDTree(rest[coarse_index]).query(rest)
    rng = np.random.default_rng(seed)
    samples = []
    for start in range(0, num_samples, 64):
        size = min(64, num_samples - start)
        pose = torch.as_tensor(rng.normal(0.0, POSE_STD_RAD, size=(size, body.pose_size)), dtype=torch.float32)
        betas = np.clip(rng.normal(0.0, BETA_STD, size=(size, body.num_shape_params)), -2.5, 2.5)
        samples.append(body.forward(pose, torch.as_tensor(betas, dtype=torch.float32)).vertices.numpy())
    full_samples = np.concatenate(samples)
    return TemplateInputs(
        body_model=body.kind,
        coarse_topology=f"fps{num_coarse}",
        full_faces=body.faces,
        coarse_faces=cluster_faces(body.faces, cluster),
        full_rest=rest,
        coarse_rest=rest[coarse_index],
        joint_regressor=body.joint_regressor,
        full_samples=full_samples,
        coarse_samples=full_samples[:, coarse_index],
    )
