"""Template inputs for Anny: full mesh + one bundled coarse retopology, same rig.

Rest pose: the identity ``local-ref`` pose (Anny's reference A-pose with the
root at the origin), not ``rest_vertices``.  Identity parameters are what the
pose sampler, the synthetic data and any pose the network is trained on are
deltas from, so the template the network starts from is the body those
parameters' zero produces.  (For the template body the two differ by ~8 cm
in absolute position and still 1.6 cm mean / 2.3 cm max once both are
root-relative; see ``docs/body_models.md``.)  Body: a sex-neutral typical adult
(:func:`lihmr_ros.body.shape_sampler.typical_adult_phenotypes`).
"""

from __future__ import annotations

import numpy as np

from lihmr_ros.body.anny_model import COARSE_TOPOLOGIES, AnnyBody
from lihmr_ros.body.pose_sampler import AnnyPoseSampler
from lihmr_ros.body.template_builder import TemplateInputs

DEFAULT_COARSE_TOPOLOGY = "notoes_collapse3pc"
"""Chosen by measurement, see docs/body_models.md."""

FIT_SAMPLES = 300
BATCH_SIZE = 64


def posed_pairs(
    full: AnnyBody, coarse: AnnyBody, rng: np.random.Generator, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` random posed and shaped bodies at both resolutions, (N, V, 3) float32 each."""
    sampler = AnnyPoseSampler(full)
    full_meshes, coarse_meshes = [], []
    for start in range(0, count, BATCH_SIZE):
        size = min(BATCH_SIZE, count - start)
        pose = sampler.sample(rng, size)
        shape = sampler.sample_shapes(rng, size)
        full_meshes.append(full.forward(pose, shape).vertices.numpy())
        coarse_meshes.append(coarse.forward(pose, shape).vertices.numpy())
    return np.concatenate(full_meshes), np.concatenate(coarse_meshes)


def anny_template_inputs(
    coarse_topology: str = DEFAULT_COARSE_TOPOLOGY,
    seed: int = 0,
    num_samples: int = FIT_SAMPLES,
    full: AnnyBody | None = None,
) -> TemplateInputs:
    """Rest meshes, regressor and ``num_samples`` fitting pairs for one coarse topology."""
    if coarse_topology not in COARSE_TOPOLOGIES:
        raise ValueError(f"unknown coarse topology '{coarse_topology}'; choose one of {', '.join(COARSE_TOPOLOGIES)}")
    full = full if full is not None else AnnyBody()
    coarse = AnnyBody(coarse_topology, full_body=full)
    full_samples, coarse_samples = posed_pairs(full, coarse, np.random.default_rng(seed), num_samples)
    return TemplateInputs(
        body_model=AnnyBody.name,
        coarse_topology=coarse_topology,
        full_faces=full.faces,
        coarse_faces=coarse.faces,
        full_rest=full.reference_vertices().astype(np.float64),
        coarse_rest=coarse.reference_vertices().astype(np.float64),
        joint_regressor=full.joint_regressor,
        full_samples=full_samples,
        coarse_samples=coarse_samples,
    )
