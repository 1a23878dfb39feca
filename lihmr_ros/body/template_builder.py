"""Assemble a :class:`MeshTemplate` from any body model's rest meshes and posed samples.

Model-specific code (``anny_template.py``, ``smpl_model.py``) only produces
paired full/coarse meshes; everything the network relies on (root-relative
rest pose, nearest joints, upsampling table, regressors) is derived here the
same way for every body model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lihmr_ros.body.coco import mid_hip
from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.body.upsampling import compose_regressor, fit_weights, select_neighbours

DEFAULT_NEIGHBOURS = 8
"""Coarse vertices per full vertex in the upsampling table (see docs/body_models.md)."""


@dataclass(frozen=True)
class TemplateInputs:
    """Everything a body model contributes to its template, in camera axes."""

    body_model: str
    coarse_topology: str
    full_faces: np.ndarray
    coarse_faces: np.ndarray
    full_rest: np.ndarray
    """(Vf, 3) rest-pose full mesh (need not be root-relative)."""
    coarse_rest: np.ndarray
    """(Vc, 3) the same rest body at the coarse resolution."""
    joint_regressor: np.ndarray
    """(17, Vf) COCO-17 regressor of the full mesh."""
    full_samples: np.ndarray
    """(N, Vf, 3) random posed and shaped bodies used to fit the upsampling."""
    coarse_samples: np.ndarray
    """(N, Vc, 3) the same bodies at the coarse resolution."""


def fit_upsampling_table(inputs: TemplateInputs, neighbours: int) -> tuple[np.ndarray, np.ndarray]:
    """(index, weight) of the coarse-to-full map fitted on ``inputs``' samples."""
    index = select_neighbours(
        inputs.full_samples, inputs.coarse_samples, inputs.full_rest, inputs.coarse_rest, neighbours
    )
    return index, fit_weights(inputs.full_samples, inputs.coarse_samples, index)


def assemble_template(inputs: TemplateInputs, neighbours: int = DEFAULT_NEIGHBOURS) -> MeshTemplate:
    """Fit the upsampling and derive every template array; the result is validated."""
    index, weight = fit_upsampling_table(inputs, neighbours)
    regressor = inputs.joint_regressor.astype(np.float64)
    rest_joints = regressor @ inputs.full_rest
    root = mid_hip(rest_joints)
    full_rest = inputs.full_rest - root
    coarse_rest = inputs.coarse_rest - root
    rest_joints = rest_joints - root
    distances = np.linalg.norm(coarse_rest[:, None, :] - rest_joints[None, :, :], axis=-1)
    template = MeshTemplate(
        body_model=inputs.body_model,
        coarse_topology=inputs.coarse_topology,
        full_faces=inputs.full_faces.astype(np.int32),
        coarse_faces=inputs.coarse_faces.astype(np.int32),
        coarse_vertices=coarse_rest.astype(np.float32),
        full_rest_vertices=full_rest.astype(np.float32),
        rest_joints=rest_joints.astype(np.float32),
        coarse_nearest_joint=np.argmin(distances, axis=1).astype(np.int64),
        upsample_index=index.astype(np.int64),
        upsample_weight=weight.astype(np.float32),
        joint_regressor=inputs.joint_regressor.astype(np.float32),
        coarse_joint_regressor=compose_regressor(regressor, index, weight, coarse_rest.shape[0]),
    )
    template.validate()
    return template
