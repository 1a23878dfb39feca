"""Training windows from synthetic shards, held in memory and sampled by index arithmetic.

Why preload: on two CPU cores a step is bound by the network, and any data
loader that decompresses shards or spawns workers per step steals from it.
Every shard is read once into flat numpy arrays (crops stay uint8, ~49 kB per
128 px frame, so 100k frames fit in ~5 GB); a window is then a row of a
precomputed (N, T) index table and a batch is one fancy-indexing gather.

Windows mirror the runtime's person windows (``lihmr_ros.tracking.window``):
they hold only frames where the person had a crop (the runtime's track only
receives frames where the person was detected), end at the target frame
(causal) or centre on it, and are edge-padded by repeating the end frame
when the sequence has too few such frames.  A target frame must be
``frame_valid`` (enough joints visible to be a meaningful label).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lihmr_ros.synth.generator import KEYPOINTS_NONE
from lihmr_ros.training.encoded import MIRRORED_FEATURES, EncodedDataset, open_training_data
from lihmr_ros.training.mirror import mirror_windows

PER_FRAME_KEYS: tuple[str, ...] = (
    "keypoints",
    "crop_info",
    "boxes",
    "joints_2d",
    "joints_cam",
    "root_cam",
    "coarse_vertices",
)
ANNY_PARAMETER_KEYS: tuple[str, ...] = ("pose_quaternions", "global_rotation")
"""Only in plain ``lihmr synth`` data: what rebuilds the exact full mesh (``full_mesh_targets: anny``)."""


@dataclass(frozen=True)
class WindowBatch:
    """B windows of T frames as numpy arrays; ``target_*`` fields describe each window's target frame."""

    crops: np.ndarray
    """(U, S, S, 3) uint8 RGB crops of the U distinct frames the windows use (shared, encoded once),
    or (U, D) float16 encoder features when the data set is pre-encoded (:mod:`.encoded`)."""
    crop_index: np.ndarray
    """(B, T) int64 row of ``crops`` for every frame of every window."""
    crop_group: np.ndarray
    """(U,) int64 sequence of each crop, numbered 0..G-1 within the batch (for per-camera augmentation)."""
    keypoints: np.ndarray
    """(B, T, 17, 3) float32 crop-normalised keypoints + confidence (network input)."""
    crop_info: np.ndarray
    """(B, T, 3) float32 (network input)."""
    boxes: np.ndarray
    """(B, T, 3) float32 crop boxes (cx, cy, size), pixels."""
    joints_2d: np.ndarray
    """(B, T, 17, 2) float32 projected true joints, pixels."""
    joints: np.ndarray
    """(B, T, 17, 3) float32 true root-relative joints, camera frame, metres."""
    root: np.ndarray
    """(B, T, 3) float32 true root positions, camera frame."""
    intrinsics: np.ndarray
    """(B, 3, 3) float32 camera matrices."""
    phenotypes: np.ndarray
    """(B, P) float32 true shape parameters."""
    target_coarse_vertices: np.ndarray
    """(B, Vc, 3) float32 true root-relative coarse vertices of the data set's coarse topology."""
    target_pose_quaternions: np.ndarray | None
    """(B, 104, 4) float32 Anny bone rotations of the target frame (to rebuild its full mesh);
    None for pre-encoded data, which does not keep them."""
    target_global_rotation: np.ndarray | None
    """(B, 3, 3) float32, or None like ``target_pose_quaternions``."""

    @property
    def size(self) -> int:
        return int(self.crop_index.shape[0])


def window_table(has_crop: np.ndarray, is_target: np.ndarray, window: int, target_index: int) -> np.ndarray:
    """(N, T) frame indices (into this sequence) of the window of every usable target frame.

    ``has_crop`` / ``is_target`` are (F,) bool for one sequence.  Windows are
    built over the frames with a crop only; positions before the first or
    after the last of them repeat that end frame.
    """
    crop_frames = np.flatnonzero(has_crop)
    targets = np.flatnonzero(is_target & has_crop)
    if targets.size == 0:
        return np.zeros((0, window), dtype=np.int64)
    position = np.searchsorted(crop_frames, targets)
    offsets = np.arange(window) - target_index
    rows = np.clip(position[:, None] + offsets[None, :], 0, crop_frames.size - 1)
    return crop_frames[rows]


class WindowSampler:
    """All frames of one data set in memory plus the table of every training window."""

    def __init__(self, directory: Path, window: int, target_index: int, crop_size: int) -> None:
        dataset = open_training_data(Path(directory))
        self.directory = Path(directory)
        self.encoder_sha256: str | None = (
            dataset.encoder_sha256 if isinstance(dataset, EncodedDataset) else None
        )
        """Digest of the encoder that made the stored features; None when the data holds crops."""
        self.coarse_topology: str = dataset.manifest["config"]["body"]["coarse_topology"]
        stored_crop = int(dataset.manifest["config"]["output"]["crop_size"])
        if stored_crop != crop_size:
            raise ValueError(
                f"{directory} holds {stored_crop} px crops but the network takes {crop_size} px crops; "
                f"regenerate the data with output.crop_size: {crop_size}"
            )
        image_key = "crops" if self.encoder_sha256 is None else "encoder_features"
        has_mirrored = isinstance(dataset, EncodedDataset) and dataset.has_mirrored_features
        mirrored_key = (MIRRORED_FEATURES,) if has_mirrored else ()
        keys = (image_key, *mirrored_key, *PER_FRAME_KEYS,
                *(ANNY_PARAMETER_KEYS if self.encoder_sha256 is None else ()))
        columns: dict[str, list[np.ndarray]] = {key: [] for key in keys}
        frame_sequence, sequence_intrinsics, sequence_phenotypes, tables = [], [], [], []
        first_frame, sequence_index = 0, 0
        for record in dataset.sequences():
            for key in keys:
                columns[key].append(record.arrays[key])
            has_crop = record.arrays["keypoint_source"] != KEYPOINTS_NONE
            table = window_table(has_crop, record.arrays["frame_valid"], window, target_index)
            tables.append(table + first_frame)
            frame_sequence.append(np.full(record.num_frames, sequence_index, dtype=np.int64))
            sequence_intrinsics.append(record.intrinsics)
            sequence_phenotypes.append(record.phenotypes)
            first_frame += record.num_frames
            sequence_index += 1
        if sequence_index == 0:
            raise ValueError(f"{directory} holds no sequences")
        self.frames = {key: np.concatenate(parts) for key, parts in columns.items()}
        self.frames["crops"] = self.frames.pop(image_key)
        if mirrored_key:
            self.frames["mirrored_crops"] = self.frames.pop(MIRRORED_FEATURES)
        self.frame_sequence = np.concatenate(frame_sequence)
        self.intrinsics = np.stack(sequence_intrinsics).astype(np.float32)
        self.phenotypes = np.stack(sequence_phenotypes).astype(np.float32)
        self.windows = np.concatenate(tables)
        window_sequence = self.frame_sequence[self.windows[:, target_index]] if len(self.windows) else np.zeros(0)
        # Windows of one sequence are contiguous rows: [first, end) per sequence, for run sampling.
        self._run_first = np.searchsorted(window_sequence, window_sequence, side="left")
        self._run_end = np.searchsorted(window_sequence, window_sequence, side="right")
        self.num_sequences = sequence_index
        if len(self.windows) == 0:
            raise ValueError(f"{directory} has no frame usable as a training target (frame_valid with a crop)")
        self.target_index = target_index

    @property
    def num_windows(self) -> int:
        return int(len(self.windows))

    @property
    def has_anny_parameters(self) -> bool:
        """Whether batches carry the target frames' Anny parameters (plain data, not pre-encoded)."""
        return "pose_quaternions" in self.frames

    def check_can_mirror(self) -> None:
        """Raise unless windows can be mirrored: crops can be flipped, features only if their mirror images'
        are stored (``lihmr encode --mirrored``)."""
        if self.encoder_sha256 is not None and "mirrored_crops" not in self.frames:
            raise ValueError(f"{self.directory} holds no features of mirrored crops; re-encode it with "
                             "`lihmr encode --mirrored` or set augment.mirror to 0")

    @property
    def num_coarse_vertices(self) -> int:
        return int(self.frames["coarse_vertices"].shape[1])

    @property
    def memory_bytes(self) -> int:
        return int(sum(array.nbytes for array in self.frames.values()))

    def sample(
        self,
        rng: np.random.Generator,
        batch_size: int,
        windows_per_run: int = 1,
        mirror_probability: float = 0.0,
        coarse_twins: np.ndarray | None = None,
    ) -> WindowBatch:
        """``batch_size`` windows in runs of ``windows_per_run`` consecutive ones (:meth:`sample_ids`); each run
        is mirrored with ``mirror_probability`` (whole runs, so their output stream stays one motion)."""
        ids = self.sample_ids(rng, batch_size, windows_per_run)
        if mirror_probability <= 0.0:
            return self.gather(ids)
        runs = -(-batch_size // windows_per_run)
        flags = np.repeat(rng.random(runs) < mirror_probability, windows_per_run)[:batch_size]
        return self.gather(ids, flags, coarse_twins)

    def sample_ids(self, rng: np.random.Generator, batch_size: int, windows_per_run: int) -> np.ndarray:
        """(batch_size,) rows of :attr:`windows`: runs of ``windows_per_run`` consecutive windows, run after run.

        Each run starts at a window drawn uniformly with replacement and is
        shifted back where it would cross the end of its sequence; a sequence
        with fewer windows than a run repeats its last one.  Within a run the
        target frames therefore advance through one sequence in time order,
        which ``stream_acceleration`` relies on.
        """
        runs = -(-batch_size // windows_per_run)
        starts = rng.integers(0, self.num_windows, size=runs)
        first, end = self._run_first[starts], self._run_end[starts]
        starts = np.maximum(first, np.minimum(starts, end - windows_per_run))
        ids = np.minimum(starts[:, None] + np.arange(windows_per_run)[None, :], end[:, None] - 1)
        return ids.reshape(-1)[:batch_size]

    def gather(
        self, window_ids: np.ndarray, mirrored: np.ndarray | None = None, coarse_twins: np.ndarray | None = None
    ) -> WindowBatch:
        """The windows with the given rows of :attr:`windows`; those flagged in ``mirrored`` (B,) seen in a
        mirror (:func:`~lihmr_ros.training.mirror.mirror_windows`, with the coarse template's ``coarse_twins``)."""
        rows = self.windows[np.asarray(window_ids, dtype=np.int64)]  # (B, T) global frame indices
        targets = rows[:, self.target_index]
        sequences = self.frame_sequence[targets]
        frames = self.frames
        distinct, crop_index = np.unique(rows, return_inverse=True)
        _, crop_group = np.unique(self.frame_sequence[distinct], return_inverse=True)
        crops, crop_index, crop_group = frames["crops"][distinct], crop_index.reshape(rows.shape), crop_group.ravel()
        mirroring = mirrored is not None and bool(np.any(mirrored))
        if mirroring:
            self.check_can_mirror()
            if coarse_twins is None:
                raise ValueError("mirroring windows needs the coarse template's vertex twins")
            # Mirrored windows read the second half: the same frames' flipped crops (or their features).
            flipped = frames["mirrored_crops"][distinct] if "mirrored_crops" in frames else crops[:, :, ::-1]
            crop_index = np.where(np.asarray(mirrored)[:, None], crop_index + len(distinct), crop_index)
            crops, crop_group = np.concatenate([crops, flipped]), np.concatenate([crop_group, crop_group])
        batch = WindowBatch(
            crops=crops,
            crop_index=crop_index,
            crop_group=crop_group,
            keypoints=frames["keypoints"][rows],
            crop_info=frames["crop_info"][rows],
            boxes=frames["boxes"][rows],
            joints_2d=frames["joints_2d"][rows],
            joints=frames["joints_cam"][rows],
            root=frames["root_cam"][rows],
            intrinsics=self.intrinsics[sequences],
            phenotypes=self.phenotypes[sequences],
            target_coarse_vertices=frames["coarse_vertices"][targets].astype(np.float32),
            target_pose_quaternions=frames["pose_quaternions"][targets] if "pose_quaternions" in frames else None,
            target_global_rotation=frames["global_rotation"][targets] if "global_rotation" in frames else None,
        )
        return mirror_windows(batch, mirrored, coarse_twins) if mirroring else batch
