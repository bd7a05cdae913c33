"""The typed model configuration that every checkpoint carries.

``dataclasses.asdict(config)`` is plain JSON / YAML and ``ModelConfig(**d)``
rebuilds it (lists come back as tuples), so a checkpoint can always rebuild
its own network without unpickling anything (DESIGN.md section 4).
"""

from __future__ import annotations

from dataclasses import dataclass

from svr_desktop.model.encoders import ENCODERS

#: Feature maps must tile the image exactly (C5 has stride 32) so that the
#: normalized coordinates of :mod:`projection` mean the same place on every
#: level.
IMAGE_SIZE_MULTIPLE = 32


@dataclass(frozen=True)
class ModelConfig:
    """Shape of the network: backbone width, encoder variant and decoder.

    * ``encoder``: ``"global"`` (paper Fig. 3a), ``"multilevel"`` (3b) or
      ``"fpn"`` (3c, the paper's method) or ``"fpn_global"`` (3c plus
      DISN's global image vector; our addition, docs/method.md).
    * ``width``: ResNet-18 base width; 64 is the real ResNet-18 (stages
      64/128/256/512), smaller widths make CPU training feasible.
    * ``fpn_channels``: channels of each FPN level P2..P5 (``fpn*`` only).
    * ``global_features``: size of the image vector (``global`` and
      ``fpn_global`` only).
    * ``decoder_hidden``: the four hidden sizes of the five-layer MLP.
    * ``leaky_slope``: negative slope of the decoder's LeakyReLUs.
    * ``image_size``: side of the square input image in pixels.
    * ``point_frequencies``: the decoder sees the point as
      ``(p, sin(2^k pi p), cos(2^k pi p))`` for ``k < point_frequencies``;
      0 is the paper's raw ``p``.
    * ``input_norm``: batch-normalize the decoder input ``concat(z, point)``
      so that the point's few channels are not drowned by ``z``.
    * ``depth_head``: add the dense layered-depth head on the finest feature
      map (trained with the data set's layered depth; issue 13).
    * ``depth_guided``: feed the decoder, at each point, the layers the head
      predicts at its pixel relative to the point's depth (needs
      ``depth_head``).
    * ``depth_layers``: entry/exit pairs the head predicts.

    The last two are our addition to the paper (DESIGN.md 1): with raw xyz
    and no input normalization the point enters with ~1/1000 of the image
    features' variance and a small model learns depth very slowly.
    """

    encoder: str = "fpn"
    width: int = 64
    fpn_channels: int = 256
    global_features: int = 256
    decoder_hidden: tuple[int, int, int, int] = (512, 256, 128, 64)
    leaky_slope: float = 0.2
    image_size: int = 224
    point_frequencies: int = 6
    input_norm: bool = True
    depth_head: bool = False
    depth_guided: bool = False
    depth_layers: int = 2

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise ValueError(
                f"unknown encoder {self.encoder!r}; valid encoders: {', '.join(ENCODERS)}"
            )
        for name in ("width", "fpn_channels", "global_features"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        hidden = tuple(self.decoder_hidden)
        if len(hidden) != 4 or not all(_is_int(h) and h >= 1 for h in hidden):
            raise ValueError(
                f"decoder_hidden must be 4 positive integers (the decoder has five "
                f"linear layers), got {self.decoder_hidden!r}"
            )
        object.__setattr__(self, "decoder_hidden", hidden)  # JSON lists -> tuple
        if not _is_int(self.point_frequencies) or not 0 <= self.point_frequencies <= 16:
            raise ValueError(f"point_frequencies must be an integer in [0, 16], got {self.point_frequencies!r}")
        for name in ("input_norm", "depth_head", "depth_guided"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not _is_int(self.depth_layers) or not 1 <= self.depth_layers <= 8:
            raise ValueError(f"depth_layers must be an integer in [1, 8], got {self.depth_layers!r}")
        if self.depth_guided and not self.depth_head:
            raise ValueError("depth_guided needs depth_head: the decoder reads the layers the head predicts")
        if self.depth_head and self.encoder == "global":
            raise ValueError("depth_head needs a local encoder (multilevel, fpn, fpn_global), not 'global'")
        if not 0.0 <= float(self.leaky_slope) < 1.0:
            raise ValueError(f"leaky_slope must lie in [0, 1), got {self.leaky_slope!r}")
        if (
            not _is_int(self.image_size)
            or self.image_size < IMAGE_SIZE_MULTIPLE
            or self.image_size % IMAGE_SIZE_MULTIPLE
        ):
            raise ValueError(
                f"image_size must be a positive multiple of {IMAGE_SIZE_MULTIPLE}, "
                f"got {self.image_size!r}"
            )


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
