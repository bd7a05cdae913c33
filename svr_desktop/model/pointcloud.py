"""The ``pointcloud`` method: an image straight to 2,048 points (reference 003).

The network of "3D Point Cloud Reconstruction Technique from 2D Image Using
Efficient Feature Map Extraction Network" (``references/003_*``):

* an **efficient feature-map extractor** (paper 2.2.2, Fig. 4-5): the image
  is not downsized until mid-network (a stride-1 stem and a residual block at
  full resolution instead of ResNet's stride-2 7x7 convolution and max
  pooling), channels are few (``pointcloud_width``, 16 by default against
  ResNet's 64) and the network shallow (three downsampling blocks after
  that); the **initial features go directly to the last stage** (pooled to
  its resolution and added to its output) instead of through every block's
  shortcut.  Average pooling and a linear layer give the 1,000-value feature
  (``pointcloud_features``).  The paper's Fig. 4 is not in our copy of the
  text; block counts and the additive long skip are our reading of it.
* the **reparameterization trick** (2.3): two linear layers map the feature
  to the mean and the log-variance of a 100-value latent
  (``pointcloud_latent``); training decodes ``mean + exp(log_var / 2) *
  noise``, inference decodes the mean.  Eq. 3's ``e^sigma`` term shows that
  the paper's "sigma" is a log-variance, as in a VAE.
* a **decoder** of three linear layers (2.4): 512, 1,024 and ``3 x 2,048 =
  6,144`` outputs, LeakyReLU between them -> 2,048 points
  (``pointcloud_points``).

Points live in the view frame in normalized units, like every method's
reconstruction (DESIGN.md 2).  Beyond the paper, the decoder's first two
coordinates are image coordinates (``u = a x``, ``v = b y``, the orthographic
projection of paper eq. 5 of reference 001) divided by ``a`` and ``b``: the
image shows ``u, v``, not ``x, y``, so a network that predicts them is not
confused by the renderer's scale jitter, and the user's ``a, b`` stretch the
points along x and y relative to the inferred depth, as they stretch the
other methods' meshes.  The layered-depth head and the label modes do not
apply; ``svr_desktop.training.point_losses`` holds the loss.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .images import check_image_batch
from .implicit import count_parameters
from .resnet import IMAGENET_MEAN, IMAGENET_STD, BasicBlock

if TYPE_CHECKING:
    from .config import ModelConfig

#: Downsampling blocks after the full-resolution part, each halving the map
#: and doubling the channels: at 160 px the last stage is 20 x 20 x 8 width.
DOWNSAMPLING_BLOCKS = 3


class Latent(NamedTuple):
    """The latent distribution an image encodes to: (B, L) mean and log-variance."""

    mean: torch.Tensor
    log_var: torch.Tensor


class PointPrediction(NamedTuple):
    """A forward pass: (B, N, 3) view-frame points and the latent distribution they came from."""

    points: torch.Tensor
    mean: torch.Tensor
    log_var: torch.Tensor


class EfficientExtractor(nn.Module):
    """Image -> one feature vector, full resolution until mid-network, initial features skipped to the end."""

    def __init__(self, width: int, features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True))
        self.full_resolution = BasicBlock(width, width, 1)
        channels = [width * 2**k for k in range(DOWNSAMPLING_BLOCKS + 1)]
        self.downsampling = nn.Sequential(*(BasicBlock(c_in, c_out, 2) for c_in, c_out in zip(channels, channels[1:])))
        # The long skip: the stem's features, pooled to the last stage's size and
        # matched to its channels by a 1x1 convolution.
        self.skip = nn.Sequential(nn.Conv2d(width, channels[-1], 1, bias=False), nn.BatchNorm2d(channels[-1]))
        self.fc = nn.Linear(channels[-1], features)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) images in [0, 1] -> (B, features)."""
        initial = self.stem((images - self.mean) / self.std)
        x = self.downsampling(self.full_resolution(initial))
        x = torch.relu(x + self.skip(F.adaptive_avg_pool2d(initial, x.shape[-2:])))
        return self.fc(x.mean(dim=(2, 3)))


class PointDecoder(nn.Module):
    """Latent -> (B, N, 3) points: three linear layers, LeakyReLU between them."""

    def __init__(self, latent: int, hidden: tuple[int, int], points: int, slope: float) -> None:
        super().__init__()
        self.points = points
        self.layers = nn.Sequential(
            nn.Linear(latent, hidden[0]),
            nn.LeakyReLU(slope),
            nn.Linear(hidden[0], hidden[1]),
            nn.LeakyReLU(slope),
            nn.Linear(hidden[1], 3 * points),
        )

    def forward(self, latent: torch.Tensor, a, b) -> torch.Tensor:
        """View-frame points: the decoded ``(u, v, z)`` with ``x = u / a``, ``y = v / b``."""
        uvz = self.layers(latent).reshape(len(latent), self.points, 3)
        scale = torch.stack(
            [_per_image(a, uvz), _per_image(b, uvz), torch.ones(len(uvz), 1, device=uvz.device, dtype=uvz.dtype)], dim=-1
        )
        return uvz / scale


def _per_image(value, like: torch.Tensor) -> torch.Tensor:
    """``a`` or ``b`` (a scalar or a (B,) tensor) as a (B, 1) tensor on ``like``'s device."""
    tensor = torch.as_tensor(value, dtype=like.dtype, device=like.device).reshape(-1, 1)
    return tensor.expand(len(like), 1)


class PointCloudNet(nn.Module):
    """Efficient extractor -> latent (mean, log-variance) -> decoder -> view-frame points."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.extractor = EfficientExtractor(config.pointcloud_width, config.pointcloud_features)
        # The extractor ends in a linear layer; without a non-linearity the 1,000
        # features followed by the mean layer would collapse into one linear map.
        self.activation = nn.LeakyReLU(config.leaky_slope)
        self.to_mean = nn.Linear(config.pointcloud_features, config.pointcloud_latent)
        self.to_log_var = nn.Linear(config.pointcloud_features, config.pointcloud_latent)
        self.decoder = PointDecoder(
            config.pointcloud_latent, config.pointcloud_hidden, config.pointcloud_points, config.leaky_slope
        )

    def encode(self, images: torch.Tensor) -> Latent:
        """(B, 3, S, S) images in [0, 1], S = ``config.image_size`` -> the latent distribution."""
        check_image_batch(images, self.config.image_size)
        features = self.activation(self.extractor(images))
        return Latent(self.to_mean(features), self.to_log_var(features))

    def decode(self, latent: torch.Tensor, a, b) -> torch.Tensor:
        """(B, L) latent vectors -> (B, N, 3) view-frame points for projection scales ``a, b``."""
        return self.decoder(latent, a, b)

    def forward(self, images: torch.Tensor, a, b, noise: torch.Tensor | None = None) -> PointPrediction:
        """Points of each image and the latent distribution behind them.

        In training mode the latent is ``mean + exp(log_var / 2) * noise``
        (``noise`` (B, L) standard normal; drawn here when not given: the
        trainer passes seeded noise so that a resumed run repeats it); in
        eval mode it is the mean, so a reconstruction is deterministic.
        """
        mean, log_var = self.encode(images)
        latent = mean
        if self.training:
            noise = torch.randn_like(mean) if noise is None else noise.to(mean)
            latent = mean + torch.exp(0.5 * log_var) * noise
        return PointPrediction(self.decode(latent, a, b), mean, log_var)

    def parameter_count(self) -> dict[str, int]:
        """Trainable parameters: extractor, latent heads, decoder, total."""
        extractor = count_parameters(self.extractor)
        latent = count_parameters(self.to_mean) + count_parameters(self.to_log_var)
        decoder = count_parameters(self.decoder)
        return {"extractor": extractor, "latent": latent, "decoder": decoder, "total": extractor + latent + decoder}
