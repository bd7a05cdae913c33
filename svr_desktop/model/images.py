"""Bringing images to the network's input size, the same way everywhere.

Training may read a data set rendered at another size than the model's
``image_size``; reconstruction gets prepared photos and data-set renders.
Both resize through this one function (bilinear with antialiasing), so the
network sees inputs filtered the same way in training and at inference.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def check_image_batch(images: torch.Tensor, size: int) -> None:
    """Refuse anything but a (B, 3, size, size) batch: the networks' one input check."""
    if images.ndim != 4 or tuple(images.shape[1:]) != (3, size, size):
        raise ValueError(f"expected images of shape (B, 3, {size}, {size}), got {tuple(images.shape)}")


def fit_to_size(images: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 3, H, W) float images resized to (B, 3, size, size) when they differ."""
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def image_to_tensor(image: np.ndarray, size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """A square (H, H, 3) uint8 image as a (1, 3, size, size) float tensor in [0, 1]."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] != image.shape[1] or image.dtype != np.uint8:
        raise ValueError(f"expected a square (H, H, 3) uint8 image, got {image.shape} {image.dtype}")
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255.0).to(device)
    return fit_to_size(tensor, size)
