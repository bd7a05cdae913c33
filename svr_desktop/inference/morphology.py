"""Structuring elements for the mask operations of the photo path (``preprocess``, ``shadows``)."""

from __future__ import annotations

import cv2
import numpy as np


def disc(radius: float) -> np.ndarray:
    """An elliptic structuring element of at least radius 1."""
    r = max(1, round(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
