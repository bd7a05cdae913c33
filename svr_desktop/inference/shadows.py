"""Take a coloured part's cast shadow, and the ground beside it, out of its automatic mask (issue 14).

A shadow on the ground is the ground's own colour, darker: every channel is
scaled alike, so its chromaticity ``rgb / (r + g + b)`` stays the ground's.
A painted part's colour does not.  The segmenter's map sometimes takes a
long cast shadow for part of the part (a yellow shaft on a grey table), and
GrabCut keeps what the map is sure of, so the shadow is removed here, on the
refined mask.

Only for coloured parts: a grey metal or black plastic part is itself "the
ground's chromaticity, darker" on a neutral ground, and its dark faces
would go with the shadow.  Measured on 180 path-traced benchmark photos
(docs/photo_path.md, session 15): three shadows removed (mask IoU 0.41 to
0.86, 0.87 to 0.94, 0.80 to 1.00), no mask made worse.
"""

from __future__ import annotations

import cv2
import numpy as np

from .morphology import disc

#: A masked pixel is shadow-like when no chromaticity component differs from
#: the ground's by more than this, and its brightness is SHADOW_LEVELS of the
#: ground's: from deep shadow up to the lit ground itself, with 10 % for
#: light falling unevenly on it.  The lit ground counts because the map can
#: take a wedge of it along with the shadow (between a shaft and its shadow:
#: B `59`, mask IoU 0.83 to 0.99; docs/photo_path.md, session 23); up to
#: 0.95, as in session 15, only the shadow went.
SHADOW_CHROMA_TOLERANCE = 0.06
SHADOW_LEVELS = (0.15, 1.1)
#: The rest of the mask must differ from the ground by at least this much
#: chromaticity (median) for the part to count as coloured.  On sets A and
#: B of the benchmark photos metal and black plastic measured at most 0.14,
#: 15 parts in grey or muted paints at most 0.13, the other 11 painted parts
#: at least 0.15.
PART_CHROMA_MIN = 0.15
#: The ground's colour is the median over a ring 6-15 % of the part's size
#: beyond the mask: close enough to share its lighting, far enough to miss
#: the mask's soft edge.
GROUND_RING = (0.06, 0.15)


def drop_cast_shadow(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``mask`` without the shadow-like regions (shadow or lit ground) that reach its outline, when the part is coloured.

    ``rgb``: (H, W, 3) uint8; ``mask``: (H, W) bool.  Returns a new mask
    (the same pixels when there is nothing to drop).
    """
    if not mask.any():
        return mask
    ys, xs = mask.nonzero()
    size = max(np.ptp(ys), np.ptp(xs)) + 1
    as_uint8 = mask.astype(np.uint8)
    beyond = cv2.distanceTransform(1 - as_uint8, cv2.DIST_L2, 3)  # each pixel's distance from the mask
    ring = (beyond > GROUND_RING[0] * size) & (beyond <= GROUND_RING[1] * size)
    if ring.sum() < 50:  # the part fills the photo: no ground to compare with
        return mask
    ground = np.median(rgb[ring].astype(np.float32), axis=0)
    pixels = rgb[mask].astype(np.float32)  # only the mask's pixels: a shadow outside it is not our concern
    distance = np.abs(_chromaticity(pixels) - _chromaticity(ground)).max(axis=-1)
    level = pixels.mean(axis=-1) / max(float(ground.mean()), 1.0)
    like = (distance < SHADOW_CHROMA_TOLERANCE) & (level > SHADOW_LEVELS[0]) & (level < SHADOW_LEVELS[1])
    rest = distance[~like]
    if rest.size < 0.3 * like.size or np.median(rest) < PART_CHROMA_MIN:
        return mask
    shadow_like = np.zeros_like(mask)
    shadow_like[mask] = like
    # Opening first, so that a shadow-like speck on the part's edge does not
    # connect a dark face to the shadow; only regions that reach the outline
    # can be a cast shadow, and specks below 0.2 % of the mask are left alone.
    opened = cv2.morphologyEx(shadow_like.astype(np.uint8), cv2.MORPH_OPEN, disc(0.01 * size))
    count, labels = cv2.connectedComponents(opened)
    outline = mask & ~(cv2.erode(as_uint8, disc(0.01 * size)) > 0)
    touching = np.unique(labels[outline & (labels > 0)])
    areas = np.bincount(labels.ravel(), minlength=count)
    dropped = np.isin(labels, [label for label in touching if areas[label] > 0.002 * mask.sum()])
    return mask & ~dropped


def _chromaticity(rgb: np.ndarray) -> np.ndarray:
    """``rgb / (r + g + b)`` of (..., 3) colours (one added to each channel, so that black is grey)."""
    values = rgb.astype(np.float32) + 1.0
    return values / values.sum(axis=-1, keepdims=True)
