"""Per-label-mode losses, the layered-depth loss, and the predictions they imply.

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
from ..model.layered_depth_head import decode_layers


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


def layered_depth_loss(
    raw_layers: torch.Tensor,
    entry: torch.Tensor,
    exit_: torch.Tensor,
    count: torch.Tensor,
    normal: torch.Tensor,
    depth_weight: float,
    valid_weight: float,
    normal_weight: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Masked losses of the layered-depth head against the data set's layers.

    ``raw_layers`` (B, 3K + 3, h, w) is upsampled (bilinear) to the targets'
    (D, D); targets hold at least K layers (``entry``/``exit`` (B, K', D, D),
    ``count`` (B, D, D), ``normal`` (B, 3, D, D)).  L1 on the depth of layers
    that exist, BCE on whether each layer exists (every pixel), and
    ``1 - cos`` between normals where the ray hits the part.  Returns the
    weighted sum and the unweighted parts for the metrics log.
    """
    layers = (raw_layers.shape[1] - 3) // 3
    if entry.shape[1] < layers:
        raise ValueError(f"the data set stores {entry.shape[1]} depth layers; the model predicts {layers}")
    raw = F.interpolate(raw_layers.float(), size=entry.shape[-2:], mode="bilinear", align_corners=False)
    predicted = decode_layers(raw, layers)
    valid = torch.arange(layers, device=count.device)[None, :, None, None] < count[:, None]
    mask = valid.float()
    pairs = mask.sum().clamp_min(1.0)
    depth = (
        ((predicted.entry - entry[:, :layers]).abs() + (predicted.exit - exit_[:, :layers]).abs()) * mask
    ).sum() / (2 * pairs)
    validity = F.binary_cross_entropy_with_logits(predicted.valid_logit, mask)
    hit = (count > 0).float()
    cosine = (predicted.normal * normal).sum(dim=1)
    normal_error = ((1.0 - cosine) * hit).sum() / hit.sum().clamp_min(1.0)
    total = depth_weight * depth + valid_weight * validity + normal_weight * normal_error
    return total, {"depth_l1": depth.item(), "layer_bce": validity.item(), "normal_cos": normal_error.item()}
