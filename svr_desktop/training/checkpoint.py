"""Training checkpoints: writing them, and reading back what a resume needs.

The file format belongs to the model layer (:mod:`svr_desktop.model.checkpoint`:
one safetensors file, ``model.*`` tensors plus a JSON document in the
metadata).  Training adds the Adam state (``optim.*``, only in the ``last``
checkpoint that a resume needs), the full resolved
:class:`~svr_desktop.training.config.TrainConfig` and the training state
(step, epoch, adaptive ``s``, best validation IoU, ...).  A calibration
(the iso-level ``svr-desktop calibrate`` chose) is added to a finished
model's file and travels with it when it is shipped.  Reading parses
tensors and JSON only, never pickles; every problem becomes a
:class:`CheckpointError` with a message a user can act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import save as save_safetensors

from ..files import atomic_write_bytes
from ..model.checkpoint import (
    FORMAT,
    VERSION,
    CheckpointError,
    ModelCheckpoint,
    build_model,
    read_checkpoint_file,
    read_checkpoint_metadata,
)
from ..model.implicit import ImplicitNetwork
from ..model.methods import output_kind
from .config import TrainConfig, config_from_dict

# CheckpointError is raised here too; training code and tests import it from this module.
__all__ = [
    "Checkpoint", "CheckpointError", "checkpoint_bytes", "model_from_checkpoint", "read_checkpoint",
    "recorded_best_val_iou", "save_calibrated", "save_checkpoint", "ship_checkpoint",
]


@dataclass
class Checkpoint:
    config: TrainConfig
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict | None
    training_state: dict
    source: Path
    calibration: dict | None = None


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Adam's state dict as flat tensors plus a JSON-able skeleton."""
    tensors, skeleton = {}, {"param_groups": state["param_groups"], "state": {}}
    for param_id, values in state["state"].items():
        skeleton["state"][str(param_id)] = sorted(values)
        for name, value in values.items():
            tensors[f"optim.{param_id}.{name}"] = torch.as_tensor(value)
    return tensors, skeleton


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], skeleton: dict) -> dict:
    state = {
        int(param_id): {name: tensors[f"optim.{param_id}.{name}"] for name in names}
        for param_id, names in skeleton["state"].items()
    }
    return {"state": state, "param_groups": skeleton["param_groups"]}


def checkpoint_bytes(
    model: torch.nn.Module,
    config: TrainConfig,
    training_state: dict,
    optimizer: torch.optim.Optimizer | None = None,
) -> bytes:
    """Serialize a checkpoint (weights always, optimizer state when given)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    skeleton = None
    if optimizer is not None:
        optim_tensors, skeleton = _flatten_optimizer(optimizer.state_dict())
        tensors.update({k: v.detach().cpu().contiguous() for k, v in optim_tensors.items()})
    return _file_bytes(tensors, config, training_state, skeleton)


def _file_bytes(
    tensors: dict[str, torch.Tensor],
    config: TrainConfig,
    training_state: dict,
    optimizer: dict | None,
    calibration: dict | None = None,
) -> bytes:
    """The safetensors file: ``tensors`` plus the JSON document (and the optimizer's skeleton and
    the calibration, when given)."""
    meta = {"format": FORMAT, "version": VERSION, "config": config.as_dict(), "training": training_state}
    if optimizer is not None:
        meta["optimizer"] = optimizer
    if calibration is not None:
        meta["calibration"] = calibration
    return save_safetensors(tensors, metadata={"svr_desktop": json.dumps(meta)})


def save_checkpoint(path: str | Path, model, config, training_state, optimizer=None) -> None:
    """Write a checkpoint atomically: a crash mid-write keeps the previous one."""
    atomic_write_bytes(path, checkpoint_bytes(model, config, training_state, optimizer))


def ship_checkpoint(source: str | Path, target: str | Path, half: bool = True) -> None:
    """Write the model of a training checkpoint as a file to ship in ``models/``.

    Weights, config and training state stay; the optimizer state (two thirds
    of a ``last`` checkpoint) goes.  With ``half`` the floating-point weights
    are stored as float16, half the size: loading casts them back to float32
    (``load_state_dict`` copies into the network's own tensors); the network's
    outputs move by rounding only (``tests/test_methods.py`` bounds them).
    """
    checkpoint = read_checkpoint(source)
    tensors = {
        f"model.{name}": (value.half() if half and value.is_floating_point() else value).contiguous()
        for name, value in checkpoint.model_state.items()
    }
    atomic_write_bytes(target, _file_bytes(tensors, checkpoint.config, checkpoint.training_state, None, checkpoint.calibration))


def save_calibrated(source: str | Path, target: str | Path, calibration: dict) -> None:
    """Write ``source`` to ``target`` (atomically; they may be the same file) with ``calibration``
    in place of any earlier one: weights, config and training state unchanged."""
    file = read_checkpoint_file(source)
    meta = {**file.meta, "calibration": calibration}
    atomic_write_bytes(target, save_safetensors(file.tensors, metadata={"svr_desktop": json.dumps(meta)}))


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Parse a checkpoint file with its whole training config, without building a model."""
    file = read_checkpoint_file(path)
    try:
        config = config_from_dict(file.meta["config"])
    except (ValueError, TypeError, KeyError) as exc:
        raise CheckpointError(f"{file.path}: its configuration is invalid ({exc})") from exc
    try:
        optimizer_state = _unflatten_optimizer(file.tensors, file.meta["optimizer"]) if "optimizer" in file.meta else None
    except (KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{file.path}: its optimizer state is incomplete ({exc})") from exc
    return Checkpoint(
        config, file.model_state(), optimizer_state, file.meta.get("training", {}), file.path, file.meta.get("calibration")
    )


def model_from_checkpoint(checkpoint: Checkpoint) -> ImplicitNetwork:
    """Rebuild the model of a training checkpoint and load its weights (strict)."""
    config = checkpoint.config
    return build_model(
        ModelCheckpoint(config.model, output_kind(config.model, config.labels.mode), checkpoint.model_state, checkpoint.training_state, checkpoint.source)
    )


def recorded_best_val_iou(path: str | Path) -> float | None:
    """The best validation IoU a checkpoint's training state records (None when it records none).

    Reads the file's metadata only, not its weights, so it is quick enough
    to call before deciding to load a model.  Raises :class:`CheckpointError`
    for a file that is not a readable SVR Desktop checkpoint.
    """
    path = Path(path)
    meta = read_checkpoint_metadata(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an SVR Desktop checkpoint")
    training = meta.get("training")
    value = training.get("best_val_iou") if isinstance(training, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        return None  # -1 before the first validation, or nothing recorded
    return float(value)
