"""The implicit-field decoder ``v' = D(p, z)`` (paper section 5.1).

Five linear layers; each of the four hidden ones is followed by a LeakyReLU
and then batch normalization, in the paper's order, and the fifth outputs one
value per point (a logit for occupancy labels, the distance for SDF).
Batch normalization runs over all points of the batch flattened to
(B * N, C): in eval mode it uses the running statistics, so querying points
in chunks gives the same values as querying them at once.

The depth-guided variant (issue 13) also receives, per point, the relative
layer inputs of :func:`svr_desktop.model.layered_depth_head.guide_features`
between ``z`` and the encoded point.

Before the first layer the point may be lifted to Fourier features and the
whole input batch-normalized (``ModelConfig.point_frequencies`` and
``input_norm``, our addition to the paper): both let the three coordinates,
the only source of depth, compete with the many image-feature channels.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn


class PointEncoding(nn.Module):
    """``p -> (p, sin(2^k pi p), cos(2^k pi p))`` for ``k < frequencies`` (identity for 0)."""

    def __init__(self, frequencies: int) -> None:
        super().__init__()
        self.register_buffer("scales", (2.0 ** torch.arange(frequencies)) * math.pi, persistent=False)

    @property
    def out_channels(self) -> int:
        return 3 * (1 + 2 * len(self.scales))

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        if len(self.scales) == 0:
            return points
        angles = (points[..., None] * self.scales).flatten(-2)
        return torch.cat((points, torch.sin(angles), torch.cos(angles)), dim=-1)


class Decoder(nn.Module):
    """MLP from ``concat(z, encoded point)`` to one output per point."""

    def __init__(
        self,
        feature_channels: int,
        hidden: Sequence[int],
        leaky_slope: float,
        point_frequencies: int = 0,
        input_norm: bool = False,
        guide_channels: int = 0,
    ) -> None:
        super().__init__()
        self.point_encoding = PointEncoding(point_frequencies)
        self.guide_channels = guide_channels
        previous = feature_channels + guide_channels + self.point_encoding.out_channels
        self.input_norm = nn.BatchNorm1d(previous) if input_norm else nn.Identity()
        layers: list[nn.Module] = []
        for size in hidden:
            linear = nn.Linear(previous, size)
            nn.init.kaiming_normal_(linear.weight, a=leaky_slope, nonlinearity="leaky_relu")
            nn.init.zeros_(linear.bias)
            layers += [linear, nn.LeakyReLU(leaky_slope), nn.BatchNorm1d(size)]
            previous = size
        layers.append(nn.Linear(previous, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, points: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        """``z`` (B, N, C), ``points`` (B, N, 3) and ``guide`` (B, N, G) -> (B, N)."""
        # The encoding is computed in float32 whatever autocast made of z:
        # sin(2^k pi p) of a bfloat16 p loses most of its precision at high k.
        encoded = self.point_encoding(points.float()).to(z.dtype)
        parts = (z, encoded) if guide is None else (z, guide.to(z.dtype), encoded)
        x = torch.cat(parts, dim=-1)
        batch, count, channels = x.shape
        x = self.input_norm(x.reshape(batch * count, channels))
        return self.layers(x).reshape(batch, count)
