"""Reading a checkpoint into a model: what inference needs from a checkpoint file.

A checkpoint is one safetensors file: the model's weights and buffers
(``model.*``), optionally the optimizer state (``optim.*``), and in the
metadata a JSON document with the full training config and the training
state.  Building the network needs only the config's ``model`` section
(which names the method: :mod:`.methods`) and what the network outputs
(occupancy probabilities, a signed distance: ``disn``, and ``jin2022``
trained with SDF labels, or points: ``pointcloud``), so this module reads
exactly those, and the iso-level the model was calibrated at, if any
(``calibration``, written by ``svr-desktop calibrate``); the
training layer (:mod:`svr_desktop.training.checkpoint`) writes checkpoints
and reads the rest (the whole config, the optimizer state) on top of
:func:`read_checkpoint_file`.  Inference therefore never imports training.

Parsing reads tensors and JSON only, never pickles, and every problem --
missing, truncated or foreign file, an invalid or absurd stored config, a
model that does not match its config -- becomes a :class:`CheckpointError`
with a message a user can act on.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from pydantic import TypeAdapter, ValidationError
from safetensors import SafetensorError, safe_open
from safetensors.torch import load as load_safetensors

from ..geometry.labels import LABEL_MODES
from ..validation import describe
from .config import ModelConfig
from .implicit import ImplicitNetwork
from .pointcloud import PointCloudNet
from .methods import METHODS, OUTPUT_KINDS, get_model, output_kind  # noqa: F401  (OUTPUT_KINDS: also named from here)

FORMAT = "svr-desktop-checkpoint"
VERSION = 1

_MODEL_CONFIG = TypeAdapter(ModelConfig)


class CheckpointError(ValueError):
    """A file is not a usable SVR Desktop checkpoint."""


def default_iso_level(output_kind: str) -> float | None:
    """The surface of an uncalibrated field: occupancy probability 0.5, or distance 0; None for points (no field)."""
    if output_kind == "points":
        return None
    return 0.0 if output_kind == "sdf" else 0.5


@dataclass
class CheckpointFile:
    """A parsed checkpoint file: its tensors and its metadata document, not yet interpreted."""

    path: Path
    tensors: dict[str, torch.Tensor]
    meta: dict

    def model_state(self) -> dict[str, torch.Tensor]:
        return {k[len("model.") :]: v for k, v in self.tensors.items() if k.startswith("model.")}


@dataclass
class ModelCheckpoint:
    """What rebuilding and querying the network needs."""

    model_config: ModelConfig  # its ``method`` says which network
    output_kind: str  # one of OUTPUT_KINDS
    model_state: dict[str, torch.Tensor]
    training_state: dict
    source: Path
    calibration: dict | None = None  # ``iso_level`` and how it was chosen (svr_desktop.evaluation.calibration)

    @property
    def method(self) -> str:
        """The name of the checkpoint's method (:data:`.methods.METHODS`)."""
        return self.model_config.method

    @property
    def iso_level(self) -> float | None:
        """The field value taken as the surface: the calibrated level when the checkpoint
        records one, else :func:`default_iso_level`; None for points (no field)."""
        if self.calibration is not None:
            return float(self.calibration["iso_level"])
        return default_iso_level(self.output_kind)


def read_checkpoint_metadata(path: str | Path):
    """The JSON metadata document of a checkpoint, read from its header alone (no weights).

    Quick enough to call before deciding to load a model.  Returns whatever
    the document holds (``None`` when there is none) and leaves interpreting
    it to the caller; ``CheckpointError`` when the file cannot be read.
    """
    try:
        with safe_open(str(path), framework="pt") as handle:
            return json.loads((handle.metadata() or {}).get("svr_desktop", "null"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from exc


def read_checkpoint_file(path: str | Path) -> CheckpointFile:
    """Parse a checkpoint's tensors and metadata, checking only that it is one of ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    raw = path.read_bytes()
    try:
        tensors = load_safetensors(raw)
        header_len = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8 : 8 + header_len])
        meta = json.loads(header.get("__metadata__", {}).get("svr_desktop", "null"))
    except (SafetensorError, ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt, truncated or another format: {exc})") from exc
    except RecursionError:
        raise CheckpointError(f"{path}: not a readable checkpoint (its metadata is nested too deeply)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: a safetensors file, but not an SVR Desktop checkpoint")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {meta.get('version')} is not supported (expected {VERSION})")
    if not isinstance(meta.get("config"), dict):
        raise CheckpointError(f"{path}: its configuration is invalid (expected a mapping of sections)")
    return CheckpointFile(path, tensors, meta)


def model_checkpoint(file: CheckpointFile) -> ModelCheckpoint:
    """Interpret a parsed file for inference: validate the stored model config (types, ranges, size)."""
    config = file.meta["config"]
    # An empty section (None) means its defaults, as in a training config file.
    model_values = {} if config.get("model") is None else config["model"]
    labels = {} if config.get("labels") is None else config["labels"]
    for name, section in (("model", model_values), ("labels", labels)):
        if not isinstance(section, dict):
            raise CheckpointError(f"{file.path}: its configuration is invalid ({name}: expected a mapping of keys to values)")
    try:
        model_config = _MODEL_CONFIG.validate_python(model_values)
        model_config.check_size()
    except ValidationError as exc:
        raise CheckpointError(f"{file.path}: its configuration is invalid (model: {describe(exc)})") from None
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{file.path}: its configuration is invalid (model: {exc})") from exc
    label_mode = labels.get("mode", "adaptive")
    if label_mode not in LABEL_MODES:
        raise CheckpointError(
            f"{file.path}: its configuration is invalid (unknown label mode {label_mode!r}; choose from {', '.join(LABEL_MODES)})"
        )
    try:
        kind = output_kind(model_config, label_mode)
    except ValueError as exc:
        raise CheckpointError(f"{file.path}: its configuration is invalid ({exc})") from None
    training_state = file.meta.get("training", {})
    return ModelCheckpoint(
        model_config,
        kind,
        file.model_state(),
        training_state if isinstance(training_state, dict) else {},
        file.path,
        _calibration(file, kind),
    )


def _calibration(file: CheckpointFile, kind: str) -> dict | None:
    """The stored calibration, once its iso-level is shown to fit the field (``None`` when there is none)."""
    calibration = file.meta.get("calibration")
    if calibration is None:
        return None
    level = calibration.get("iso_level") if isinstance(calibration, dict) else None
    if kind == "points":
        raise CheckpointError(f"{file.path}: its calibration is invalid (a point-cloud model has no iso-level)")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not math.isfinite(level):
        raise CheckpointError(f"{file.path}: its calibration is invalid (iso_level must be a finite number, got {level!r})")
    if kind == "occupancy" and not 0.0 < level < 1.0:
        raise CheckpointError(f"{file.path}: its calibration is invalid (an occupancy iso-level lies in (0, 1), got {level})")
    return calibration


def read_model_checkpoint(path: str | Path) -> ModelCheckpoint:
    """Read what inference needs from a checkpoint file, without building the model."""
    return model_checkpoint(read_checkpoint_file(path))


def build_model(checkpoint: ModelCheckpoint) -> ImplicitNetwork | PointCloudNet:
    """Rebuild the network from the checkpoint's own config and load its weights (strict)."""
    needed = METHODS[checkpoint.method].stage_one
    if needed is not None and not any(key.startswith("stage_one.") for key in checkpoint.model_state):
        raise CheckpointError(
            f"{checkpoint.source}: a {checkpoint.method} stage-2 checkpoint without its stage 1 "
            f"(no stage_one weights); train it with svr-desktop train --method {checkpoint.method} --stage1 {needed.upper()}.safetensors"
        )
    model = get_model(checkpoint.model_config)
    try:
        model.load_state_dict(checkpoint.model_state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise CheckpointError(
            f"{checkpoint.source}: weights do not match the model its config describes ({' '.join(first[:3])})"
        ) from exc
    return model


def load_model(path: str | Path, device: str | torch.device = "cpu") -> ImplicitNetwork | PointCloudNet:
    """A ready-to-query model (eval mode) from a checkpoint file."""
    return build_model(read_model_checkpoint(path)).to(device).eval()
