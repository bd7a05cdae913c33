"""Typed training configuration, YAML presets and ``key=value`` overrides.

A run's configuration is one :class:`TrainConfig`; it is resolved once (preset
or file, then overrides), written into the run folder and into every
checkpoint, so any checkpoint rebuilds its own model and any run can be
repeated.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from ..geometry.labels import LABEL_MODES
from ..model.config import ModelConfig

PRESET_DIR = Path(__file__).with_name("presets")


@dataclass
class DataConfig:
    points_per_view: int = 2048  # training points drawn per view and step
    batch_size: int = 16  # views per step (per process under DDP)
    num_workers: int = 0  # DataLoader worker processes
    val_views_per_shape: int = 1  # views of each validation shape scored per epoch


@dataclass
class LabelConfig:
    mode: str = "adaptive"  # binary | fixed | adaptive | sdf
    fixed_s: float = 0.5  # s of the 'fixed' mode
    lam: float = 1.5  # lambda of s = 1 - lambda * F1
    s_min: float = 0.05
    s_max: float = 0.95
    update_fraction: float = 0.2  # s is updated every this fraction of the epochs (paper: 10 of 50)
    sdf_near_weight: float = 4.0  # 'sdf' mode: L1 weight of points within d* of the surface

    def __post_init__(self) -> None:
        if self.mode not in LABEL_MODES:
            raise ValueError(f"unknown label mode '{self.mode}' (choose from {', '.join(LABEL_MODES)})")
        if not 0.0 < self.fixed_s < 1.0:
            raise ValueError("labels.fixed_s must lie in (0, 1)")


@dataclass
class DepthLossConfig:
    """Weights of the layered-depth head's losses against the occupancy loss (models with ``depth_head``)."""

    depth_weight: float = 10.0  # L1 on layer depths (view-frame units: 0.1 of the cube weighs 1)
    valid_weight: float = 1.0  # BCE on which layers exist
    normal_weight: float = 0.5  # 1 - cos between first-hit normals

    def __post_init__(self) -> None:
        for name in ("depth_weight", "valid_weight", "normal_weight"):
            if not 0.0 <= getattr(self, name) < float("inf"):
                raise ValueError(f"depth.{name} must be a finite number >= 0")


SCHEDULES = ("constant", "cosine")


@dataclass
class OptimConfig:
    lr: float = 1e-4  # Adam, as in the paper
    epochs: int = 50
    grad_clip: float = 1.0  # max gradient norm; 0 disables clipping
    # bfloat16 autocast: on CUDA, and on CPUs with native bf16 (AVX512-BF16 or
    # AMX; 1.7x faster per step, same loss curve); other CPUs train in float32.
    amp: bool = True
    schedule: str = "cosine"  # constant | cosine (decay to min_lr_fraction * lr at the last step)
    warmup_steps: int = 100  # linear warm-up from 0 to lr
    min_lr_fraction: float = 0.05

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown optim.schedule '{self.schedule}' (choose from {', '.join(SCHEDULES)})")
        if not 0.0 <= self.min_lr_fraction <= 1.0:
            raise ValueError("optim.min_lr_fraction must lie in [0, 1]")
        if self.warmup_steps < 0:
            raise ValueError("optim.warmup_steps must be >= 0")


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    labels: LabelConfig = field(default_factory=LabelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    depth: DepthLossConfig = field(default_factory=DepthLossConfig)
    seed: int = 0
    log_every: int = 10  # steps between metric lines
    checkpoint_minutes: float = 5.0  # wall time between 'last' checkpoints inside an epoch

    def as_dict(self) -> dict:
        return asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.as_dict(), sort_keys=False)


_SECTIONS = {"model": ModelConfig, "data": DataConfig, "labels": LabelConfig, "optim": OptimConfig, "depth": DepthLossConfig}


def config_from_dict(values: dict) -> TrainConfig:
    """Build a config from nested dicts; unknown keys are errors, missing ones default."""
    values = dict(values or {})
    unknown = set(values) - set(_SECTIONS) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
    kwargs = {}
    for name, value in values.items():
        section = _SECTIONS.get(name)
        if section is None:
            kwargs[name] = value
            continue
        defaults = {f.name: getattr(section(), f.name) for f in dataclasses.fields(section)}
        bad = set(value or {}) - set(defaults)
        if bad:
            raise ValueError(f"unknown keys in '{name}': {', '.join(sorted(bad))}")
        kwargs[name] = section(**{k: _coerce(f"{name}.{k}", v, defaults[k]) for k, v in (value or {}).items()})
    return TrainConfig(**kwargs)


def _coerce(key: str, value, default):
    """Give YAML values the type of the field's default (YAML 1.1 reads ``1e-3`` as text)."""
    try:
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError
            return value
        if isinstance(default, float) and not isinstance(value, bool):
            return float(value)
        if isinstance(default, tuple) and isinstance(value, list):
            return tuple(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key}: expected a {type(default).__name__}, got {value!r}") from None
    return value


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_config(source: str | Path | None = None, overrides: list[str] = ()) -> TrainConfig:
    """A preset name (``cpu-small``, ``paper``) or a YAML file, then ``section.key=value`` overrides."""
    source = source or "cpu-small"
    path = Path(source)
    if not path.suffix:
        path = PRESET_DIR / f"{source}.yaml"
        if not path.exists():
            raise ValueError(f"unknown preset '{source}' (presets: {', '.join(preset_names())})")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the config ({exc})") from exc
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override '{item}' is not of the form section.key=value")
        target = values
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = yaml.safe_load(raw)
    return config_from_dict(values)
