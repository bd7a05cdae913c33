"""Typed training configuration, YAML presets and ``key=value`` overrides.

A run's configuration is one :class:`TrainConfig`; it is resolved once (preset
or file, then overrides), written into the run folder and into every
checkpoint, so any checkpoint rebuilds its own model and any run can be
repeated.  The sections are pydantic dataclasses: every value is checked for
its type and range when the config is built, so a bad file, override or
stored checkpoint config is refused with one line before any work starts.
"""

from __future__ import annotations

import re
from dataclasses import asdict, field
from pathlib import Path

import yaml
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from ..geometry.labels import LABEL_MODES
from ..model.config import ModelConfig
from ..model.methods import output_kind
from ..validation import SCHEMA, describe, kind_of
from .method_presets import PRESET_DIR, preset_names

#: At most this many training points per step and process (12 times the
#: paper's 32 views x 10,000 points): each costs a decoder pass.
MAX_POINTS_PER_STEP = 4_000_000


@dataclass(config=SCHEMA)
class DataConfig:
    points_per_view: StrictInt = Field(2048, ge=1, le=1_000_000)  # training points drawn per view and step
    batch_size: StrictInt = Field(16, ge=1, le=4096)  # views per step (per process under DDP)
    num_workers: StrictInt = Field(0, ge=0, le=256)  # DataLoader worker processes
    val_views_per_shape: StrictInt = Field(1, ge=1, le=1024)  # views of each validation shape scored per epoch
    # Training views turned about the view axis by a random angle within +- this many degrees (0: as rendered)
    turn_degrees: StrictFloat = Field(0.0, ge=0.0, le=45.0)

    def __post_init__(self) -> None:
        if self.points_per_view * self.batch_size > MAX_POINTS_PER_STEP:
            raise ValueError(
                f"points_per_view x batch_size = {self.points_per_view * self.batch_size:,} "
                f"training points per step (at most {MAX_POINTS_PER_STEP:,})"
            )


@dataclass(config=SCHEMA)
class LabelConfig:
    mode: StrictStr = "adaptive"  # binary | fixed | adaptive | sdf
    fixed_s: StrictFloat = Field(0.5, gt=0.0, lt=1.0)  # s of the 'fixed' mode
    lam: StrictFloat = Field(1.5, gt=0.0, le=100.0)  # lambda of s = 1 - lambda * F1
    s_min: StrictFloat = Field(0.05, gt=0.0, lt=1.0)
    s_max: StrictFloat = Field(0.95, gt=0.0, lt=1.0)
    update_fraction: StrictFloat = Field(0.2, gt=0.0, le=1.0)  # s is updated every this fraction of the epochs (paper: 10 of 50)
    sdf_near_weight: StrictFloat = Field(4.0, ge=0.0, le=1e6)  # 'sdf' mode: L1 weight of points within d* of the surface

    def __post_init__(self) -> None:
        if self.mode not in LABEL_MODES:
            raise ValueError(f"unknown label mode '{self.mode}' (choose from {', '.join(LABEL_MODES)})")
        if self.s_min > self.s_max:
            raise ValueError(f"s_min ({self.s_min}) must not exceed s_max ({self.s_max})")


@dataclass(config=SCHEMA)
class DepthLossConfig:
    """Weights of the layered-depth head's losses against the occupancy loss (models with ``depth_head``)."""

    depth_weight: StrictFloat = Field(10.0, ge=0.0, le=1e6)  # L1 on layer depths (view-frame units: 0.1 of the cube weighs 1)
    valid_weight: StrictFloat = Field(1.0, ge=0.0, le=1e6)  # BCE on which layers exist
    normal_weight: StrictFloat = Field(0.5, ge=0.0, le=1e6)  # 1 - cos between first-hit normals


@dataclass(config=SCHEMA)
class PointLossConfig:
    """The ``pointcloud`` method's loss (reference 003 eq. 1; :mod:`.point_losses`): weights and the EMD's Sinkhorn."""

    kl_weight: StrictFloat = Field(0.05, ge=0.0, le=1e6)  # eq. 3's factor on the divergence
    chamfer_weight: StrictFloat = Field(1.0, ge=0.0, le=1e6)
    emd_weight: StrictFloat = Field(1.0, ge=0.0, le=1e6)
    # Points of each set the Sinkhorn EMD matches (a random subset per step; all when at least the model's).
    emd_points: StrictInt = Field(512, ge=1, le=16384)
    sinkhorn_blur: StrictFloat = Field(0.005, gt=0.0, le=1.0)  # final regularization, normalized units
    sinkhorn_scaling: StrictFloat = Field(0.8, gt=0.0, lt=1.0)  # eps shrinks by this factor per iteration
    sinkhorn_final_iterations: StrictInt = Field(20, ge=1, le=1000)  # iterations at eps = blur


@dataclass(config=SCHEMA)
class StageTwoConfig:
    """How ``d-occnet``'s second stage trains on ground-truth point clouds."""

    # Gaussian noise on the clouds' points (normalized units), so that they look more
    # like samples of stage 1's rough mesh, on which stage 2 runs in use.
    input_noise: StrictFloat = Field(0.01, ge=0.0, le=1.0)


SCHEDULES = ("constant", "cosine")


@dataclass(config=SCHEMA)
class OptimConfig:
    lr: StrictFloat = Field(1e-4, gt=0.0, le=10.0)  # Adam, as in the paper
    epochs: StrictInt = Field(50, ge=1, le=100_000)
    grad_clip: StrictFloat = Field(1.0, ge=0.0)  # max gradient norm; 0 disables clipping
    # bfloat16 autocast: on CUDA, and on CPUs with native bf16 (AVX512-BF16 or
    # AMX; 1.7x faster per step, same loss curve); other CPUs train in float32.
    amp: StrictBool = True
    schedule: StrictStr = "cosine"  # constant | cosine (decay to min_lr_fraction * lr at the last step)
    warmup_steps: StrictInt = Field(100, ge=0, le=10_000_000)  # linear warm-up from 0 to lr
    min_lr_fraction: StrictFloat = Field(0.05, ge=0.0, le=1.0)

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule '{self.schedule}' (choose from {', '.join(SCHEDULES)})")


@dataclass(config=SCHEMA)
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    labels: LabelConfig = field(default_factory=LabelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    depth: DepthLossConfig = field(default_factory=DepthLossConfig)
    pointcloud: PointLossConfig = field(default_factory=PointLossConfig)
    doccnet: StageTwoConfig = field(default_factory=StageTwoConfig)
    seed: StrictInt = Field(0, ge=0, le=2**32 - 1)  # numpy seeds must be non-negative
    log_every: StrictInt = Field(10, ge=1)  # steps between metric lines
    checkpoint_minutes: StrictFloat = Field(5.0, gt=0.0)  # wall time between 'last' checkpoints inside an epoch

    def __post_init__(self) -> None:
        output_kind(self.model, self.labels.mode)  # refuses a label mode the method cannot train with
        # Last, once every section is valid: the size check is the slow one.
        try:
            self.model.check_size()
        except ValueError as exc:
            raise ValueError(f"model: {exc}") from None

    def as_dict(self) -> dict:
        return asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.as_dict(), sort_keys=False)


_TRAIN_CONFIG = TypeAdapter(TrainConfig)
_SECTIONS = ("model", "data", "labels", "optim", "depth", "pointcloud", "doccnet")


def config_from_dict(values: dict | None) -> TrainConfig:
    """Build a config from nested dicts; unknown keys and bad values are errors (one line), missing ones default.

    An empty section (``model:`` with nothing under it reads as None) means its defaults.
    """
    if isinstance(values, dict):
        values = {key: value for key, value in values.items() if not (key in _SECTIONS and value is None)}
    try:
        return _TRAIN_CONFIG.validate_python({} if values is None else values)
    except ValidationError as exc:
        raise ValueError(describe(exc)) from None


class _Loader(yaml.SafeLoader):
    """YAML as PyYAML reads it, except that ``1e-3`` is a number, as in YAML 1.2 (1.1 wants ``1.0e-3``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)[eE][-+]?\d+$"), list("-+.0123456789")
)


def load_config(source: str | Path | None = None, overrides: list[str] = ()) -> TrainConfig:
    """A preset name (``cpu-small``, ``paper``) or a YAML file, then ``section.key=value`` overrides."""
    source = source or "cpu-small"
    path = Path(source)
    if not path.suffix:
        path = PRESET_DIR / f"{source}.yaml"
        if not path.exists():
            raise ValueError(f"unknown preset '{source}' (presets: {', '.join(preset_names())})")
    values = _parse_yaml(path.read_bytes, f"{path}: cannot read the config")
    values = {} if values is None else values
    if not isinstance(values, dict):
        raise ValueError(f"{path}: a config is a mapping of sections (model:, data:, ...), not {kind_of(values)}")
    for item in overrides:
        _apply_override(values, item)
    try:
        return config_from_dict(values)
    except ValueError as exc:
        raise ValueError(f"config '{source}': {exc}") from None


def fine_tune_config(start: TrainConfig, overrides: list[str] = ()) -> TrainConfig:
    """The config of a fine-tune: a trained checkpoint's own config ``start``, then ``section.key=value`` overrides.

    Data, labels, optimizer and schedule may change; the network may not,
    since the run starts from the checkpoint's weights.
    """
    values = start.as_dict()
    for item in overrides:
        _apply_override(values, item)
    config = config_from_dict(values)
    if config.model != start.model:
        raise ValueError("a fine-tune keeps the checkpoint's network: drop the model.* overrides")
    return config


def _apply_override(values: dict, item: str) -> None:
    """Set ``section.key=value`` (the value read as YAML) in ``values``."""
    key, sep, raw = item.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(parts):
        raise ValueError(f"override '{item}' is not of the form section.key=value")
    if not raw.strip():
        raise ValueError(f"override '{item}' has no value")
    target = values
    for depth, parent in enumerate(parts[:-1]):
        if target.get(parent) is None:
            target[parent] = {}
        target = target[parent]
        if not isinstance(target, dict):
            raise ValueError(f"override '{item}': '{'.'.join(parts[: depth + 1])}' is a value, not a section with keys")
    target[parts[-1]] = _parse_yaml(lambda: raw, f"override '{item}': not a YAML value")


def _parse_yaml(read, context: str):
    """``read()``'s text as YAML; problems (unreadable, undecodable, malformed, absurdly nested) as one line."""
    try:
        return yaml.load(read(), Loader=_Loader)
    except OSError as exc:
        raise ValueError(f"{context} ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{context} ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise ValueError(f"{context} (nested too deeply)") from None
