"""The network of the ``jin2022`` method: ``v' = D(p, E(I, p))`` (paper section 5.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from svr_desktop.model.decoder import Decoder
from svr_desktop.model.encoders import ENCODERS
from svr_desktop.model.implicit import Encoded, ImplicitNetwork, count_parameters
from svr_desktop.model.layered_depth_head import LayeredDepthHead, guide_channels, guide_features
from svr_desktop.model.projection import project, sample_at

if TYPE_CHECKING:
    from svr_desktop.model.config import ModelConfig

__all__ = ["SVRNet"]


class SVRNet(ImplicitNetwork):
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
        super().__init__(config)
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

    def _encode(self, images: torch.Tensor) -> Encoded:
        """Encoder features, and the layer maps with a depth head."""
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

