"""Settings of the synthetic data engine, read from ``config/synth.yaml``.

Every random choice the engine makes draws from a range written here, so a
data set is fully described by (config, seed, split) and the manifest can
record exactly what produced it.  The held-out test split is the train
settings with the ``splits.test`` overrides applied (other ages and body
weights, wider poses, other camera distances), so test numbers measure
generalisation rather than memorised distributions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from lihmr_ros.model.config import dataclass_from_mapping
from lihmr_ros.model.inputs import CropSpec
from lihmr_ros.yaml_files import deep_merge, read_settings

SPLITS = ("train", "test")

DEFAULT_SPLIT_OVERRIDES: Mapping[str, Mapping[str, Any]] = {
    "train": {},
    "test": {
        "seed_offset": 1_000_003,
        "body": {"age_range_years": [3.0, 92.0], "weight_shift": 0.08},
        "motion": {"activity": [0.5, 1.25], "walk_speed_mps": [0.3, 2.0], "turn_rate_deg_s": [0.0, 90.0]},
        "camera": {"distance_m": [1.2, 12.0], "height_m": [0.2, 2.4]},
    },
}
"""Built-in split differences; ``splits.<name>`` in the YAML file is merged over them."""

Range = tuple[float, float]


def _check_range(name: str, value: Range, low: float | None = None, high: float | None = None) -> None:
    if len(value) != 2 or not value[0] <= value[1]:
        raise ValueError(f"{name} must be a [low, high] pair with low <= high, got {list(value)}")
    if low is not None and value[0] < low:
        raise ValueError(f"{name} must not go below {low}, got {list(value)}")
    if high is not None and value[1] > high:
        raise ValueError(f"{name} must not go above {high}, got {list(value)}")


def _check_probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}")


@dataclass(frozen=True)
class BodySettings:
    """Who is in the sequences."""

    age_range_years: Range = (4.0, 85.0)
    """Uniform range of morphological ages (children to elderly)."""
    weight_shift: float = 0.0
    """Added to Anny's ``weight`` phenotype after sampling (skews the BMI mix), clipped to [0, 1]."""
    coarse_topology: str = "notoes_collapse3pc"
    """Anny retopology whose vertices are stored per frame: the mesh template's coarse topology (369 vertices)."""

    def validate(self) -> None:
        _check_range("body.age_range_years", self.age_range_years, 0.0, 110.0)
        if not -1.0 <= self.weight_shift <= 1.0:
            raise ValueError(f"body.weight_shift must lie in [-1, 1], got {self.weight_shift}")


@dataclass(frozen=True)
class MotionSettings:
    """How people move during a sequence."""

    frames: tuple[int, int] = (32, 64)
    """Sequence length range (inclusive)."""
    fps: float = 30.0
    key_pose_interval_s: Range = (0.6, 1.6)
    """Time between consecutive random key poses; slerp in between."""
    activity: Range = (0.3, 1.0)
    """Range of the pose sampler's per-pose activity (scales every joint's deviation from rest)."""
    root_tilt_deg: float = 8.0
    """Maximum whole-body lean of a key pose."""
    walk_probability: float = 0.5
    """Chance that a sequence is a walk (gait cycle on the legs) rather than in-place motion."""
    walk_speed_mps: Range = (0.4, 1.6)
    drift_speed_mps: Range = (0.0, 0.3)
    """Slow translation of people who do not walk (shifting, stepping about)."""
    turn_rate_deg_s: Range = (0.0, 60.0)
    """Magnitude of the heading change rate, redrawn at every key pose."""

    def validate(self) -> None:
        if not 2 <= self.frames[0] <= self.frames[1]:
            raise ValueError(f"motion.frames must be [low, high] with 2 <= low <= high, got {list(self.frames)}")
        if not self.fps > 0:
            raise ValueError(f"motion.fps must be positive, got {self.fps}")
        _check_range("motion.key_pose_interval_s", self.key_pose_interval_s, 0.05)
        _check_range("motion.activity", self.activity, 0.0)
        _check_probability("motion.walk_probability", self.walk_probability)
        _check_range("motion.walk_speed_mps", self.walk_speed_mps, 0.0, 3.0)
        _check_range("motion.drift_speed_mps", self.drift_speed_mps, 0.0, 3.0)
        _check_range("motion.turn_rate_deg_s", self.turn_rate_deg_s, 0.0)


@dataclass(frozen=True)
class CameraSettings:
    """Intrinsics and placement, as a robot's camera sees people."""

    image_sizes: tuple[tuple[int, int], ...] = ((320, 240), (480, 360), (640, 480))
    """(width, height) choices, one per sequence."""
    horizontal_fov_deg: Range = (40.0, 100.0)
    distance_m: Range = (1.5, 10.0)
    """Horizontal distance from the camera to the person at mid-sequence."""
    height_m: Range = (0.3, 2.0)
    """Camera height above the floor."""
    lateral_spread: float = 1.0
    """Person's mid-sequence bearing, as a fraction of the half field of view (>1 puts people past the edge)."""
    aim_height: Range = (0.2, 0.9)
    """The camera aims at this fraction of the person's height (0 feet, 1 head) ..."""
    tilt_jitter_deg: float = 6.0
    """... plus this much random pitch, so people are not always centred vertically."""
    roll_deg: float = 3.0
    principal_point_jitter: float = 0.02
    """Principal point offset from the image centre, as a fraction of the image size."""

    def validate(self) -> None:
        if not self.image_sizes:
            raise ValueError("camera.image_sizes must list at least one [width, height]")
        for size in self.image_sizes:
            if len(size) != 2 or min(size) < 32:
                raise ValueError(f"camera.image_sizes entries must be [width, height] >= 32, got {list(size)}")
        _check_range("camera.horizontal_fov_deg", self.horizontal_fov_deg, 10.0, 150.0)
        _check_range("camera.distance_m", self.distance_m, 0.5)
        _check_range("camera.height_m", self.height_m, 0.0)
        _check_range("camera.aim_height", self.aim_height, -0.5, 1.5)
        if not self.lateral_spread >= 0:
            raise ValueError(f"camera.lateral_spread must be >= 0, got {self.lateral_spread}")


@dataclass(frozen=True)
class SceneSettings:
    """Backgrounds, clutter, light."""

    floor_probability: float = 0.8
    """Chance of a textured 3D floor (else the procedural backdrop fills the frame)."""
    occluder_probability: float = 0.35
    """Chance that a sequence has boxes between the camera and the person."""
    max_occluders: int = 2
    texture_size: int = 512
    """Side of the painted person texture in texels."""
    patterned_clothing: float = 0.4
    """Fraction of tops with stripes / checks / mottling."""
    sensor_noise: Range = (0.0, 4.0)
    """Standard deviation of additive pixel noise (0..255 scale)."""
    blur_probability: float = 0.15
    """Chance of a slight Gaussian blur (defocus) over a whole sequence."""

    def validate(self) -> None:
        _check_probability("scene.floor_probability", self.floor_probability)
        _check_probability("scene.occluder_probability", self.occluder_probability)
        _check_probability("scene.patterned_clothing", self.patterned_clothing)
        _check_probability("scene.blur_probability", self.blur_probability)
        if self.max_occluders < 1:
            raise ValueError(f"scene.max_occluders must be >= 1, got {self.max_occluders}")
        if self.texture_size < 64:
            raise ValueError(f"scene.texture_size must be >= 64, got {self.texture_size}")
        _check_range("scene.sensor_noise", self.sensor_noise, 0.0)


CONFIDENCE_QUANTILE_LEVELS: tuple[float, ...] = tuple(k / 10 for k in range(11))
"""Probability levels of the stored confidence quantiles (0, 0.1, ..., 1)."""


@dataclass(frozen=True)
class KeypointNoiseSettings:
    """Detector-like corruption of projected ground truth, fitted to MediaPipe on renders.

    Used for frames where MediaPipe does not find the person (and for every
    frame with ``source: noise``).  Errors are in units of the person's size
    (the longer side of the tight ground-truth joint box), per joint in
    COCO-17 order; see ``docs/synth_keypoint_noise.md`` for the measurement.
    """

    sigma: tuple[float, ...] = (
        0.0126, 0.0119, 0.0129, 0.0155, 0.0166, 0.0128, 0.0115, 0.0172, 0.0159, 0.017, 0.014, 0.0151, 0.0133,
        0.0134, 0.0113, 0.0109, 0.009,
    )
    """Per-joint standard deviation of the (x, y) error."""
    bias: tuple[tuple[float, float], ...] = (
        (-0.0026, -0.0032), (-0.0033, -0.0016), (-0.0027, -0.0018), (-0.0028, -0.0023), (0.001, -0.0024),
        (0.0008, -0.0047), (-0.0045, -0.0043), (0.0017, -0.0057), (-0.0064, -0.0057), (-0.0003, -0.0024),
        (-0.0047, -0.0025), (0.0008, -0.009), (-0.006, -0.0108), (-0.0036, -0.011), (-0.0017, -0.0136),
        (-0.0038, -0.0098), (-0.0035, -0.0105),
    )
    """Per-joint mean (x, y) error: BlazePose's joints sit systematically off Anny's regressed ones."""
    outlier_probability: float = 0.0184
    """Chance that a joint is displaced by a large error instead (left/right or limb confusions)."""
    outlier_sigma: float = 0.1705
    dropout_probability: float = 0.0093
    """Chance that a visible joint is reported with confidence 0."""
    confidence_visible: tuple[float, ...] = (0.0, 0.744, 0.947, 0.983, 0.994, 0.998, 0.999, 1.0, 1.0, 1.0, 1.0)
    """Quantiles (levels 0, 0.1, ..., 1) of the confidence of visible joints; sampled by inverse CDF."""
    confidence_hidden: tuple[float, ...] = (0.0, 0.0, 0.0, 0.061, 0.244, 0.501, 0.732, 0.919, 0.982, 0.997, 1.0)
    """Quantiles of the confidence of occluded / out-of-frame joints."""
    sequence_share: float = 0.0
    """Part of each joint's error variance that is one offset for the whole sequence: BlazePose errs alike on a
    person's every frame, and a temporal network cannot average that part away."""
    temporal_share: float = 0.0
    """Part that drifts from frame to frame (first-order autoregressive, ``temporal_correlation`` from one frame to
    the next); the rest, 1 - ``sequence_share`` - ``temporal_share``, is new on every frame."""
    temporal_correlation: float = 0.0
    outlier_persistence: float | None = field(default=None, metadata={"like": 0.0})
    """Chance that a joint displaced by an outlier on one frame still is on the next, by the same amount (``None``:
    outliers independent per frame).  ``outlier_probability`` stays the long-run share of displaced joints."""
    hidden_sigma: tuple[float, ...] | None = field(default=None, metadata={"like": (0.0,)})
    """Per-joint error of in-frame occluded joints, which BlazePose guesses (``None``: as ``sigma``)."""
    hidden_bias: tuple[tuple[float, float], ...] | None = field(default=None, metadata={"like": ((0.0, 0.0),)})
    """Per-joint mean error of in-frame occluded joints (``None``: as ``bias``)."""

    def validate(self) -> None:
        if len(self.sigma) != 17 or min(self.sigma) < 0:
            raise ValueError("keypoints.noise.sigma must hold 17 non-negative values (COCO-17 order)")
        if len(self.bias) != 17 or any(len(pair) != 2 for pair in self.bias):
            raise ValueError("keypoints.noise.bias must hold 17 [x, y] pairs (COCO-17 order)")
        if self.hidden_sigma is not None and (len(self.hidden_sigma) != 17 or min(self.hidden_sigma) < 0):
            raise ValueError("keypoints.noise.hidden_sigma must hold 17 non-negative values (COCO-17 order) or be null")
        if self.hidden_bias is not None and (
            len(self.hidden_bias) != 17 or any(len(pair) != 2 for pair in self.hidden_bias)
        ):
            raise ValueError("keypoints.noise.hidden_bias must hold 17 [x, y] pairs (COCO-17 order) or be null")
        _check_probability("keypoints.noise.sequence_share", self.sequence_share)
        _check_probability("keypoints.noise.temporal_share", self.temporal_share)
        if self.sequence_share + self.temporal_share > 1.0:
            raise ValueError(
                "keypoints.noise.sequence_share + temporal_share must be <= 1 (they split one variance), got "
                f"{self.sequence_share} + {self.temporal_share}"
            )
        if not 0.0 <= self.temporal_correlation < 1.0:
            raise ValueError(f"keypoints.noise.temporal_correlation must be in [0, 1), got {self.temporal_correlation}")
        if self.outlier_persistence is not None:
            _check_probability("keypoints.noise.outlier_persistence", self.outlier_persistence)
            # Outliers start at rate * (1 - persistence) / (1 - rate) per frame, which must be a probability.
            if self.outlier_probability * (2.0 - self.outlier_persistence) > 1.0:
                raise ValueError(
                    "keypoints.noise.outlier_probability must be <= 1 / (2 - outlier_persistence) for outliers that "
                    f"persist to keep that long-run share, got {self.outlier_probability} with persistence "
                    f"{self.outlier_persistence}"
                )
        _check_probability("keypoints.noise.outlier_probability", self.outlier_probability)
        _check_probability("keypoints.noise.dropout_probability", self.dropout_probability)
        for name in ("confidence_visible", "confidence_hidden"):
            quantiles = getattr(self, name)
            if (
                len(quantiles) != len(CONFIDENCE_QUANTILE_LEVELS)
                or any(b < a for a, b in zip(quantiles, quantiles[1:]))
                or quantiles[0] < 0.0
                or quantiles[-1] > 1.0
            ):
                raise ValueError(
                    f"keypoints.noise.{name} must hold {len(CONFIDENCE_QUANTILE_LEVELS)} non-decreasing "
                    "quantiles in [0, 1] (levels 0, 0.1, ..., 1)"
                )


@dataclass(frozen=True)
class KeypointSettings:
    """Where the stored 2D keypoints come from."""

    source: str = "mediapipe"
    """``mediapipe`` (BlazePose on the render, noise model where it fails) or ``noise`` (noise model only)."""
    max_detection_error: float = 0.3
    """A MediaPipe result whose median joint error exceeds this many person sizes is a false detection."""
    crop_retry: bool = True
    """When the whole frame gives nothing, retry on a crop around the person (as the runtime follows people)."""
    crop_scale: float = 1.5
    """Crop side = this x the longer side of the person's joint box (the runtime's ``crop_scale``)."""
    noise: KeypointNoiseSettings = field(default_factory=KeypointNoiseSettings)

    def validate(self) -> None:
        if self.source not in ("mediapipe", "noise"):
            raise ValueError(f"keypoints.source must be 'mediapipe' or 'noise', got '{self.source}'")
        if not self.crop_scale >= 1.0:
            raise ValueError(f"keypoints.crop_scale must be >= 1, got {self.crop_scale}")
        if not self.max_detection_error > 0:
            raise ValueError(f"keypoints.max_detection_error must be positive, got {self.max_detection_error}")
        self.noise.validate()


@dataclass(frozen=True)
class OutputSettings:
    """Layout of the stored data."""

    sequences_per_shard: int = 8
    crop_size: int = 128
    """S: crop resolution, must match the network's ``CropSpec.size``."""
    crop_margin: float = 1.25
    """Must match the network's ``CropSpec.margin``."""
    min_visible_joints: int = 4
    """A frame counts as showing the person when at least this many joints are in frame and unoccluded."""

    def validate(self) -> None:
        if self.sequences_per_shard < 1:
            raise ValueError(f"output.sequences_per_shard must be >= 1, got {self.sequences_per_shard}")
        if not 1 <= self.min_visible_joints <= 17:
            raise ValueError(f"output.min_visible_joints must lie in [1, 17], got {self.min_visible_joints}")
        self.crop_spec()

    def crop_spec(self) -> CropSpec:
        return CropSpec(size=self.crop_size, margin=self.crop_margin)


@dataclass(frozen=True)
class SynthConfig:
    """Complete description of one split's generator."""

    split: str = "train"
    seed_offset: int = 0
    """Added to the user's seed, so ``--seed 0`` of train and test never share random streams."""
    body: BodySettings = field(default_factory=BodySettings)
    motion: MotionSettings = field(default_factory=MotionSettings)
    camera: CameraSettings = field(default_factory=CameraSettings)
    scene: SceneSettings = field(default_factory=SceneSettings)
    keypoints: KeypointSettings = field(default_factory=KeypointSettings)
    output: OutputSettings = field(default_factory=OutputSettings)

    def validate(self) -> "SynthConfig":
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got '{self.split}'")
        for section in (self.body, self.motion, self.camera, self.scene, self.keypoints, self.output):
            section.validate()
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-friendly dict (tuples become lists), stored in the manifest."""
        return _to_plain(dataclasses.asdict(self))


def _to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(item) for item in value]
    return value


def config_from_dict(raw: Mapping[str, Any], split: str = "train") -> SynthConfig:
    """Build the config of ``split`` from the YAML structure (base settings + ``splits.<split>`` overrides)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got '{split}'")
    raw = dict(raw)
    splits = raw.pop("splits", {}) or {}
    unknown_splits = sorted(set(splits) - set(SPLITS))
    if unknown_splits:
        raise ValueError(f"unknown split(s) in synth config: {', '.join(unknown_splits)}")
    overrides = deep_merge(dict(DEFAULT_SPLIT_OVERRIDES[split]), splits.get(split, {}) or {})
    values = deep_merge(raw, overrides)
    values["split"] = split
    return dataclass_from_mapping(SynthConfig, values, "synth config").validate()


def load_config(path: Path | None, split: str = "train") -> SynthConfig:
    """Read a synth YAML file; ``None`` gives the built-in defaults (``config/synth.yaml`` spells them out)."""
    if path is None:
        return config_from_dict({}, split)
    return config_from_dict(read_settings(path, "synth config"), split)
