"""Per-label-mode losses and the predictions they imply.

``binary``/``fixed``/``adaptive``: binary cross-entropy between
``sigmoid(logit)`` and the (possibly soft) target, computed on logits for
numerical stability.  ``sdf``: DISN-style L1 on the inside-positive signed
distance, weighted up near the surface.  In every mode a point is predicted
inside when the network output is above 0 (``sigmoid >= 0.5``, or SDF
iso-level 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..geometry.labels import D_STAR


def label_loss(output: torch.Tensor, target: torch.Tensor, mode: str, near_weight: float = 4.0, voxel_resolution: int = 256) -> torch.Tensor:
    """Mean loss of ``output`` (B, N) against ``target`` (B, N) for a label mode."""
    if mode == "sdf":
        near = target.abs() <= D_STAR / voxel_resolution
        weight = torch.where(near, torch.full_like(target, near_weight), torch.ones_like(target))
        return (weight * (output - target).abs()).mean()
    return F.binary_cross_entropy_with_logits(output, target)


def predicted_inside(output: torch.Tensor) -> torch.Tensor:
    """Inside predictions from network outputs (all modes)."""
    return output > 0
