"""Network hyper-parameters as one frozen, serialisable value.

The same ``NetworkConfig`` is read from ``config/model.yaml`` when a network is
built for training and from a checkpoint's metadata when it is loaded, so a
checkpoint always rebuilds exactly the architecture it was trained with.  The
dataclass defaults ARE the shipped defaults (a test keeps ``config/model.yaml``
equal to them), which lets library code build the default network without
locating the ROS share directory.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from lihmr_ros.model.inputs import CropSpec

MODES = ("causal", "center")
INTERACTIONS = ("low", "full")


@dataclass(frozen=True)
class EncoderConfig:
    """Per-frame image encoder (a small CNN trained from scratch)."""

    feature_dim: int = 128
    """D: size of the per-frame image feature."""
    channels: tuple[int, ...] = (24, 48, 96, 160)
    """Output channels of the stride-2 stages; the crop is halved once per stage."""


@dataclass(frozen=True)
class FrequencyConfig:
    """Latent-frequency extractor (Haar DWT along time)."""

    heads: int = 4
    """Attention heads on the low (global) band."""
    kernel_size: int = 3
    """Temporal kernel of the convolution on the high (local) band; odd."""
    split: bool = True
    """False (ablation "without the frequency split"): no DWT, one self-attention over the features of all T
    frames instead of attention on the low band plus convolution on the high band."""


@dataclass(frozen=True)
class LifterConfig:
    """MixSTE-style spatio-temporal 2D->3D lifter."""

    width: int = 96
    depth: int = 3
    """Number of (spatial, temporal) attention block pairs."""
    heads: int = 4
    mlp_ratio: float = 2.0


@dataclass(frozen=True)
class RefinerConfig:
    """Stage 2: mesh-pose interaction on the target frame."""

    interaction: str = "low"
    """``low`` (reduced, parallel branches; the default) or ``full`` (PMCE-like baseline)."""
    width: int = 64
    """Channel width of joint and vertex tokens outside the interaction."""
    heads: int = 4
    mlp_ratio: float = 2.0
    latent_tokens: int = 32
    """Low-dim: K latent mesh tokens the Vc vertex tokens are reduced to."""
    latent_width: int = 48
    """Low-dim: channel width inside the reduced interaction."""
    low_blocks: int = 2
    """Low-dim: number of parallel interaction blocks."""
    full_blocks: int = 3
    """Full: number of sequential cross- then self-attention blocks (width = ``width``)."""
    residual_rank: int = 24
    """r: rank of the learned full-resolution residual on top of the fixed upsampling."""
    shape_params: int = 6
    """Size of the shape head (Anny: 6 phenotypes in [0, 1]); an auxiliary output and loss."""


@dataclass(frozen=True)
class NetworkConfig:
    """Everything that decides the network's architecture and input geometry."""

    window: int = 16
    """T: frames per person window."""
    mode: str = "causal"
    """``causal``: refine the newest frame; ``center``: refine frame T // 2 (offline)."""
    crop: CropSpec = field(default_factory=CropSpec)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    frequency: FrequencyConfig = field(default_factory=FrequencyConfig)
    lifter: LifterConfig = field(default_factory=LifterConfig)
    refiner: RefinerConfig = field(default_factory=RefinerConfig)
    image_features: bool = True
    """False (ablation "without image features"): stages 1 and 2 see zeros instead of the crops'
    features, so only 2D keypoints and crop placement inform the result.  The encoder stays in the
    graph so every runtime interface is unchanged; it simply receives no gradient."""

    def __post_init__(self) -> None:
        problems = []
        if self.window < 1:
            problems.append(f"window must be >= 1, got {self.window}")
        if self.mode not in MODES:
            problems.append(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.refiner.interaction not in INTERACTIONS:
            problems.append(f"refiner.interaction must be one of {INTERACTIONS}, got {self.refiner.interaction!r}")
        for name, value in (
            ("encoder.feature_dim", self.encoder.feature_dim),
            ("lifter.width", self.lifter.width),
            ("lifter.depth", self.lifter.depth),
            ("refiner.width", self.refiner.width),
            ("refiner.latent_tokens", self.refiner.latent_tokens),
            ("refiner.latent_width", self.refiner.latent_width),
            ("refiner.low_blocks", self.refiner.low_blocks),
            ("refiner.full_blocks", self.refiner.full_blocks),
            ("refiner.residual_rank", self.refiner.residual_rank),
            ("refiner.shape_params", self.refiner.shape_params),
        ):
            if value < 1:
                problems.append(f"{name} must be >= 1, got {value}")
        if not self.encoder.channels or min(self.encoder.channels) < 1:
            problems.append(f"encoder.channels must be positive channel counts, got {self.encoder.channels}")
        if self.frequency.kernel_size % 2 != 1:
            problems.append(f"frequency.kernel_size must be odd, got {self.frequency.kernel_size}")
        for name, width, heads in (
            ("encoder.feature_dim / frequency.heads", self.encoder.feature_dim, self.frequency.heads),
            ("lifter.width / lifter.heads", self.lifter.width, self.lifter.heads),
            ("refiner.width / refiner.heads", self.refiner.width, self.refiner.heads),
            ("refiner.latent_width / refiner.heads", self.refiner.latent_width, self.refiner.heads),
        ):
            if width % heads != 0:
                problems.append(f"{name}: width {width} is not divisible by {heads} heads")
        if self.crop.size % (2 ** len(self.encoder.channels)) != 0:
            problems.append(
                f"crop.size {self.crop.size} must be divisible by 2**{len(self.encoder.channels)} "
                "(one halving per encoder stage)"
            )
        if problems:
            raise ValueError("invalid network config: " + "; ".join(problems))

    @property
    def target_index(self) -> int:
        """Index inside the window of the frame stage 2 refines."""
        return self.window - 1 if self.mode == "causal" else self.window // 2

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (lists, numbers, strings) for YAML and checkpoint metadata."""
        return _to_plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NetworkConfig":
        """Build from a nested dict; unknown keys are an error (a typo must not fall back silently)."""
        return dataclass_from_mapping(cls, data, "network")

    @classmethod
    def from_yaml(cls, path: Path | str) -> "NetworkConfig":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"network config {path} does not exist")
        try:
            with path.open() as stream:
                data = yaml.safe_load(stream) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"network config {path} is not valid YAML: {error}") from error
        if not isinstance(data, Mapping):
            raise ValueError(f"network config {path} must be a YAML mapping")
        try:
            return cls.from_dict(data)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: {error}") from error

    def with_interaction(self, interaction: str) -> "NetworkConfig":
        """Same network with the other stage-2 interaction (used by the cost comparison)."""
        return dataclasses.replace(self, refiner=dataclasses.replace(self.refiner, interaction=interaction))

    def with_window(self, window: int, mode: str | None = None) -> "NetworkConfig":
        return dataclasses.replace(self, window=window, mode=self.mode if mode is None else mode)


def _to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(item) for item in value]
    return value


def dataclass_from_mapping(cls: type, data: Mapping[str, Any], where: str) -> Any:
    """Nested frozen dataclass from YAML/JSON data: unknown keys and wrongly typed values are errors
    naming ``where`` (a typo must not fall back to a default).  Shared by the network, training and
    synthetic-data configs; an empty YAML section (``None``) means "all defaults".  A field whose default is
    ``None`` is optional and names an example value of its type in ``metadata["like"]``."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must be a mapping, got {type(data).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown setting(s) in {where}: {', '.join(unknown)} (known: {', '.join(known)})")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        spec = known[name]
        default = spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default
        if default is None:  # an optional setting: null keeps it unset, a value is checked against its "like"
            kwargs[name] = None if value is None else _coerce(value, spec.metadata["like"], f"{where}.{name}")
        elif dataclasses.is_dataclass(default):
            kwargs[name] = dataclass_from_mapping(type(default), {} if value is None else value, f"{where}.{name}")
        else:
            kwargs[name] = _coerce(value, default, f"{where}.{name}")
    return cls(**kwargs)


def _coerce(value: Any, default: Any, where: str) -> Any:
    """Check a YAML/JSON value against the type of the field's default.

    Tuples are checked item by item against the default's first item (so
    ranges, lists of sizes and lists of pairs keep their element types); a
    tuple field whose default is empty holds names (strings)."""
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where} must be a list, got {value!r}")
        if not default:
            if not all(isinstance(item, str) for item in value):
                raise ValueError(f"{where} must be a list of names, got {value!r}")
            return tuple(value)
        return tuple(_coerce(item, default[0], f"{where}[{index}]") for index, item in enumerate(value))
    if isinstance(default, bool):  # before int: bool is an int subclass
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(default, float):
        if not (_is_int(value) or isinstance(value, float)):
            raise ValueError(f"{where} must be a number, got {value!r}")
        return float(value)
    if isinstance(default, int):
        if not _is_int(value):
            raise ValueError(f"{where} must be an integer, got {value!r}")
        return int(value)
    if not isinstance(value, type(default)):
        raise ValueError(f"{where} must be a {type(default).__name__}, got {value!r}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
