"""The implicit-field decoder ``v' = D(p, z)`` (paper section 5.1).

Five linear layers; each of the four hidden ones is followed by a LeakyReLU
and then batch normalization, in the paper's order, and the fifth outputs one
value per point (a logit for occupancy labels, the distance for SDF).
Batch normalization runs over all points of the batch flattened to
(B * N, C): in eval mode it uses the running statistics, so querying points
in chunks gives the same values as querying them at once.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class Decoder(nn.Module):
    """MLP from ``concat(z, xyz)`` to one output per point."""

    def __init__(self, feature_channels: int, hidden: Sequence[int], leaky_slope: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = feature_channels + 3
        for size in hidden:
            linear = nn.Linear(previous, size)
            nn.init.kaiming_normal_(linear.weight, a=leaky_slope, nonlinearity="leaky_relu")
            nn.init.zeros_(linear.bias)
            layers += [linear, nn.LeakyReLU(leaky_slope), nn.BatchNorm1d(size)]
            previous = size
        layers.append(nn.Linear(previous, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """``z`` (B, N, C) and ``points`` (B, N, 3) -> (B, N)."""
        x = torch.cat((z, points.to(z.dtype)), dim=-1)
        batch, count, channels = x.shape
        return self.layers(x.reshape(batch * count, channels)).reshape(batch, count)
