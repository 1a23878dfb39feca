"""The training loop behind ``lihmr train``.

One step: draw B windows (seeded by ``(seed, step)``, so a resumed run draws
exactly the windows an uninterrupted one would), jitter the crops' colours,
run the whole network end to end (encoder on every frame of every window,
stages 1 and 2), weight the loss terms, clip, AdamW.  Every
``checkpoint_every`` steps ``last.safetensors`` (weights, the runtime's
format) and ``last.state.pt`` (optimiser, tensors only) are replaced; every
``validate_every`` steps the held-out split is evaluated and
``best.safetensors`` keeps the best weights by ``best_metric``.

Stage-wise option: ``lifter_only_steps`` trains the encoder and lifter alone
first (lifter joints, reprojection and acceleration losses; the refiner is not
run, which also makes those steps cheaper), then everything.  Off by default:
the refiner starts from the template at the lifted joints, so joint training
from step 0 is stable, and the option is there for runs where the mesh terms
are found to disturb the lifter early on.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from lihmr_ros.body import load_template
from lihmr_ros.model.checkpoint import load_checkpoint, load_weights_into, save_checkpoint
from lihmr_ros.model.network import LIHMRNet
from lihmr_ros.training.config import TrainConfig
from lihmr_ros.training.csv_log import CsvLog
from lihmr_ros.training.losses import LossFunction, LossTargets
from lihmr_ros.training.schedule import learning_rate
from lihmr_ros.training.state import load_training_state, save_training_state
from lihmr_ros.training.targets import MeshTargets
from lihmr_ros.training.validation import ShardValidator
from lihmr_ros.training.windows import WindowBatch, WindowSampler

LAST_WEIGHTS = "last.safetensors"
LAST_STATE = "last.state.pt"
BEST_WEIGHTS = "best.safetensors"
LOG_FILE = "log.csv"
CONFIG_COPY = "train_config.yaml"


@dataclass(frozen=True)
class TrainResult:
    steps: int
    """Steps completed in total (including those of earlier runs when resumed)."""
    last_loss: float
    best_metric: float
    """Best validation value of ``best_metric`` (NaN without validation)."""
    out: Path


def resolve_device(name: str) -> torch.device:
    """``auto``: CUDA when present, else CPU; an explicit CUDA request without CUDA is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but torch sees no CUDA device; use device: auto or cpu")
    return device


def parameter_groups(network: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on the matrices of linear and convolution layers only: decaying norms, biases,
    position embeddings or the rest-pose joint prior would pull them towards a meaningless zero."""
    decayed = {
        id(module.weight)
        for module in network.modules()
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d))
    }
    parameters = [p for p in network.parameters() if p.requires_grad]
    return [
        {"params": [p for p in parameters if id(p) in decayed], "weight_decay": weight_decay},
        {"params": [p for p in parameters if id(p) not in decayed], "weight_decay": 0.0},
    ]


def colour_jitter(
    crops: torch.Tensor, groups: np.ndarray, strength: float, rng: np.random.Generator
) -> torch.Tensor:
    """Gain and offset per colour channel on (U, 3, S, S) crops in [0, 1], one change per group
    (sequence): synthetic textures and lighting are narrower than real ones, and the same change
    holds across a sequence because a camera's colour does not flicker frame to frame."""
    if strength <= 0:
        return crops
    count = int(groups.max()) + 1
    gain = 1.0 + rng.uniform(-strength, strength, size=(count, 3, 1, 1))
    offset = rng.uniform(-0.5 * strength, 0.5 * strength, size=(count, 3, 1, 1))
    change = torch.as_tensor(np.stack([gain, offset])[:, groups], dtype=crops.dtype, device=crops.device)
    return (crops * change[0] + change[1]).clamp(0.0, 1.0)


class Trainer:
    """Owns the network, optimiser, data and logs of one training run directory."""

    def __init__(
        self, config: TrainConfig, resume: bool = False, report: Callable[[str], None] = print
    ) -> None:
        self.config = config
        self.report = report
        self.out = Path(config.out)
        self.device = resolve_device(config.device)
        torch.set_num_threads(config.threads)
        network_config = config.network_config()
        self.template = load_template()
        self._check_out_dir(resume)

        torch.manual_seed(config.seed)
        self.network = LIHMRNet(network_config, self.template).to(self.device)
        started = time.perf_counter()
        self.sampler = WindowSampler(
            Path(config.data.train), network_config.window, network_config.target_index, network_config.crop.size
        )
        self.pre_encoded = self.sampler.encoder_sha256 is not None
        if self.pre_encoded:  # the stored features are only valid for the encoder that made them
            self.network.encoder.requires_grad_(False)
        self.optimizer = torch.optim.AdamW(
            parameter_groups(self.network, config.optimizer.weight_decay), lr=config.optimizer.learning_rate
        )
        self.step = 0
        self.best_metric = math.inf
        if resume:
            self._resume()
        elif config.init_weights:
            copied = load_weights_into(self.network, Path(config.init_weights), config.init_modules)
            report(f"initialised {len(copied)} tensors "
                   f"({', '.join(config.init_modules) or 'whole network'}) from {config.init_weights}")
        if self.pre_encoded:
            self._check_pre_encoded()
        self.coarse_twins = self._mirror_twins() if config.augment.mirror > 0 else None
        self.mesh_targets = MeshTargets(
            config.data.full_mesh_targets, self.template, self.sampler.coarse_topology,
            self.sampler.num_coarse_vertices, self.network.refiner.upsample, self.sampler.has_anny_parameters,
        )
        report(
            f"train data {config.data.train}: {self.sampler.num_sequences} sequences, "
            f"{self.sampler.num_windows} windows, {self.sampler.memory_bytes / 2**20:.0f} MiB in memory "
            f"({time.perf_counter() - started:.1f} s); coarse topology {self.sampler.coarse_topology}"
            + ("" if self.mesh_targets.coarse_matches else f" != template's {self.template.coarse_topology}: "
               "coarse mesh supervised through the full mesh")
            + ("; pre-encoded features, encoder frozen" if self.pre_encoded else "")
        )
        self.validator = None
        if config.data.validation:
            self.validator = ShardValidator(
                Path(config.data.validation), config.data.validation_sequences, template=self.template
            )
            report(f"validation data {config.data.validation}: {len(self.validator.sequences)} sequences")
        self.losses = LossFunction(
            config.losses, self.template.full_faces, self.network.refiner.upsample, self.device, config.surface_windows
        )
        self.log = CsvLog(self.out / LOG_FILE)
        report(f"device {self.device}, {sum(p.numel() for p in self.network.parameters()):,} parameters, "
               f"starting at step {self.step} of {config.steps}")

    def _check_pre_encoded(self) -> None:
        """Pre-encoded data needs a network that uses image features, with the very encoder that made them."""
        from lihmr_ros.training.encoded import encoder_digest

        if not self.network.config.image_features:
            raise ValueError(f"{self.config.data.train} holds encoder features but the network does not use them")
        if encoder_digest(self.network) != self.sampler.encoder_sha256:
            raise ValueError(
                f"{self.config.data.train} was encoded by another encoder than this network's; set init_weights "
                f"to the checkpoint it was encoded with ({self.sampler.directory}/manifest.json: encoder.checkpoint)"
            )

    def _mirror_twins(self) -> np.ndarray:
        """The coarse template's left/right vertex twins, after checking the data can be mirrored."""
        from lihmr_ros.runtime.flip_averaging import mirror_twins

        self.sampler.check_can_mirror()
        return mirror_twins(self.template.coarse_vertices)

    def _check_out_dir(self, resume: bool) -> None:
        has_run = (self.out / LAST_WEIGHTS).is_file() or (self.out / LOG_FILE).is_file()
        if resume and not (self.out / LAST_WEIGHTS).is_file():
            raise FileNotFoundError(f"cannot resume: {self.out / LAST_WEIGHTS} does not exist")
        if has_run and not resume:
            raise FileExistsError(f"{self.out} already holds a training run; pass --resume or choose another --out")
        self.out.mkdir(parents=True, exist_ok=True)
        import yaml

        (self.out / CONFIG_COPY).write_text(yaml.safe_dump(self.config.to_dict(), sort_keys=False))

    def _resume(self) -> None:
        stored = load_checkpoint(self.out / LAST_WEIGHTS, self.template, expected_config=self.network.config)
        self.network.load_state_dict(stored.state_dict())
        self.step, self.best_metric = load_training_state(self.out / LAST_STATE, self.optimizer)
        self.report(f"resumed {self.out} at step {self.step}")

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32, device=self.device)

    def _targets(self, batch: WindowBatch) -> LossTargets:
        tensor = self._tensor
        return LossTargets(
            vertices=self.mesh_targets.full_vertices(batch, self.device),
            coarse_vertices=tensor(batch.target_coarse_vertices) if self.mesh_targets.coarse_matches else None,
            joints=tensor(batch.joints),
            root=tensor(batch.root),
            joints_2d=tensor(batch.joints_2d),
            boxes=tensor(batch.boxes),
            intrinsics=tensor(batch.intrinsics),
            shape=tensor(batch.phenotypes),
        )

    def train_step(self) -> dict[str, float]:
        """One optimiser step; returns the loss terms (unweighted) and the weighted total."""
        config = self.config
        rng = np.random.default_rng([config.seed, self.step])
        batch = self.sampler.sample(
            rng, config.batch_size, config.windows_per_run, config.augment.mirror, self.coarse_twins
        )
        crop_index = torch.as_tensor(batch.crop_index, device=self.device)
        keypoints = torch.as_tensor(batch.keypoints, device=self.device)
        crop_info = torch.as_tensor(batch.crop_info, device=self.device)
        lifter_only = self.step < config.lifter_only_steps
        targets = self._targets_without_mesh(batch) if lifter_only else self._targets(batch)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(
                self.step, config.steps, config.optimizer.learning_rate, config.optimizer.warmup_steps,
                config.optimizer.min_learning_rate_ratio,
            )

        network = self.network
        features = self._window_features(batch, crop_index, rng)
        if lifter_only:
            lifted = network.lifting(features, keypoints, crop_info)
            terms = self.losses.lifter_terms(lifted.joints3d, targets)
        else:
            output = network.forward_features(features, keypoints, crop_info)
            terms = self.losses.lifter_terms(output.lifted_joints, targets)
            terms.update(
                self.losses.mesh_terms(output, targets, network.config.target_index, config.windows_per_run)
            )
        total = self.losses.total(terms)
        if not torch.isfinite(total):
            raise FloatingPointError(f"loss became {total.item()} at step {self.step}; lower the learning rate")
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        if config.optimizer.gradient_clip > 0:
            nn.utils.clip_grad_norm_(network.parameters(), config.optimizer.gradient_clip)
        self.optimizer.step()
        self.step += 1
        values = {name: float(value.detach()) for name, value in terms.items()}
        values["loss"] = float(total.detach())
        return values

    def _window_features(self, batch: WindowBatch, crop_index: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """(B, T, D) per-frame image features of the batch's windows."""
        network = self.network
        if self.pre_encoded:
            return self._tensor(batch.crops)[crop_index]
        if not network.config.image_features:  # ablation: the network ignores them, so skip the encoder's cost
            return torch.zeros(*crop_index.shape, network.config.encoder.feature_dim, device=self.device)
        # Contiguous (U, 3, S, S): torch 2.13's CPU backward through the encoder crashes (heap
        # corruption) on the channels-last strides that a bare permute of (..., S, S, 3) crops leaves.
        crops = torch.as_tensor(batch.crops, device=self.device).permute(0, 3, 1, 2).contiguous()
        crops = colour_jitter(crops.float().div_(255.0), batch.crop_group, self.config.augment.colour_jitter, rng)
        return network.encode_crops(crops)[crop_index]  # each distinct frame encoded once

    def _targets_without_mesh(self, batch: WindowBatch) -> LossTargets:
        """Targets for the lifter-only phase: no full meshes needed, so no Anny forward."""
        empty = torch.zeros(0, device=self.device)
        tensor = self._tensor
        return LossTargets(
            vertices=empty, coarse_vertices=None, joints=tensor(batch.joints), root=tensor(batch.root),
            joints_2d=tensor(batch.joints_2d), boxes=tensor(batch.boxes), intrinsics=tensor(batch.intrinsics),
            shape=empty,
        )

    def run(self, max_steps: int | None = None, progress: bool = True) -> TrainResult:
        """Train until ``config.steps`` (or ``max_steps`` more steps); always leaves a resumable checkpoint."""
        from tqdm import tqdm

        config = self.config
        end = config.steps if max_steps is None else min(config.steps, self.step + max_steps)
        self.network.train()
        last_loss = math.nan
        train_seconds, windows_done = 0.0, 0
        with tqdm(total=end, initial=self.step, disable=not progress, unit="step", desc="lihmr train") as bar:
            while self.step < end:
                started = time.perf_counter()
                values = self.train_step()
                train_seconds += time.perf_counter() - started
                last_loss = values["loss"]
                windows_done += config.batch_size
                bar.update(1)
                bar.set_postfix(loss=f"{last_loss:.4f}")
                row: dict[str, float | int] = {}
                if self.step % config.log_every == 0 or self.step == end:
                    row.update({f"loss_{name}" if name != "loss" else name: value for name, value in values.items()})
                    # Training steps only: validation and checkpoint time is not throughput.
                    row["windows_per_second"] = windows_done / max(train_seconds, 1e-9)
                    train_seconds, windows_done = 0.0, 0
                if self.validator is not None and (self.step % config.validate_every == 0 or self.step == config.steps):
                    row.update(self._validate())
                if row:
                    row["step"] = self.step
                    row["learning_rate"] = self.optimizer.param_groups[0]["lr"]
                    self.log.write(row)
                if self.step % config.checkpoint_every == 0 or self.step == end:
                    self._save_last(last_loss)
        return TrainResult(
            steps=self.step,
            last_loss=last_loss,
            best_metric=self.best_metric if math.isfinite(self.best_metric) else math.nan,
            out=self.out,
        )

    def _validate(self) -> dict[str, float]:
        metrics = self.validator.evaluate(self.network, self.device)
        value = float(metrics[self.config.best_metric])
        improved = math.isfinite(value) and value < self.best_metric
        if improved:
            self.best_metric = value
            save_checkpoint(self.out / BEST_WEIGHTS, self.network, self._training_info({"best": metrics}))
        self.report(
            f"step {self.step}: validation MPJPE {metrics['mpjpe']:.1f} PA-MPJPE {metrics['pa_mpjpe']:.1f} "
            f"MPVE {metrics['mpve']:.1f} mm{' (best)' if improved else ''}"
        )
        return {f"val_{name}": float(metrics[name]) for name in ("mpjpe", "pa_mpjpe", "mpve", "pa_mpve", "accel")}

    def _training_info(self, extra: dict | None = None) -> dict:
        start = {"init_weights": self.config.init_weights} if self.config.init_weights else {}
        return {"step": self.step, "seed": self.config.seed, "train_data": self.config.data.train, **start,
                **(extra or {})}

    def _save_last(self, loss: float) -> None:
        save_checkpoint(self.out / LAST_WEIGHTS, self.network, self._training_info({"loss": loss}))
        save_training_state(self.out / LAST_STATE, self.optimizer, self.step, self.best_metric)
