"""The full network ``v' = D(p, E(I, p))`` and its factory :func:`get_model`."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from svr_desktop.model.config import ModelConfig
from svr_desktop.model.decoder import Decoder
from svr_desktop.model.encoders import ENCODERS
from svr_desktop.model.layered_depth_head import LayeredDepthHead, guide_channels, guide_features
from svr_desktop.model.projection import project, sample_at


class Encoded(NamedTuple):
    """What ``encode`` computes once per image."""

    features: Any  # the encoder's own (pyramid, maps or vector)
    layers: torch.Tensor | None  # raw layered-depth maps (B, 3K + 3, h, w); None without a depth head


class SVRNet(nn.Module):
    """Encoder (backbone + Fig. 3 variant) and the five-layer decoder.

    ``encode`` runs the CNN once per image; ``query`` evaluates any number of
    points against those features, so inference encodes once and queries a
    grid chunk by chunk (in eval mode the chunks agree with one big query).
    Points live in the view frame; ``a`` and ``b`` ((B,) tensors or scalars)
    are the orthographic projection of paper eq. 5.

    With ``config.depth_head`` a dense head also predicts the layered depth
    of every pixel (:mod:`.layered_depth_head`), and with
    ``config.depth_guided`` the decoder reads those layers at each point's
    pixel; without both it is the paper's network, unchanged.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = ENCODERS[config.encoder].from_config(config)
        self.depth_head = (
            LayeredDepthHead(self.encoder.finest_channels, config.depth_layers) if config.depth_head else None
        )
        self.decoder = Decoder(
            self.encoder.out_channels,
            config.decoder_hidden,
            config.leaky_slope,
            config.point_frequencies,
            config.input_norm,
            guide_channels(config.depth_layers) if config.depth_guided else 0,
        )

    def encode(self, images: torch.Tensor) -> Encoded:
        """(B, 3, S, S) images in [0, 1], S = ``config.image_size`` -> features (and layers)."""
        size = self.config.image_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, size, size):
            raise ValueError(
                f"expected images of shape (B, 3, {size}, {size}), got {tuple(images.shape)}"
            )
        features = self.encoder.encode(images)
        layers = self.depth_head(self.encoder.finest(features)) if self.depth_head is not None else None
        return Encoded(features, layers)

    def query(self, encoded: Encoded, points: torch.Tensor, a, b) -> torch.Tensor:
        """Outputs (B, N) for view-frame ``points`` (B, N, 3) of encoded images."""
        z = self.encoder.sample(encoded.features, points, a, b)
        guide = None
        if self.config.depth_guided:
            sampled = sample_at(encoded.layers, project(points, a, b))
            guide = guide_features(sampled, points[..., 2], self.config.depth_layers)
        return self.decoder(z, points, guide)

    def forward(self, images: torch.Tensor, points: torch.Tensor, a, b, with_layers: bool = False):
        """Outputs (B, N); with ``with_layers`` also the raw layer maps (for the depth loss)."""
        encoded = self.encode(images)
        output = self.query(encoded, points, a, b)
        return (output, encoded.layers) if with_layers else output

    def parameter_count(self) -> dict[str, int]:
        """Trainable parameters: backbone, encoder head (FPN / fc), decoder, total."""
        backbone = count_parameters(self.encoder.backbone)
        encoder = count_parameters(self.encoder)
        depth_head = count_parameters(self.depth_head) if self.depth_head is not None else 0
        decoder = count_parameters(self.decoder)
        return {
            "backbone": backbone,
            "encoder_head": encoder - backbone,
            "depth_head": depth_head,
            "decoder": decoder,
            "total": encoder + depth_head + decoder,
        }


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def get_model(config: ModelConfig) -> SVRNet:
    """Build the network a config describes (the one factory, as in OccNet)."""
    if not isinstance(config, ModelConfig):
        raise TypeError(f"get_model expects a ModelConfig, got {type(config).__name__}")
    return SVRNet(config)
