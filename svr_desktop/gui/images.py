"""Conversions between numpy images and Qt images, and PNG files.

The core works on (H, W, 3|4) uint8 arrays; Qt paints ``QImage``.  Every
``QImage`` made here owns its pixels (a view on a numpy buffer would dangle
once the array is freed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage

from ..files import atomic_write_bytes

#: Background tint of the mask overlay (RGBA): the part stays as photographed,
#: the rest is darkened and tinted blue so the silhouette stands out.
BACKGROUND_TINT = (20, 40, 90, 150)
#: Colour of the silhouette's outline (RGBA).
OUTLINE_COLOUR = (255, 200, 0, 255)


def array_to_qimage(image: np.ndarray) -> QImage:
    """A copy of an (H, W, 3) RGB or (H, W, 4) RGBA uint8 array as a ``QImage``."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) or (H, W, 4) image, got {image.shape}")
    height, width, channels = image.shape
    fmt = QImage.Format.Format_RGB888 if channels == 3 else QImage.Format.Format_RGBA8888
    return QImage(image.data, width, height, width * channels, fmt).copy()


def qimage_to_array(image: QImage) -> np.ndarray:
    """An (H, W, 3) RGB uint8 copy of any ``QImage`` (alpha dropped)."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    height, width, stride = rgb.height(), rgb.width(), rgb.bytesPerLine()
    buffer = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * height)
    return buffer.reshape(height, stride)[:, : width * 3].reshape(height, width, 3).copy()


def mask_overlay(mask: np.ndarray) -> QImage:
    """An RGBA overlay for a photo: background tinted, part clear, outline drawn."""
    mask = np.asarray(mask, dtype=bool)
    overlay = np.zeros((*mask.shape, 4), dtype=np.uint8)
    overlay[~mask] = BACKGROUND_TINT
    overlay[_outline(mask)] = OUTLINE_COLOUR
    return array_to_qimage(overlay)


def _outline(mask: np.ndarray) -> np.ndarray:
    """Part pixels with a 4-neighbour outside the part, thickened to about 1/300 of the photo."""
    inner = mask.copy()
    width = max(1, round(max(mask.shape) / 300))
    for _ in range(width):
        shrunk = inner.copy()
        shrunk[1:] &= inner[:-1]
        shrunk[:-1] &= inner[1:]
        shrunk[:, 1:] &= inner[:, :-1]
        shrunk[:, :-1] &= inner[:, 1:]
        inner = shrunk
    return mask & ~inner


def png_bytes(image: QImage) -> bytes:
    """The image encoded as PNG."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("the image could not be encoded as PNG")
    buffer.close()
    return bytes(data.data())


def save_png(image: QImage | np.ndarray, path: str | Path) -> Path:
    """Write a PNG atomically (an existing file is replaced only once the new one is complete)."""
    if isinstance(image, np.ndarray):
        image = array_to_qimage(image)
    return atomic_write_bytes(path, png_bytes(image), overwrite=True)
