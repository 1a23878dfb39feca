"""The fixed mesh template the network is built around.

The network never talks to a body model at run time: everything it needs (the
coarse rest-pose template, how coarse vertices map back to the full mesh, how
COCO-17 joints are regressed from the mesh) is frozen into a ``MeshTemplate``
that is generated once by ``lihmr body build-template`` and shipped as an
``.npz`` file.  Freezing it keeps inference free of the body-model library,
makes ONNX/TensorRT graphs self-contained, and lets a checkpoint prove (by
fingerprint) that it was trained against the template it is loaded with.

Conventions: camera optical axes (x right, y down, z forward), metres, rest
pose root-relative (root = mid-hip = mean of COCO joints 11 and 12), body
upright and facing the camera.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

NUM_COCO_JOINTS = 17


@dataclass(frozen=True)
class MeshTemplate:
    """Frozen arrays describing one body model at two resolutions."""

    body_model: str
    """Name of the body model the arrays come from (``anny``, ``smpl``, ``smplx``)."""
    coarse_topology: str
    """Name of the coarse topology (for Anny, e.g. ``notoes_collapse5pc``)."""
    full_faces: np.ndarray
    """(F, 3) int32 triangles of the full-resolution mesh."""
    coarse_faces: np.ndarray
    """(Fc, 3) int32 triangles of the coarse mesh."""
    coarse_vertices: np.ndarray
    """(Vc, 3) float32 coarse rest-pose vertices, root-relative, camera axes."""
    full_rest_vertices: np.ndarray
    """(Vf, 3) float32 full-resolution rest-pose vertices, root-relative, camera axes."""
    rest_joints: np.ndarray
    """(17, 3) float32 COCO-17 joints of the rest pose, root-relative."""
    coarse_nearest_joint: np.ndarray
    """(Vc,) int64 index of the COCO joint nearest to each coarse vertex at rest."""
    upsample_index: np.ndarray
    """(Vf, K) int64 coarse vertex indices that reconstruct each full vertex."""
    upsample_weight: np.ndarray
    """(Vf, K) float32 weights for ``upsample_index``; full = sum_k w * coarse[idx]."""
    joint_regressor: np.ndarray
    """(17, Vf) float32 COCO-17 regressor on the full mesh; rows sum to 1."""
    coarse_joint_regressor: np.ndarray
    """(17, Vc) float32 COCO-17 regressor on the coarse mesh; rows sum to 1."""

    @property
    def num_full_vertices(self) -> int:
        return int(self.full_rest_vertices.shape[0])

    @property
    def num_coarse_vertices(self) -> int:
        return int(self.coarse_vertices.shape[0])

    def validate(self) -> None:
        """Raise ``ValueError`` when shapes or indices are inconsistent."""
        vf, vc = self.num_full_vertices, self.num_coarse_vertices
        checks = [
            (self.full_faces.ndim == 2 and self.full_faces.shape[1] == 3, "full_faces must be (F, 3)"),
            (self.coarse_faces.ndim == 2 and self.coarse_faces.shape[1] == 3, "coarse_faces must be (Fc, 3)"),
            (int(self.full_faces.max()) < vf, "full_faces index past the full vertex count"),
            (int(self.coarse_faces.max()) < vc, "coarse_faces index past the coarse vertex count"),
            (self.coarse_vertices.shape == (vc, 3), "coarse_vertices must be (Vc, 3)"),
            (self.rest_joints.shape == (NUM_COCO_JOINTS, 3), "rest_joints must be (17, 3)"),
            (self.coarse_nearest_joint.shape == (vc,), "coarse_nearest_joint must be (Vc,)"),
            (self.upsample_index.shape[0] == vf, "upsample_index must have one row per full vertex"),
            (self.upsample_weight.shape == self.upsample_index.shape, "upsample_weight must match upsample_index"),
            (int(self.upsample_index.max()) < vc, "upsample_index points past the coarse vertex count"),
            (self.joint_regressor.shape == (NUM_COCO_JOINTS, vf), "joint_regressor must be (17, Vf)"),
            (self.coarse_joint_regressor.shape == (NUM_COCO_JOINTS, vc), "coarse_joint_regressor must be (17, Vc)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"invalid MeshTemplate ({self.body_model}/{self.coarse_topology}): {message}")

    def fingerprint(self) -> str:
        """Short hash of every array, stored in checkpoints to catch template mismatches."""
        digest = hashlib.sha256()
        for field in fields(self):
            value = getattr(self, field.name)
            digest.update(field.name.encode())
            if isinstance(value, np.ndarray):
                digest.update(str(value.dtype).encode())
                digest.update(str(value.shape).encode())
                digest.update(np.ascontiguousarray(value).tobytes())
            else:
                digest.update(str(value).encode())
        return digest.hexdigest()[:16]

    def save(self, path: Path) -> None:
        """Write the template as a compressed ``.npz`` (plain arrays, no pickles)."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self)}
        arrays["body_model"] = np.array(self.body_model)
        arrays["coarse_topology"] = np.array(self.coarse_topology)
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> "MeshTemplate":
        """Read a template written by :meth:`save`; never unpickles objects."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"mesh template {path} does not exist; generate it with `lihmr body build-template`"
            )
        with np.load(path, allow_pickle=False) as data:
            kwargs = {}
            for field in fields(cls):
                if field.name not in data:
                    raise ValueError(f"mesh template {path} lacks array '{field.name}'")
                value = data[field.name]
                kwargs[field.name] = str(value) if field.name in ("body_model", "coarse_topology") else value
        template = cls(**kwargs)
        template.validate()
        return template
