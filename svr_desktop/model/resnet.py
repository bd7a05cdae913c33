"""ResNet-18 backbone with a width multiplier (no torchvision on CPU builds).

At ``width=64`` the layers and parameter count are exactly torchvision's
``resnet18`` without its classifier (11,176,512 parameters), so the paper's
backbone is the default; smaller widths scale every stage for CPU training.
The backbone takes images in ``[0, 1]`` and applies the ImageNet
normalization itself, so no caller can forget it.
"""

from __future__ import annotations

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Strides of C2..C5 relative to the input image.
STRIDES = (4, 8, 16, 32)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or 1x1 projection) shortcut."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                nn.BatchNorm2d(channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class ResNet18(nn.Module):
    """Stem + four stages of two BasicBlocks; returns (C2, C3, C4, C5).

    C2..C5 have strides 4, 8, 16, 32 and ``width * (1, 2, 4, 8)`` channels.
    """

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        self.width = width
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        stages = []
        in_channels = width
        for channels, stride in zip(self.channels, (1, 2, 2, 2)):
            stages.append(
                nn.Sequential(BasicBlock(in_channels, channels, stride), BasicBlock(channels, channels, 1))
            )
            in_channels = channels
        self.stages = nn.ModuleList(stages)
        self._init_weights()

    @property
    def channels(self) -> tuple[int, int, int, int]:
        """Channels of C2..C5."""
        return tuple(self.width * m for m in (1, 2, 4, 8))

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        # Each residual block starts as the identity: stabler early training.
        for module in self.modules():
            if isinstance(module, BasicBlock):
                nn.init.zeros_(module.bn2.weight)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(B, 3, H, W) images in [0, 1] -> (C2, C3, C4, C5)."""
        x = self.stem((images - self.mean) / self.std)
        levels = []
        for stage in self.stages:
            x = stage(x)
            levels.append(x)
        return tuple(levels)
