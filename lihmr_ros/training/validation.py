"""Network-only validation on synthetic shards: stored crops and keypoints in, metrics out.

This is the quick check run during training (no detector, no tracking, no
rendering): each held-out sequence goes through
:func:`lihmr_ros.model.network.predict_sequence` over its frames that have a
crop, in time order, with the same edge-padded causal / centred windows as
training and the runtime.  Metrics are those of ``lihmr eval``
(:mod:`lihmr_ros.evaluation.metrics`); the full ground-truth meshes are
rebuilt once from the stored Anny parameters and kept in memory (float16).

Pre-encoded data (:mod:`lihmr_ros.training.encoded`) validates too, for runs
on machines without Anny: its stored features replace the encoder, and the
ground-truth meshes are the stored coarse meshes through the template's
upsampling (1.5 mm mean from the exact ones: fine for choosing the best
step, not for the numbers a model card reports).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lihmr_ros.body.template import MeshTemplate
from lihmr_ros.body.upsampling import apply_upsampling
from lihmr_ros.evaluation.metrics import MetricAccumulator
from lihmr_ros.model.inputs import crops_to_network
from lihmr_ros.model.network import LIHMRNet, predict_sequence, predict_sequence_features
from lihmr_ros.synth.dataset import SequenceRecord, VertexReconstructor
from lihmr_ros.synth.generator import KEYPOINTS_NONE
from lihmr_ros.training.encoded import EncodedDataset, open_training_data


@dataclass(frozen=True)
class ValidationSequence:
    crops: np.ndarray
    """(C, S, S, 3) uint8 crops of the C frames with a crop, or (C, D) float16 features (pre-encoded)."""
    keypoints: np.ndarray
    """(C, 17, 3) float32."""
    crop_info: np.ndarray
    """(C, 3) float32."""
    has_crop: np.ndarray
    """(F,) bool over all frames of the sequence."""
    joints: np.ndarray
    """(F, 17, 3) float32 true root-relative joints, NaN where the frame is not a valid target."""
    vertices: np.ndarray
    """(F, Vf, 3) float16 true root-relative full meshes, NaN where not a valid target."""


class ShardValidator:
    """Holds up to ``max_sequences`` held-out sequences and evaluates a network on them."""

    def __init__(
        self,
        directory: Path,
        max_sequences: int,
        reconstructor: VertexReconstructor | None = None,
        template: MeshTemplate | None = None,
    ) -> None:
        """``reconstructor`` rebuilds plain data's meshes; ``template`` upsamples pre-encoded data's."""
        dataset = open_training_data(Path(directory))
        self.pre_encoded = isinstance(dataset, EncodedDataset)
        if self.pre_encoded and template is None:
            raise ValueError("validating on pre-encoded data needs the mesh template to upsample its coarse meshes")
        if not self.pre_encoded:
            reconstructor = reconstructor or VertexReconstructor()
        self.sequences: list[ValidationSequence] = []
        for record in dataset.sequences():
            if len(self.sequences) >= max_sequences:
                break
            arrays = record.arrays
            has_crop = arrays["keypoint_source"] != KEYPOINTS_NONE
            valid = arrays["frame_valid"] & has_crop
            if not valid.any():
                continue
            if self.pre_encoded:
                vertices = apply_upsampling(arrays["coarse_vertices"], template.upsample_index, template.upsample_weight)
            else:
                vertices = _reconstructed(record, reconstructor)
            joints = arrays["joints_cam"].astype(np.float32).copy()
            joints[~valid] = np.nan
            vertices = vertices.astype(np.float32)
            vertices[~valid] = np.nan
            self.sequences.append(
                ValidationSequence(
                    crops=arrays["encoder_features" if self.pre_encoded else "crops"][has_crop],
                    keypoints=arrays["keypoints"][has_crop],
                    crop_info=arrays["crop_info"][has_crop],
                    has_crop=has_crop,
                    joints=joints,
                    vertices=vertices.astype(np.float16),
                )
            )
        if not self.sequences:
            raise ValueError(f"validation data {directory} has no sequence with a valid target frame")

    @torch.no_grad()
    def evaluate(self, network: LIHMRNet, device: torch.device, batch_size: int = 32) -> dict[str, float | int]:
        """Metrics (mm) of ``network`` over the held sequences; the network's train/eval mode is restored."""
        was_training = network.training
        network.eval()
        accumulator = MetricAccumulator()
        try:
            for sequence in self.sequences:
                keypoints = torch.as_tensor(sequence.keypoints, device=device)
                crop_info = torch.as_tensor(sequence.crop_info, device=device)
                if self.pre_encoded:
                    features = torch.as_tensor(sequence.crops, dtype=torch.float32, device=device)
                    output = predict_sequence_features(network, features, keypoints, crop_info, batch_size)
                else:
                    crops = torch.as_tensor(crops_to_network(sequence.crops), device=device)
                    output = predict_sequence(network, crops, keypoints, crop_info, batch_size=batch_size)
                frames = sequence.has_crop.shape[0]
                joints = np.full((frames, 17, 3), np.nan, dtype=np.float32)
                vertices = np.full((frames, *sequence.vertices.shape[1:]), np.nan, dtype=np.float32)
                joints[sequence.has_crop] = output.joints.cpu().numpy()
                vertices[sequence.has_crop] = output.vertices.cpu().numpy()
                accumulator.add_sequence(
                    joints, sequence.joints, sequence.has_crop, vertices, sequence.vertices.astype(np.float32)
                )
        finally:
            network.train(was_training)
        return accumulator.summary()


def _reconstructed(record: SequenceRecord, reconstructor: VertexReconstructor) -> np.ndarray:
    """(F, Vf, 3) exact root-relative meshes of a plain sequence from its Anny parameters."""
    arrays = record.arrays
    vertices, _ = reconstructor(
        arrays["pose_quaternions"],
        record.phenotypes,
        arrays["global_rotation"],
        np.zeros((record.num_frames, 3), dtype=np.float32),
    )
    return vertices
