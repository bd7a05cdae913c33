"""The ``disn`` method: DISN's two-stream signed-distance network (Wang et al. 2019; reference 002).

One CNN (our ResNet-18 in place of DISN's VGG-16) gives two kinds of image
features:

* **global**: one vector per image (average-pooled C5 through a linear
  layer, ``global_features`` channels; DISN's 1,000-value VGG output);
* **local** (multilevel): C2..C5 bilinearly sampled where the point
  projects and concatenated (``15 * width`` channels), as DISN samples its
  VGG feature maps at the point's pixel.

Each of the two streams lifts the point's coordinates with its own MLP
(``3 -> h/8 -> h/2 -> h``), concatenates them with its features and decodes
one value (``-> h -> h/2 -> 1``), ReLUs throughout and no normalization, as
in DISN; ``h = disn_hidden`` (512 in DISN).  The global stream predicts the
overall shape's signed distance and the local stream a residual that adds
the details: the network outputs their **sum**.  It regresses the
inside-positive signed distance of the ``sdf`` label mode with the L1 loss
weighted up near the surface (:func:`svr_desktop.training.losses.label_loss`);
the surface is the iso-level 0.

**No camera estimation.**  DISN first estimates the camera pose with a
separate network and projects the point through it.  Here the point is
projected with our orthographic projection (paper eq. 5,
:mod:`svr_desktop.model.projection`) and the ``a, b`` that the data set
stores for every view and the user sets for a photo: the same known-camera
setting as DISN's results with ground-truth cameras, so DISN's
camera-estimation branch is left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from svr_desktop.model.encoders import sample_levels
from svr_desktop.model.implicit import Encoded, ImplicitNetwork, count_parameters
from svr_desktop.model.resnet import ResNet18

if TYPE_CHECKING:
    from svr_desktop.model.config import ModelConfig


def _mlp(sizes: list[int], last_activation: bool) -> nn.Sequential:
    """Linear layers between consecutive ``sizes`` with ReLUs (after the last one too when asked)."""
    layers: list[nn.Module] = []
    for index, (size_in, size_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(size_in, size_out))
        if last_activation or index < len(sizes) - 2:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class SDFStream(nn.Module):
    """One of DISN's two decoders: point MLP, concatenated with per-point features, MLP to one value."""

    def __init__(self, feature_channels: int, hidden: int) -> None:
        super().__init__()
        self.point_mlp = _mlp([3, hidden // 8, hidden // 2, hidden], last_activation=True)
        self.decoder = _mlp([hidden + feature_channels, hidden, hidden // 2, 1], last_activation=False)

    def forward(self, points: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """``points`` (B, N, 3), ``features`` (B, N, C) -> (B, N)."""
        lifted = self.point_mlp(points)
        return self.decoder(torch.cat((lifted, features), dim=-1))[..., 0]


class DISN(ImplicitNetwork):
    """ResNet-18 global + multilevel local features, two SDF streams summed."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.backbone = ResNet18(config.width)
        self.global_fc = nn.Linear(self.backbone.channels[-1], config.global_features)
        self.global_stream = SDFStream(config.global_features, config.disn_hidden)
        self.local_stream = SDFStream(sum(self.backbone.channels), config.disn_hidden)

    def _encode(self, images: torch.Tensor) -> Encoded:
        """-> ((C2, C3, C4, C5), global vector (B, global_features))."""
        levels = self.backbone(images)
        return Encoded((levels, self.global_fc(levels[-1].mean(dim=(2, 3)))), None)

    def query(self, encoded: Encoded, points: torch.Tensor, a, b) -> torch.Tensor:
        levels, vector = encoded.features
        local = sample_levels(levels, points, a, b)
        overall = vector.unsqueeze(1).expand(-1, points.shape[1], -1)
        return self.global_stream(points, overall) + self.local_stream(points, local)

    def parameter_count(self) -> dict[str, int]:
        """Trainable parameters: backbone, encoder head (fc), decoder (both streams), total."""
        backbone = count_parameters(self.backbone)
        head = count_parameters(self.global_fc)
        decoder = count_parameters(self.global_stream) + count_parameters(self.local_stream)
        return {"backbone": backbone, "encoder_head": head, "decoder": decoder, "total": backbone + head + decoder}
