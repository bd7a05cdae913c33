"""The full network ``v' = D(p, E(I, p))`` and its factory :func:`get_model`."""

from __future__ import annotations

import torch
from torch import nn

from svr_desktop.model.config import ModelConfig
from svr_desktop.model.decoder import Decoder
from svr_desktop.model.encoders import ENCODERS


class SVRNet(nn.Module):
    """Encoder (backbone + Fig. 3 variant) and the five-layer decoder.

    ``encode`` runs the CNN once per image; ``query`` evaluates any number of
    points against those features, so inference encodes once and queries a
    grid chunk by chunk (in eval mode the chunks agree with one big query).
    Points live in the view frame; ``a`` and ``b`` ((B,) tensors or scalars)
    are the orthographic projection of paper eq. 5.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = ENCODERS[config.encoder].from_config(config)
        self.decoder = Decoder(
            self.encoder.out_channels,
            config.decoder_hidden,
            config.leaky_slope,
            config.point_frequencies,
            config.input_norm,
        )

    def encode(self, images: torch.Tensor):
        """(B, 3, S, S) images in [0, 1], S = ``config.image_size`` -> features."""
        size = self.config.image_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, size, size):
            raise ValueError(
                f"expected images of shape (B, 3, {size}, {size}), got {tuple(images.shape)}"
            )
        return self.encoder.encode(images)

    def query(self, features, points: torch.Tensor, a, b) -> torch.Tensor:
        """Outputs (B, N) for view-frame ``points`` (B, N, 3) of encoded images."""
        return self.decoder(self.encoder.sample(features, points, a, b), points)

    def forward(self, images: torch.Tensor, points: torch.Tensor, a, b) -> torch.Tensor:
        return self.query(self.encode(images), points, a, b)

    def parameter_count(self) -> dict[str, int]:
        """Trainable parameters: backbone, encoder head (FPN / fc), decoder, total."""
        backbone = count_parameters(self.encoder.backbone)
        encoder = count_parameters(self.encoder)
        decoder = count_parameters(self.decoder)
        return {
            "backbone": backbone,
            "encoder_head": encoder - backbone,
            "decoder": decoder,
            "total": encoder + decoder,
        }


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def get_model(config: ModelConfig) -> SVRNet:
    """Build the network a config describes (the one factory, as in OccNet)."""
    if not isinstance(config, ModelConfig):
        raise TypeError(f"get_model expects a ModelConfig, got {type(config).__name__}")
    return SVRNet(config)
