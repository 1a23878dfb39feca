"""Training hyper-parameters as one frozen value read from ``config/train.yaml``.

Unknown keys are errors (a misspelt loss weight must not silently train with
the default) and relative paths are resolved against the working directory,
because ``lihmr train`` is run from wherever the data lives.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from lihmr_ros.model.config import NetworkConfig, dataclass_from_mapping
from lihmr_ros.yaml_files import read_settings

FULL_MESH_TARGETS = ("anny", "upsampled")
BEST_METRICS = ("mpjpe", "pa_mpjpe", "mpve", "pa_mpve")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class DataConfig:
    train: str = "data/synth_train"
    """Directory written by ``lihmr synth`` (manifest.json + shards)."""
    validation: str = ""
    """Held-out data set directory for validation and ``best.safetensors``; empty: none."""
    validation_sequences: int = 64
    """At most this many validation sequences per validation run (keeps it to seconds on a CPU)."""
    full_mesh_targets: str = "anny"
    """``anny``: exact full meshes from the stored Anny parameters (one batched Anny forward of the
    target frames per step); ``upsampled``: the stored coarse ground truth through the template's fixed
    upsampling (no Anny, but the full-resolution residual then has nothing to learn)."""


@dataclass(frozen=True)
class OptimizerConfig:
    learning_rate: float = 5e-4
    weight_decay: float = 0.02
    warmup_steps: int = 1000
    min_learning_rate_ratio: float = 0.02
    """The cosine schedule ends at this fraction of ``learning_rate``."""
    gradient_clip: float = 1.0
    """Global gradient-norm clip; 0 disables it."""


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms (metres for 3D terms, crop-normalised units for 2D ones)."""

    vertices: float = 1.0
    """L1 on the full mesh."""
    coarse_vertices: float = 1.0
    """L1 on the coarse mesh (through the full mesh when the data's coarse topology differs)."""
    joints: float = 1.0
    """L1 on the COCO joints regressed from the predicted mesh (target frame)."""
    lifted_joints: float = 1.0
    """L1 on the lifter's joints of every frame of the window."""
    reprojection: float = 0.1
    """L1 between projected joints (+ true root, true K) and true 2D joints, crop-normalised."""
    normals: float = 0.1
    """1 - cosine between predicted and true face normals of the full mesh."""
    edges: float = 5.0
    """L1 between predicted and true edge lengths of the full mesh."""
    acceleration: float = 1.0
    """L1 between predicted and true second differences of the lifter's joints across the window."""
    shape: float = 0.1
    """L1 on the shape parameters (Anny phenotypes)."""
    size: float = 0.0
    """Relative error of the full mesh's size (RMS radius about its centroid), the global scale that
    MPVE holds and PA-MPJPE removes.  Phases 1-10 predate it (0); phase 11 used 1 and did not ship."""
    stream_acceleration: float = 1.0
    """L1 between predicted and true second differences of the mesh joints across a run of consecutive
    windows (the per-frame output stream; needs ``windows_per_run`` >= 3).  The recipes of phases 1-3
    set it to 0: they predate it."""

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class AugmentConfig:
    colour_jitter: float = 0.2
    """Per-window random gain / offset of each colour channel, up to this fraction (0 disables)."""
    mirror: float = 0.0
    """Probability that a run of windows is seen in a mirror (``lihmr_ros.training.mirror``); pre-encoded data
    needs the mirrored crops' features (``lihmr encode --mirrored``).  Phases 1-16 trained without."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``lihmr train`` needs besides the network architecture."""

    data: DataConfig = field(default_factory=DataConfig)
    network: str = ""
    """Network YAML (``config/model.yaml`` layout); empty: the built-in defaults, which equal it."""
    out: str = "runs/lihmr"
    seed: int = 0
    steps: int = 60000
    batch_size: int = 32
    """Windows per step."""
    windows_per_run: int = 16
    """Consecutive windows drawn together from one sequence.  They share all but
    one frame, so the image encoder (about 98% of a window's FLOPs) runs once
    per distinct frame: 16 windows of 16 frames need 31 encoder passes instead
    of 256; and their target frames form the output stream that
    ``losses.stream_acceleration`` smooths.  1 samples every window independently."""
    init_weights: str = ""
    """Checkpoint whose weights start a new run (warm start / fine-tuning); empty: random initialisation.
    Ignored when resuming, where the run's own ``last`` checkpoint is loaded."""
    init_modules: tuple[str, ...] = ()
    """Network modules taken from ``init_weights``, named as in the state dict (``encoder``, ``lifting``,
    ``lifting.lifter``, ``refiner``); empty: all.  Lets a network with another refiner (or another
    frequency stage) start from a trained encoder and lifter."""
    surface_windows: int = 0
    """Normal and edge-length terms on at least this many (strided) windows of each batch; 0: all.  Those
    two full-mesh terms are close to half of a CPU step on pre-encoded data
    (see ``lihmr_ros.training.losses.LossFunction``)."""
    lifter_only_steps: int = 0
    """Stage-wise option: the first N steps train encoder + lifter only (lifter losses, refiner not run)."""
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    losses: LossWeights = field(default_factory=LossWeights)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    log_every: int = 20
    validate_every: int = 2000
    checkpoint_every: int = 500
    best_metric: str = "pa_mpjpe"
    device: str = "auto"
    threads: int = 2
    """CPU threads of torch (2 on the development machines)."""

    def __post_init__(self) -> None:
        problems = []
        for name in ("steps", "batch_size", "windows_per_run", "log_every", "validate_every", "checkpoint_every", "threads"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("surface_windows", "lifter_only_steps"):  # 0 switches the option off
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.init_modules and not self.init_weights:
            problems.append("init_modules needs init_weights")
        if self.data.full_mesh_targets not in FULL_MESH_TARGETS:
            problems.append(f"data.full_mesh_targets must be one of {FULL_MESH_TARGETS}")
        if self.data.validation_sequences < 1:
            problems.append("data.validation_sequences must be >= 1")
        if self.best_metric not in BEST_METRICS:
            problems.append(f"best_metric must be one of {BEST_METRICS}, got {self.best_metric!r}")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            problems.append(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        optimizer = self.optimizer
        if not optimizer.learning_rate > 0 or optimizer.weight_decay < 0 or optimizer.warmup_steps < 0:
            problems.append("optimizer: learning_rate must be > 0, weight_decay and warmup_steps >= 0")
        if not 0.0 <= optimizer.min_learning_rate_ratio <= 1.0 or optimizer.gradient_clip < 0:
            problems.append("optimizer: min_learning_rate_ratio must lie in [0, 1] and gradient_clip be >= 0")
        if self.losses.stream_acceleration > 0 and not 3 <= self.windows_per_run <= self.batch_size:
            problems.append(
                "losses.stream_acceleration follows runs of consecutive windows: it needs 3 <= windows_per_run "
                f"<= batch_size (got {self.windows_per_run} and {self.batch_size}); set it to 0 or change them"
            )
        negative = [name for name, value in self.losses.as_dict().items() if value < 0]
        if negative:
            problems.append(f"loss weights must be >= 0: {', '.join(negative)}")
        if not 0.0 <= self.augment.colour_jitter < 1.0:
            problems.append("augment.colour_jitter must lie in [0, 1)")
        if not 0.0 <= self.augment.mirror <= 1.0:
            problems.append("augment.mirror must lie in [0, 1]")
        if self.augment.mirror > 0 and self.data.full_mesh_targets != "upsampled":
            problems.append("augment.mirror mirrors the stored coarse meshes: it needs data.full_mesh_targets: "
                            "upsampled")
        if problems:
            raise ValueError("invalid training config: " + "; ".join(problems))

    def network_config(self) -> NetworkConfig:
        return NetworkConfig.from_yaml(self.network) if self.network else NetworkConfig()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        return dataclass_from_mapping(cls, data, "train")

    @classmethod
    def from_yaml(cls, path: Path | str) -> "TrainConfig":
        data = read_settings(path, "training config")
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from error

    def with_overrides(self, **changes: Any) -> "TrainConfig":
        """Same config with top-level fields replaced (``None`` values are ignored)."""
        return dataclasses.replace(self, **{key: value for key, value in changes.items() if value is not None})
