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


def leave_a_core_for_the_interface() -> int:
    """Let CPU inference use all cores but one; returns the torch thread count.

    An interactive front (the GUI) shares the machine with its own worker:
    torch's threads on every core starve the event loop for tens of
    milliseconds at a time. On the 2-core reference machine one thread
    keeps the window's worst stall under 50 ms for ~13 % more reconstruction
    time (docs/benchmarks.md, GUI responsiveness).
    """
    threads = max(1, (os.cpu_count() or 1) - 1)
    torch.set_num_threads(threads)
    return threads
