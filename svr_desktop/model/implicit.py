"""What every method's network offers: encode an image once, query its field at points.

Training, validation and reconstruction never ask which method they hold:
they call ``encode(images)`` once per image, ``query(encoded, points, a, b)``
for any number of view-frame points (the reconstructor queries a grid
chunk by chunk; in eval mode chunks agree with one big query), or the two
at once through ``forward``.  :class:`ImplicitNetwork` holds that contract
and the input check that every method shares; each method
(:mod:`svr_desktop.model.methods`) subclasses it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
from torch import nn

from svr_desktop.model.images import check_image_batch

if TYPE_CHECKING:
    from svr_desktop.model.config import ModelConfig


class Encoded(NamedTuple):
    """What ``encode`` computes once per image."""

    features: Any  # the method's own (pyramid, maps or vector)
    layers: torch.Tensor | None  # raw layered-depth maps (B, 3K + 3, h, w); None without a depth head


class ImplicitNetwork(nn.Module, ABC):
    """An image-conditioned implicit field ``v' = f(I, p)`` over view-frame points.

    ``a`` and ``b`` ((B,) tensors or scalars) are the orthographic projection
    of paper eq. 5; methods with a global image vector only accept them.
    The output is one value per point: an occupancy logit or a signed
    distance, whichever the method (and for ``jin2022`` the label mode)
    trains (:func:`svr_desktop.model.methods.output_kind`).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    def encode(self, images: torch.Tensor) -> Encoded:
        """(B, 3, S, S) images in [0, 1], S = ``config.image_size`` -> per-image features."""
        check_image_batch(images, self.config.image_size)
        return self._encode(images)

    @abstractmethod
    def _encode(self, images: torch.Tensor) -> Encoded:
        """``encode`` once the images' shape is checked."""

    @abstractmethod
    def query(self, encoded: Encoded, points: torch.Tensor, a, b) -> torch.Tensor:
        """Outputs (B, N) for view-frame ``points`` (B, N, 3) of encoded images."""

    @abstractmethod
    def parameter_count(self) -> dict[str, int]:
        """Trainable parameters by part, with their ``total``."""

    def forward(self, images: torch.Tensor, points: torch.Tensor, a, b, with_layers: bool = False):
        """Outputs (B, N); with ``with_layers`` also the raw layer maps (None without a depth head)."""
        encoded = self.encode(images)
        output = self.query(encoded, points, a, b)
        return (output, encoded.layers) if with_layers else output


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
