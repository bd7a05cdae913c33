"""Fast evaluation of a trained network's implicit field for one image.

Reconstruction queries the field at up to a few million view-frame points per
image (MISE to 256^3).  For the ``jin2022`` network (:class:`SVRNet`) two
facts about the trained network, in eval mode, make most of that work
shareable:

* ``z = E(I, p)`` depends on ``p_x`` and ``p_y`` only (the projection of paper
  eq. 5 drops depth; the global encoder ignores ``p`` altogether).  Grid
  points come in columns of equal ``(x, y)``, so the features and their share
  of the first layer are computed once per distinct column of a chunk.
* In eval mode every batch norm is a fixed per-channel affine map, so it folds
  into the next linear layer: the decoder becomes five plain affine layers
  with LeakyReLUs between them, and its first layer splits exactly into a
  feature part, a depth-guide part and a point part.
* The depth-guided decoder's relative inputs depend on the point's z, but the
  predicted layers they are computed from are read once per column too.

:class:`ImageField` gives the same values as ``model.query`` up to float
rounding (tests/test_field.py) at a fraction of the cost.  The other
methods' networks are queried through their own ``query``, unfolded: at
their preset sizes they evaluate about a third as many points per second
as the folded jin2022 decoder (DISN's local stream could share its column
terms the same way).

**Turned copies.** A depth-guided :class:`SVRNet` can also read the layers
its head predicts for copies of the image turned in its plane
(:mod:`.turns`): each column's layer bounds are read where each copy shows
it and averaged, so the depth guide comes from a steadier estimate, while
the image features stay those of the image as given.  Averaging the
copies' features as well gained a little more IoU but rounded the edges
(edge Chamfer distance on the dev meshes 0.121 to 0.135, on held-out real
meshes 0.128 to 0.161; docs/method.md, "Turned copies of the input").
Either way each point goes through the decoder once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..geometry.image_turns import turn_matrix
from ..model.decoder import Decoder
from ..model.implicit import Encoded, ImplicitNetwork
from ..model.layered_depth_head import guide_from_bounds, layer_bounds
from ..model.network import SVRNet
from ..model.projection import project, sample_at


def _batch_norm_affine(norm: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, shift) with ``norm(x) == x * scale + shift`` in eval mode."""
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.affine:
        shift = shift + norm.bias
    return scale, shift


def _fold_into_linear(linear: nn.Linear, scale: torch.Tensor, shift: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of ``linear(x * scale + shift)`` as one affine map."""
    weight = linear.weight * scale
    bias = linear.bias + linear.weight @ shift
    return weight, bias


@dataclass(frozen=True)
class FoldedDecoder:
    """The eval-mode decoder as affine layers: first layer split into feature and point weights."""

    feature_weight: torch.Tensor  # (H1, C): applied per column
    guide_weight: torch.Tensor  # (H1, G): applied per point to its depth-guide inputs (G may be 0)
    point_weight: torch.Tensor  # (H1, E): applied per point to the encoded point
    first_bias: torch.Tensor  # (H1,)
    hidden: tuple[tuple[torch.Tensor, torch.Tensor], ...]  # (weight, bias) of layers 2..5
    leaky_slope: float
    point_encoding: nn.Module

    @classmethod
    @torch.no_grad()
    def from_decoder(cls, decoder: Decoder, feature_channels: int) -> FoldedDecoder:
        modules = list(decoder.layers)
        linears = [m for m in modules if isinstance(m, nn.Linear)]
        norms = [m for m in modules if isinstance(m, nn.BatchNorm1d)]
        activations = [m for m in modules if isinstance(m, nn.LeakyReLU)]
        if len(norms) != len(linears) - 1 or len(activations) != len(norms):
            raise ValueError("decoder layout is not (Linear, LeakyReLU, BatchNorm1d)* Linear")
        first = linears[0]
        if isinstance(decoder.input_norm, nn.BatchNorm1d):
            weight, bias = _fold_into_linear(first, *_batch_norm_affine(decoder.input_norm))
        else:
            weight, bias = first.weight.clone(), first.bias.clone()
        hidden = tuple(
            _fold_into_linear(linear, *_batch_norm_affine(norm)) for linear, norm in zip(linears[1:], norms)
        )
        guide_end = feature_channels + decoder.guide_channels
        return cls(
            feature_weight=weight[:, :feature_channels].contiguous(),
            guide_weight=weight[:, feature_channels:guide_end].contiguous(),
            point_weight=weight[:, guide_end:].contiguous(),
            first_bias=bias,
            hidden=hidden,
            leaky_slope=float(activations[0].negative_slope),
            point_encoding=decoder.point_encoding,
        )

    def __call__(self, column_term: torch.Tensor, points: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs (N,) from each point's column term (N, H1), the points (N, 3) and guide inputs (N, G)."""
        x = torch.addmm(column_term, self.point_encoding(points), self.point_weight.T)
        if guide is not None:
            x = torch.addmm(x, guide, self.guide_weight.T)
        for weight, bias in self.hidden:
            x = torch.addmm(bias, nn.functional.leaky_relu(x, self.leaky_slope, inplace=True), weight.T)
        return x[:, 0]


class ImageField:
    """The implicit field of one image as a numpy callable over view-frame points.

    ``probabilities=True`` applies the sigmoid (occupancy models); SDF models
    return the regressed distance.  An :class:`SVRNet` is evaluated through
    its folded decoder, any other network through its own ``query``.
    ``turns`` (degrees, :mod:`.turns`) lists the image as given and its
    turned copies when ``encoded.layers`` holds the layer maps of each (one
    per angle, in that order; ``encoded.features`` are the image's alone):
    only a depth-guided network reads them.
    """

    def __init__(
        self, model: ImplicitNetwork, encoded: Encoded, a: float, b: float, probabilities: bool, turns: Sequence[float] = (0.0,)
    ):
        if model.training:
            raise ValueError("ImageField needs the model in eval mode (batch norms use running statistics)")
        if len(turns) > 1 and not (isinstance(model, SVRNet) and model.config.depth_guided):
            raise ValueError("turned copies steady the predicted depth layers: only a depth-guided jin2022 network reads them")
        self.model = model
        self.encoded = encoded
        self.device = next(model.parameters()).device
        self.a = torch.tensor([a], dtype=torch.float32, device=self.device)
        self.b = torch.tensor([b], dtype=torch.float32, device=self.device)
        # Where each copy shows a view-frame point p: p @ turn.T (the identity for the image as given).
        self.turns = torch.tensor(np.stack([turn_matrix(angle, a, b) for angle in turns]), dtype=torch.float32, device=self.device)
        self.probabilities = probabilities
        self.decoder = (
            FoldedDecoder.from_decoder(model.decoder, model.encoder.out_channels) if isinstance(model, SVRNet) else None
        )

    @torch.no_grad()
    def __call__(self, points: np.ndarray) -> np.ndarray:
        xyz = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32)).to(self.device)
        if self.decoder is None:
            output = self.model.query(self.encoded, xyz[None], self.a, self.b)[0].float()
        else:
            output = self._folded(xyz)
        if self.probabilities:
            output = torch.sigmoid(output)
        return output.cpu().numpy()

    def _folded(self, xyz: torch.Tensor) -> torch.Tensor:
        """The :class:`SVRNet` field at (N, 3) points: image terms once per column, folded decoder per point."""
        columns, column_of_point = _distinct_columns(xyz)
        column_points = torch.nn.functional.pad(columns, (0, 1))[None]  # z = 0: depth is not projected
        z = self.model.encoder.sample(self.encoded.features, column_points, self.a, self.b)[0]
        column_term = torch.addmm(self.decoder.first_bias, z.float(), self.decoder.feature_weight.T)
        guide = None
        if self.model.config.depth_guided:
            shown_at = column_points @ self.turns.transpose(1, 2)  # (copies, columns, 3)
            layers = sample_at(self.encoded.layers, project(shown_at, self.a, self.b))
            bounds = (bound.mean(dim=0) for bound in layer_bounds(layers, self.model.config.depth_layers))  # per column
            guide = guide_from_bounds(*(bound.index_select(0, column_of_point) for bound in bounds), xyz[:, 2])
        return self.decoder(column_term.index_select(0, column_of_point), xyz, guide)


def _distinct_columns(xyz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct ``(x, y)`` pairs of (N, 3) float32 points and each point's pair index.

    The two float32 coordinates are viewed as one int64 key: a 1-D unique is
    ~100x faster than ``torch.unique(dim=0)``.  Equal floats have equal bits,
    so points of one column always share a key.
    """
    keys = xyz[:, :2].contiguous().view(torch.int64)[:, 0]
    distinct, inverse = torch.unique(keys, return_inverse=True)
    return distinct.view(torch.float32).reshape(-1, 2), inverse
