"""Choosing the torch device: CUDA, then Apple MPS, then CPU, unless the user says."""

from __future__ import annotations

import os

import torch


def pick_device(name: str | None = None) -> torch.device:
    """``auto``/None: CUDA, then Apple MPS, then CPU; or an explicit torch device name."""
    if name and name != "auto":
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("CUDA was requested but no CUDA device is available")
        return device
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        return torch.device("cuda", local_rank)
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
