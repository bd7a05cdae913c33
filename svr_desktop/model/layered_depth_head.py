"""The depth-guided additions to the paper's network (issue 13).

Pixel-aligned features are constant along a camera ray, so the paper's
decoder has to infer *where along the ray* the part is from shading and
context, taught only by sparse point labels.  Two additions make depth a
dense, directly supervised quantity:

* :class:`LayeredDepthHead`, an auxiliary dense head on the finest feature
  map (FPN P2), predicts for every pixel the view-frame z of the first ``K``
  entry/exit crossings of its ray, whether each layer exists, and the normal
  of the first hit (targets: :mod:`svr_desktop.geometry.layered_depth`).
  Layers are ordered by construction: each exit lies behind its entry and
  each entry behind the previous exit, by softplus gaps.
* :func:`guide_features` turns the layers predicted at a query point's pixel
  into relative inputs for the decoder (``entry_k - z``, ``z - exit_k``, the
  layer's probability and a soft "between entry and exit" value), so that
  "inside between an entry and its exit" is easy and the MLP refines the rest.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

#: Layer gaps and thicknesses are ``GAP_SCALE * softplus(raw)`` (view-frame
#: units); at initialization (raw ~ 0) a layer is about 0.17 thick.
GAP_SCALE = 0.25
#: Relative depths enter the decoder in tenths of the unit cube, near 1 in size.
RELATIVE_SCALE = 10.0
#: Sharpness (per view-frame unit) of the soft "between entry and exit" input.
SOFT_INSIDE_SHARPNESS = 100.0


class Layers(NamedTuple):
    """Decoded layered depth; every field has the channel/layer axis at ``dim``."""

    entry: torch.Tensor  # K layers
    exit: torch.Tensor  # K layers
    valid_logit: torch.Tensor  # K layers
    normal: torch.Tensor  # 3 channels, unit length


def raw_channels(layers: int) -> int:
    """Channels the head predicts: 2K depths, K validity logits, 3 normal components."""
    return 3 * layers + 3


def decode_layers(raw: torch.Tensor, layers: int, dim: int = 1) -> Layers:
    """Raw head output (channels on ``dim``) -> ordered layer depths, logits, normals."""
    depth_raw, valid_logit, normal = torch.split(raw, (2 * layers, layers, 3), dim=dim)
    steps = depth_raw.unbind(dim)
    boundaries = [steps[0]]  # entry of layer 0, then exit 0, entry 1, exit 1, ...
    for step in steps[1:]:
        boundaries.append(boundaries[-1] - GAP_SCALE * F.softplus(step))
    entry = torch.stack(boundaries[0::2], dim=dim)
    exit_ = torch.stack(boundaries[1::2], dim=dim)
    return Layers(entry, exit_, valid_logit, F.normalize(normal, dim=dim, eps=1e-6))


class LayeredDepthHead(nn.Module):
    """Two 3x3 convolutions and a 1x1 projection on the finest feature map."""

    def __init__(self, in_channels: int, layers: int, hidden: int = 64) -> None:
        super().__init__()
        self.layers = layers
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, raw_channels(layers), 1),
        )

    def forward(self, finest: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> raw layer maps (B, 3K + 3, h, w) at the same resolution."""
        return self.net(finest)


def guide_channels(layers: int) -> int:
    """Decoder inputs that :func:`guide_features` adds per point."""
    return 4 * layers


def layer_bounds(sampled: torch.Tensor, layers: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The depth-independent part of the guide: ``(entry, exit, probability)``, each (..., K).

    ``sampled``: (..., 3K + 3) raw head output read at a pixel.  Points of one
    camera ray share it, so the fast field computes it once per grid column.
    """
    decoded = decode_layers(sampled.float(), layers, dim=-1)
    return decoded.entry, decoded.exit, torch.sigmoid(decoded.valid_logit)


def guide_from_bounds(entry: torch.Tensor, exit_: torch.Tensor, probability: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Relative depth inputs of points at depth ``z`` (...,) from their pixel's layer bounds -> (..., 4K).

    ``(entry_k - z, z - exit_k)`` scaled by :data:`RELATIVE_SCALE`, the layer
    probability and ``p_k * sigmoid(s (entry_k - z)) * sigmoid(s (z - exit_k))``.
    """
    z = z.float().unsqueeze(-1)
    front = entry - z
    back = z - exit_
    between = probability * torch.sigmoid(SOFT_INSIDE_SHARPNESS * front) * torch.sigmoid(SOFT_INSIDE_SHARPNESS * back)
    return torch.cat((RELATIVE_SCALE * front, RELATIVE_SCALE * back, probability, between), dim=-1)


def guide_features(sampled: torch.Tensor, z: torch.Tensor, layers: int) -> torch.Tensor:
    """Relative depth inputs of query points: ``sampled`` (..., 3K + 3) raw head output
    read at each point's pixel, ``z`` (...,) their view-frame depth -> (..., 4K)."""
    return guide_from_bounds(*layer_bounds(sampled, layers), z)
