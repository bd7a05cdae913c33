"""The ``occnet`` method: Occupancy Networks' single-view model (Mescheder et al. 2019).

An image becomes one vector ``c`` (ResNet-18, average-pooled C5, a linear
layer: :class:`~svr_desktop.model.encoders.GlobalEncoder`, Fig. 3a), and a
point's occupancy logit is decoded from its raw coordinates, conditioned on
``c`` only through conditional batch normalization (CBN):

* a linear layer lifts ``p`` to ``hidden`` channels;
* ``blocks`` residual blocks, each ``CBN -> ReLU -> linear -> CBN -> ReLU ->
  linear`` plus the identity;
* a last ``CBN -> ReLU -> linear`` gives one logit (iso-level 0.5 on the
  sigmoid, as every occupancy method here).

CBN normalizes the features over all points of the batch without an affine
part of its own, then scales and shifts them by ``gamma(c)`` and ``beta(c)``,
two linear maps of the image vector.  In eval mode the normalization uses
running statistics, so chunked queries agree with one big query, as the
reconstructor needs.  Sizes come from ``ModelConfig`` (``width``,
``global_features`` = OccNet's ``c_dim``, ``occnet_hidden``,
``occnet_blocks``); 256 / 256 / 5 are the paper's.  The projection ``a, b``
is accepted for the common interface and ignored: nothing is projected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from svr_desktop.model.encoders import GlobalEncoder
from svr_desktop.model.implicit import Encoded, ImplicitNetwork, count_parameters

if TYPE_CHECKING:
    from svr_desktop.model.config import ModelConfig


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose scale and shift are linear functions of a condition vector.

    Initialized as plain batch norm (``gamma = 1``, ``beta = 0`` for every
    condition), as OccNet does, so training starts from a well-scaled network.
    """

    def __init__(self, condition_channels: int, channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(channels, affine=False)
        self.gamma = nn.Linear(condition_channels, channels)
        self.beta = nn.Linear(condition_channels, channels)
        nn.init.zeros_(self.gamma.weight)
        nn.init.ones_(self.gamma.bias)
        nn.init.zeros_(self.beta.weight)
        nn.init.zeros_(self.beta.bias)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """``x`` (B, N, C) normalized over all B * N points; ``condition`` (B, D)."""
        batch, count, channels = x.shape
        normed = self.norm(x.reshape(batch * count, channels)).reshape(batch, count, channels)
        # gamma and beta are per image: computed once per query, not per point.
        return self.gamma(condition)[:, None] * normed + self.beta(condition)[:, None]


class ConditionalResBlock(nn.Module):
    """Two (CBN, ReLU, linear) steps plus the identity; the second linear starts at zero (block = identity)."""

    def __init__(self, condition_channels: int, channels: int) -> None:
        super().__init__()
        self.norm_0 = ConditionalBatchNorm(condition_channels, channels)
        self.linear_0 = nn.Linear(channels, channels)
        self.norm_1 = ConditionalBatchNorm(condition_channels, channels)
        self.linear_1 = nn.Linear(channels, channels)
        nn.init.zeros_(self.linear_1.weight)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        h = self.linear_0(torch.relu(self.norm_0(x, condition)))
        return x + self.linear_1(torch.relu(self.norm_1(h, condition)))


class CBNDecoder(nn.Module):
    """OccNet's decoder: point -> ``hidden`` channels -> CBN residual blocks -> one logit."""

    def __init__(self, condition_channels: int, hidden: int, blocks: int) -> None:
        super().__init__()
        self.point_in = nn.Linear(3, hidden)
        self.blocks = nn.ModuleList(ConditionalResBlock(condition_channels, hidden) for _ in range(blocks))
        self.norm_out = ConditionalBatchNorm(condition_channels, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, points: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """``points`` (B, N, 3), ``condition`` (B, D) -> logits (B, N)."""
        x = self.point_in(points)
        for block in self.blocks:
            x = block(x, condition)
        return self.out(torch.relu(self.norm_out(x, condition)))[..., 0]


class OccNet(ImplicitNetwork):
    """ResNet-18 image vector + the CBN decoder: occupancy logits at view-frame points."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.encoder = GlobalEncoder(config.width, config.global_features)
        self.decoder = CBNDecoder(config.global_features, config.occnet_hidden, config.occnet_blocks)

    def _encode(self, images: torch.Tensor) -> Encoded:
        return Encoded(self.encoder.encode(images), None)

    def query(self, encoded: Encoded, points: torch.Tensor, a, b) -> torch.Tensor:
        return self.decoder(points, encoded.features)

    def parameter_count(self) -> dict[str, int]:
        """Trainable parameters: backbone, encoder head (fc), decoder, total."""
        backbone = count_parameters(self.encoder.backbone)
        encoder = count_parameters(self.encoder)
        decoder = count_parameters(self.decoder)
        return {"backbone": backbone, "encoder_head": encoder - backbone, "decoder": decoder, "total": encoder + decoder}
