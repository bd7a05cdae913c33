"""Choosing the torch device, its precision and how many threads CPU work uses."""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path

import torch

from .device_names import check_device_name

#: Set to 0 or 1 to override the detection of native bfloat16 on the CPU.
CPU_BF16_VARIABLE = "SVR_DESKTOP_CPU_BF16"


def pick_device(name: str | None = None) -> torch.device:
    """``auto``/None: CUDA, then Apple MPS, then CPU; or an explicit torch device name."""
    if name and name != "auto":
        device = torch.device(check_device_name(name))
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("CUDA was requested but no CUDA device is available")
        if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"no CUDA device {device.index} (this machine has {torch.cuda.device_count()})")
        if device.type == "mps" and not _mps_available():
            raise ValueError("MPS (Apple GPU) was requested but is not available here")
        if device.type == "cuda" and device.index is None and "LOCAL_RANK" in os.environ:
            # Under torchrun each process takes its own GPU, not all of them GPU 0.
            device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        return device
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        return torch.device("cuda", local_rank)
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def threads_per_training_process() -> int:
    """Torch threads for one training process: the cores shared among this machine's processes.

    ``torchrun --nproc-per-node N`` starts N processes on one machine
    (``LOCAL_WORLD_SIZE``); more threads than cores in total make OpenMP
    threads wait for each other (issue 13 measured 2-3x slower steps).  An
    explicit ``OMP_NUM_THREADS`` wins.
    """
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(1, (os.cpu_count() or 1) // processes)


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


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX).

    Elsewhere bf16 autocast emulates the type and is slower than float32.
    ``SVR_DESKTOP_CPU_BF16=0/1`` overrides the detection (Linux reads
    /proc/cpuinfo; other systems count as without).
    """
    forced = os.environ.get(CPU_BF16_VARIABLE)
    if forced in ("0", "1"):
        return forced == "1"
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_dtype(device: torch.device, amp: bool) -> torch.dtype | None:
    """bfloat16 where ``amp`` asks for it and the device runs it fast; None for float32."""
    if not amp:
        return None
    if device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16()):
        return torch.bfloat16
    return None


def autocast(device: torch.device, amp: bool):
    """The mixed-precision context of a forward pass (a no-op in float32)."""
    dtype = autocast_dtype(device, amp)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)
