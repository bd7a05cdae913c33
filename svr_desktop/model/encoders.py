"""The feature extractors of paper Fig. 3 (plus FPN + global) and their registry.

Every encoder splits ``z = E(I, p)`` in two so that inference can run the
CNN once per image and then query many chunks of points:

* ``encode(images)`` -> features (whatever the encoder needs, per image);
* ``sample(features, points, a, b)`` -> ``z`` of shape (B, N, out_channels).

Local encoders find a point's features through the orthographic projection
of :mod:`svr_desktop.model.projection` (paper eq. 5) and bilinear sampling;
that module is the only place that defines where a point lands.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from svr_desktop.model.projection import project, sample_at
from svr_desktop.model.resnet import ResNet18

if TYPE_CHECKING:
    from svr_desktop.model.config import ModelConfig


class Encoder(nn.Module, ABC):
    """A ResNet-18 backbone plus the way its output becomes per-point ``z``."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.backbone = ResNet18(width)

    @classmethod
    @abstractmethod
    def from_config(cls, config: ModelConfig) -> Encoder:
        """Build the encoder from the fields of ``config`` it uses."""

    @property
    @abstractmethod
    def out_channels(self) -> int:
        """Channels of ``z``."""

    @abstractmethod
    def encode(self, images: torch.Tensor):
        """(B, 3, H, W) images in [0, 1] -> per-image features."""

    @abstractmethod
    def sample(self, features, points: torch.Tensor, a, b) -> torch.Tensor:
        """Features of each view-frame point: (B, N, 3) -> (B, N, out_channels)."""

    @property
    def finest_channels(self) -> int:
        """Channels of :meth:`finest` (the map a dense head reads)."""
        raise ValueError(f"the {type(self).__name__} has no feature map for a dense head")

    def finest(self, features) -> torch.Tensor:
        """The highest-resolution feature map (stride 4) of encoded images."""
        raise ValueError(f"the {type(self).__name__} has no feature map for a dense head")


def sample_levels(
    maps: Sequence[torch.Tensor], points: torch.Tensor, a, b
) -> torch.Tensor:
    """Bilinearly sample every map at the points' projections, concatenated."""
    uv = project(points, a, b)
    return torch.cat([sample_at(m, uv, "bilinear") for m in maps], dim=-1)


class GlobalEncoder(Encoder):
    """Fig. 3a (OccNet / IM-NET): one vector per image, the same for all points.

    Average-pooled C5 through a linear layer.  ``a`` and ``b`` are accepted
    for a uniform interface but do not matter: nothing is projected.
    """

    def __init__(self, width: int, global_features: int) -> None:
        super().__init__(width)
        self.fc = nn.Linear(self.backbone.channels[-1], global_features)

    @classmethod
    def from_config(cls, config: ModelConfig) -> GlobalEncoder:
        return cls(config.width, config.global_features)

    @property
    def out_channels(self) -> int:
        return self.fc.out_features

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """-> (B, global_features)."""
        c5 = self.backbone(images)[-1]
        return self.fc(c5.mean(dim=(2, 3)))

    def sample(self, features: torch.Tensor, points: torch.Tensor, a, b) -> torch.Tensor:
        return features.unsqueeze(1).expand(-1, points.shape[1], -1)


class MultiLevelEncoder(Encoder):
    """Fig. 3b (DISN style): C2..C5 sampled at the projected point, concatenated.

    ``z`` has ``15 * width`` channels (w + 2w + 4w + 8w).
    """

    @classmethod
    def from_config(cls, config: ModelConfig) -> MultiLevelEncoder:
        return cls(config.width)

    @property
    def out_channels(self) -> int:
        return sum(self.backbone.channels)

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """-> (C2, C3, C4, C5)."""
        return self.backbone(images)

    @property
    def finest_channels(self) -> int:
        return self.backbone.channels[0]

    def finest(self, features) -> torch.Tensor:
        return features[0]

    def sample(self, features, points: torch.Tensor, a, b) -> torch.Tensor:
        return sample_levels(features, points, a, b)


class FPNEncoder(Encoder):
    """Fig. 3c, the paper's extractor: an FPN top-down pathway over C2..C5.

    Following Lin et al. (FPN): 1x1 lateral convs bring C2..C5 to
    ``fpn_channels``; going from coarse to fine, each level adds the
    nearest-upsampled coarser one (the "extra network that combines the
    feature maps in reverse order"); a 3x3 conv smooths each sum into
    P2..P5 (strides 4..32).  ``z`` concatenates the four samples
    (``4 * fpn_channels`` channels).
    """

    def __init__(self, width: int, fpn_channels: int) -> None:
        super().__init__(width)
        self.lateral = nn.ModuleList(
            nn.Conv2d(c, fpn_channels, 1) for c in self.backbone.channels
        )
        self.smooth = nn.ModuleList(
            nn.Conv2d(fpn_channels, fpn_channels, 3, padding=1) for _ in self.backbone.channels
        )
        for conv in (*self.lateral, *self.smooth):
            nn.init.kaiming_uniform_(conv.weight, a=1)  # as torchvision's FPN
            nn.init.zeros_(conv.bias)

    @classmethod
    def from_config(cls, config: ModelConfig) -> FPNEncoder:
        return cls(config.width, config.fpn_channels)

    @property
    def out_channels(self) -> int:
        return len(self.smooth) * self.smooth[0].out_channels

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """-> (P2, P3, P4, P5)."""
        return self._pyramid(self.backbone(images))

    def _pyramid(self, stages: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """The top-down pathway: backbone stages (C2..C5) -> (P2..P5)."""
        laterals = [conv(c) for conv, c in zip(self.lateral, stages)]
        merged = [laterals[-1]]  # coarse to fine
        for lateral in reversed(laterals[:-1]):
            coarser = F.interpolate(merged[-1], size=lateral.shape[-2:], mode="nearest")
            merged.append(lateral + coarser)
        return tuple(smooth(p) for smooth, p in zip(self.smooth, reversed(merged)))

    def sample(self, features, points: torch.Tensor, a, b) -> torch.Tensor:
        return sample_levels(features, points, a, b)

    @property
    def finest_channels(self) -> int:
        return self.smooth[0].out_channels

    def finest(self, features) -> torch.Tensor:
        return features[0]


class FPNGlobalEncoder(FPNEncoder):
    """The FPN's local features plus a global image vector, as DISN pairs them.

    Our addition (docs/method.md): a pixel's local features say where the
    part's silhouette is but little about how deep the part is there; the
    global vector (average-pooled C5 through a linear layer, as in
    :class:`GlobalEncoder`) lets the decoder judge depth from the whole shape.
    ``z`` is ``4 * fpn_channels + global_features`` channels.
    """

    def __init__(self, width: int, fpn_channels: int, global_features: int) -> None:
        super().__init__(width, fpn_channels)
        self.fc = nn.Linear(self.backbone.channels[-1], global_features)

    @classmethod
    def from_config(cls, config: ModelConfig) -> FPNGlobalEncoder:
        return cls(config.width, config.fpn_channels, config.global_features)

    @property
    def out_channels(self) -> int:
        return super().out_channels + self.fc.out_features

    def encode(self, images: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """-> ((P2, P3, P4, P5), global vector (B, global_features))."""
        c2, c3, c4, c5 = self.backbone(images)
        return self._pyramid((c2, c3, c4, c5)), self.fc(c5.mean(dim=(2, 3)))

    def sample(self, features, points: torch.Tensor, a, b) -> torch.Tensor:
        pyramid, vector = features
        local = sample_levels(pyramid, points, a, b)
        return torch.cat([local, vector.unsqueeze(1).expand(-1, points.shape[1], -1)], dim=-1)

    def finest(self, features) -> torch.Tensor:
        return features[0][0]


#: Encoder classes by the name used in :class:`ModelConfig`.
ENCODERS: dict[str, type[Encoder]] = {
    "global": GlobalEncoder,
    "multilevel": MultiLevelEncoder,
    "fpn": FPNEncoder,
    "fpn_global": FPNGlobalEncoder,
}
