"""The typed model configuration that every checkpoint carries, and its size bound.

``dataclasses.asdict(config)`` is plain JSON / YAML and ``ModelConfig(**d)``
rebuilds it (lists come back as tuples), so a checkpoint can always rebuild
its own network without unpickling anything (DESIGN.md section 4).  The
fields are checked by a pydantic schema (types and ranges) and, before any
weight is allocated, the size of the network they describe is measured on
torch's ``meta`` device: a config asking for terabytes is refused with a
message, not by the allocator.
"""

from __future__ import annotations

import functools
from typing import Annotated

import torch
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr
from pydantic.dataclasses import dataclass

from svr_desktop.model.encoders import ENCODERS
from svr_desktop.validation import SCHEMA

#: Feature maps must tile the image exactly (C5 has stride 32) so that the
#: normalized coordinates of :mod:`projection` mean the same place on every
#: level.
IMAGE_SIZE_MULTIPLE = 32

#: At most this many parameters: 600 MB of float32 weights, ten times the
#: paper's network (14.5 M).
MAX_PARAMETERS = 150_000_000

#: At most this many activations per input image in the encoder (1 GiB of
#: float32, about 25 times the paper's network at 224 px), which is what a
#: forward pass must hold and a training step keeps for the backward pass.
MAX_ACTIVATIONS_PER_IMAGE = 256 * 2**20

HiddenSize = Annotated[StrictInt, Field(ge=1, le=4096)]


@dataclass(frozen=True, config=SCHEMA)
class ModelConfig:
    """The method and the shape of its network: backbone width, encoder variant and decoder.

    * ``method``: which network (:data:`svr_desktop.model.methods.METHODS`):
      ``"jin2022"`` (this paper; the fields below describe it unless marked
      otherwise), ``"occnet"``, ``"disn"``, ``"pointcloud"`` or ``"d-occnet"``.  Configs and checkpoints
      without the key are ``jin2022``.
    * ``encoder``: ``"global"`` (paper Fig. 3a), ``"multilevel"`` (3b) or
      ``"fpn"`` (3c, the paper's method) or ``"fpn_global"`` (3c plus
      DISN's global image vector; our addition, docs/method.md).
    * ``width``: ResNet-18 base width; 64 is the real ResNet-18 (stages
      64/128/256/512), smaller widths make CPU training feasible.
    * ``fpn_channels``: channels of each FPN level P2..P5 (``fpn*`` only).
    * ``global_features``: size of the image vector (``global`` and
      ``fpn_global``; also ``occnet``'s ``c`` and ``disn``'s global vector).
    * ``decoder_hidden``: the four hidden sizes of the five-layer MLP.
    * ``leaky_slope``: negative slope of the decoder's LeakyReLUs.
    * ``image_size``: side of the square input image in pixels.
    * ``point_frequencies``: the decoder sees the point as
      ``(p, sin(2^k pi p), cos(2^k pi p))`` for ``k < point_frequencies``;
      0 is the paper's raw ``p``.
    * ``input_norm``: batch-normalize the decoder input ``concat(z, point)``
      so that the point's few channels are not drowned by ``z``.

    ``point_frequencies`` and ``input_norm`` are our addition to the paper
    (DESIGN.md 1): with raw xyz and no input normalization the point enters
    with ~1/1000 of the image features' variance and a small model learns
    depth very slowly.  So are the depth-guided parts (issue 13,
    docs/method.md), all off in the paper's configuration:

    * ``depth_head``: add the dense layered-depth head on the finest feature
      map (trained with the data set's layered depth).
    * ``depth_guided``: feed the decoder, at each point, the layers the head
      predicts at its pixel relative to the point's depth (needs
      ``depth_head``).
    * ``depth_layers``: entry/exit pairs the head predicts.

    The other methods read ``width``, ``global_features`` and
    ``image_size`` and their own sizes (the ``encoder``, ``fpn_channels``,
    ``decoder_hidden`` and point-input fields are jin2022's):

    * ``occnet_hidden``, ``occnet_blocks``: width and number of the CBN
      residual blocks of OccNet's decoder (paper: 256 and 5).
    * ``disn_hidden``: width ``h`` of DISN's two streams (point MLP
      ``h/8, h/2, h``; decoder ``h, h/2, 1``; paper: 512).
    * ``pointcloud_width``: channels of the ``pointcloud`` method's
      full-resolution stages (doubled by each of its three downsampling
      blocks); ``pointcloud_features``: its image feature (paper: 1,000);
      ``pointcloud_latent``: its latent (paper: 100); ``pointcloud_hidden``:
      its decoder's two hidden layers (paper: 512, 1,024);
      ``pointcloud_points``: the points it outputs (paper: 2,048).
      It reads ``image_size`` and ``leaky_slope`` too, not ``width``.
    * ``doccnet_points``: the points ``d-occnet`` samples from its stage-1
      mesh (paper: 300); ``doccnet_features``: its PointNet's output
      (paper: 512).  Its stage 1 reads the ``occnet`` fields.

    Each size has a range (far above the presets) and together they must
    stay within :data:`MAX_PARAMETERS` and :data:`MAX_ACTIVATIONS_PER_IMAGE`
    (:meth:`check_size`).
    """

    method: StrictStr = "jin2022"
    encoder: StrictStr = "fpn"
    width: StrictInt = Field(64, ge=1, le=512)
    fpn_channels: StrictInt = Field(256, ge=1, le=4096)
    global_features: StrictInt = Field(256, ge=1, le=4096)
    decoder_hidden: tuple[HiddenSize, HiddenSize, HiddenSize, HiddenSize] = (512, 256, 128, 64)
    leaky_slope: StrictFloat = Field(0.2, ge=0.0, lt=1.0)
    image_size: StrictInt = Field(224, ge=IMAGE_SIZE_MULTIPLE, le=2048, multiple_of=IMAGE_SIZE_MULTIPLE)
    point_frequencies: StrictInt = Field(6, ge=0, le=16)
    input_norm: StrictBool = True
    depth_head: StrictBool = False
    depth_guided: StrictBool = False
    depth_layers: StrictInt = Field(2, ge=1, le=8)
    occnet_hidden: StrictInt = Field(256, ge=1, le=4096)
    occnet_blocks: StrictInt = Field(5, ge=1, le=64)
    disn_hidden: StrictInt = Field(512, ge=8, le=4096)
    pointcloud_width: StrictInt = Field(16, ge=1, le=512)
    pointcloud_features: StrictInt = Field(1000, ge=1, le=65536)
    pointcloud_latent: StrictInt = Field(100, ge=1, le=4096)
    pointcloud_hidden: tuple[HiddenSize, HiddenSize] = (512, 1024)
    pointcloud_points: StrictInt = Field(2048, ge=1, le=16384)
    doccnet_points: StrictInt = Field(300, ge=1, le=100_000)
    doccnet_features: StrictInt = Field(512, ge=1, le=4096)

    def __post_init__(self) -> None:
        from svr_desktop.model.methods import METHODS  # the registry builds on this module

        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; valid methods: {', '.join(METHODS)}")
        if self.depth_head and not METHODS[self.method].depth_head:
            with_head = ", ".join(name for name, method in METHODS.items() if method.depth_head)
            raise ValueError(f"the {self.method} method has no layered-depth head (depth_head is for {with_head})")
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {self.encoder!r}; valid encoders: {', '.join(ENCODERS)}")
        if self.depth_guided and not self.depth_head:
            raise ValueError("depth_guided needs depth_head: the decoder reads the layers the head predicts")
        if self.depth_head and self.encoder == "global":
            raise ValueError("depth_head needs a local encoder (multilevel, fpn, fpn_global), not 'global'")

    def check_size(self) -> None:
        """Refuse a network beyond :data:`MAX_PARAMETERS` or :data:`MAX_ACTIVATIONS_PER_IMAGE`.

        Not part of validation: the first :func:`model_size` in a process
        takes about a second (torch's meta-device set-up), and a training
        config checks its other sections before it is paid.  Whoever builds a
        network from stored or typed-in values calls it (the training config,
        the checkpoint reader).
        """
        parameters, activations = model_size(self)
        if parameters > MAX_PARAMETERS:
            raise ValueError(f"the model would have {parameters:,} parameters (at most {MAX_PARAMETERS:,})")
        if activations > MAX_ACTIVATIONS_PER_IMAGE:
            raise ValueError(
                f"the model would hold {activations:,} activations per image "
                f"(at most {MAX_ACTIVATIONS_PER_IMAGE:,}); use a smaller image_size or width"
            )


@functools.lru_cache(maxsize=32)
def model_size(config: ModelConfig) -> tuple[int, int]:
    """(parameters, encoder activations per image) of the network ``config`` describes.

    The network is built and run on one image on torch's ``meta`` device,
    where tensors have shapes but no storage: exact, allocation-free and a
    few tens of milliseconds (remembered for the last configs, which are
    rebuilt often: every preset load, every checkpoint read).  Activations
    count every layer's output.
    """
    from svr_desktop.model.methods import get_model  # the registry builds on this module

    outputs: list[int] = []
    with torch.device("meta"), torch.no_grad():
        model = get_model(config)
        for module in model.modules():
            if not any(module.children()):
                module.register_forward_hook(lambda _module, _inputs, output: outputs.append(_elements(output)))
        model.encode(torch.empty(1, 3, config.image_size, config.image_size))
    return sum(p.numel() for p in model.parameters()), sum(outputs)


def _elements(output) -> int:
    """Elements of a layer's output: one tensor, or tensors in (nested) tuples."""
    if isinstance(output, torch.Tensor):
        return output.numel()
    return sum(_elements(item) for item in output) if isinstance(output, (tuple, list)) else 0
