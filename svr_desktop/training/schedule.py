"""The learning-rate schedule: linear warm-up, then constant or cosine decay.

A pure function of the step, so a resumed run continues on the same curve
without any scheduler state in its checkpoint.
"""

from __future__ import annotations

import math

from .config import OptimConfig


def learning_rate(step: int, total_steps: int, optim: OptimConfig) -> float:
    """Learning rate of optimizer step ``step`` (0-based) of a run of ``total_steps``."""
    if step < optim.warmup_steps:
        return optim.lr * (step + 1) / optim.warmup_steps
    if optim.schedule == "constant":
        return optim.lr
    decay_steps = max(1, total_steps - optim.warmup_steps)
    progress = min(1.0, (step - optim.warmup_steps) / decay_steps)
    floor = optim.min_lr_fraction
    return optim.lr * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))
