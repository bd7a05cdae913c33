"""Checkpoints: one safetensors file, tensors plus JSON metadata.

A checkpoint holds the model's weights and buffers (``model.*``), optionally
the Adam state (``optim.*``, only in the ``last`` checkpoint that a resume
needs), and in the safetensors metadata a JSON document with the full
resolved :class:`~svr_desktop.training.config.TrainConfig` and the training
state (step, epoch, adaptive ``s``, best validation IoU, ...).  Loading
parses tensors and JSON only, never pickles, and every problem -- missing,
truncated or foreign file, a model that does not match its config -- becomes a
:class:`CheckpointError` with a message a user can act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from ..files import atomic_write_bytes
from ..model.network import SVRNet, get_model
from .config import TrainConfig, config_from_dict

FORMAT = "svr-desktop-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file is not a usable SVR Desktop checkpoint."""


@dataclass
class Checkpoint:
    config: TrainConfig
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict | None
    training_state: dict


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
    meta = {"format": FORMAT, "version": VERSION, "config": config.as_dict(), "training": training_state}
    if optimizer is not None:
        optim_tensors, skeleton = _flatten_optimizer(optimizer.state_dict())
        tensors.update({k: v.detach().cpu().contiguous() for k, v in optim_tensors.items()})
        meta["optimizer"] = skeleton
    return save_safetensors(tensors, metadata={"svr_desktop": json.dumps(meta)})


def save_checkpoint(path: str | Path, model, config, training_state, optimizer=None) -> None:
    """Write a checkpoint atomically: a crash mid-write keeps the previous one."""
    atomic_write_bytes(path, checkpoint_bytes(model, config, training_state, optimizer))


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Parse a checkpoint file without building a model."""
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
    try:
        config = config_from_dict(meta["config"])
    except (ValueError, TypeError, KeyError) as exc:
        raise CheckpointError(f"{path}: its configuration is invalid ({exc})") from exc
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        optimizer_state = _unflatten_optimizer(tensors, meta["optimizer"]) if "optimizer" in meta else None
    except (KeyError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{path}: its optimizer state is incomplete ({exc})") from exc
    return Checkpoint(config, model_state, optimizer_state, meta.get("training", {}))


def model_from_checkpoint(checkpoint: Checkpoint, source: str | Path = "checkpoint") -> SVRNet:
    """Rebuild the model from the checkpoint's own config and load its weights (strict)."""
    model = get_model(checkpoint.config.model)
    try:
        model.load_state_dict(checkpoint.model_state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise CheckpointError(f"{source}: weights do not match the model its config describes ({' '.join(first[:3])})") from exc
    return model


def load_model(path: str | Path, device: str | torch.device = "cpu") -> SVRNet:
    """A ready-to-query model (eval mode) from a checkpoint file."""
    model = model_from_checkpoint(read_checkpoint(path), path)
    return model.to(device).eval()
