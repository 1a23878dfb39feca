"""Measure coarse-to-full upsampling for every Anny coarse topology.

Backs the choice of the default template topology (docs/body_models.md):
each topology's table is fitted on one set of random bodies and scored on
bodies drawn from an independent random stream, together with the error of
the two ways to get COCO joints from the coarse mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lihmr_ros.body.anny_model import COARSE_TOPOLOGIES, AnnyBody
from lihmr_ros.body.anny_template import anny_template_inputs, posed_pairs
from lihmr_ros.body.template_builder import DEFAULT_NEIGHBOURS, fit_upsampling_table
from lihmr_ros.body.upsampling import UpsamplingErrors, compose_regressor, noise_gain, upsampling_errors

HELD_OUT_SEED_OFFSET = 1_000_003
"""Added to the fitting seed so held-out bodies come from an unrelated random stream."""


@dataclass(frozen=True)
class TopologyMeasurement:
    topology: str
    num_vertices: int
    vertices: UpsamplingErrors
    mean_noise_gain: float
    max_noise_gain: float
    composed_joint_error_mm: float
    """Mean error of COCO joints from the coarse mesh via the composed (regressor x upsampling) regressor."""
    nearest_joint_error_mm: float
    """Mean error of COCO joints from the coarse mesh via the nearest-vertex transferred regressor."""

    def markdown_row(self) -> str:
        return (
            f"| {self.topology} | {self.num_vertices} | {self.vertices.mean_mm:.2f} | {self.vertices.p95_mm:.2f} "
            f"| {self.vertices.max_mm:.1f} | {self.mean_noise_gain:.2f} / {self.max_noise_gain:.2f} "
            f"| {self.composed_joint_error_mm:.2f} | {self.nearest_joint_error_mm:.2f} |"
        )


MARKDOWN_HEADER = (
    "| coarse topology | Vc | mean mm | p95 mm | max mm | noise gain mean / max | joints composed mm "
    "| joints nearest-vertex mm |\n|---|---|---|---|---|---|---|---|"
)


def measure_topology(
    full: AnnyBody, topology: str, seed: int, num_fit: int, num_test: int, neighbours: int = DEFAULT_NEIGHBOURS
) -> TopologyMeasurement:
    """Fit on ``num_fit`` bodies from ``seed``, score on ``num_test`` held-out bodies."""
    inputs = anny_template_inputs(topology, seed=seed, num_samples=num_fit, full=full)
    coarse = AnnyBody(topology, full_body=full)
    test_full, test_coarse = posed_pairs(full, coarse, np.random.default_rng(seed + HELD_OUT_SEED_OFFSET), num_test)
    index, weight = fit_upsampling_table(inputs, neighbours)
    regressor = full.joint_regressor.astype(np.float64)
    true_joints = np.einsum("jv,nvc->njc", regressor, test_full)
    composed = compose_regressor(regressor, index, weight, coarse.num_vertices)
    gain = noise_gain(weight)

    def joint_error_mm(coarse_regressor: np.ndarray) -> float:
        joints = np.einsum("jv,nvc->njc", coarse_regressor.astype(np.float64), test_coarse)
        return float(1000.0 * np.linalg.norm(joints - true_joints, axis=-1).mean())

    return TopologyMeasurement(
        topology=topology,
        num_vertices=coarse.num_vertices,
        vertices=upsampling_errors(test_full, test_coarse, index, weight),
        mean_noise_gain=float(gain.mean()),
        max_noise_gain=float(gain.max()),
        composed_joint_error_mm=joint_error_mm(composed),
        nearest_joint_error_mm=joint_error_mm(coarse.joint_regressor),
    )


def measure_all(
    seed: int,
    num_fit: int,
    num_test: int,
    neighbours: int = DEFAULT_NEIGHBOURS,
    topologies: tuple[str, ...] = COARSE_TOPOLOGIES,
) -> list[TopologyMeasurement]:
    full = AnnyBody()
    return [measure_topology(full, topology, seed, num_fit, num_test, neighbours) for topology in topologies]
