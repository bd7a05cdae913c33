"""How bright a photo is, and lifting it toward the training renders' exposure (issue 14).

The parts in the training renders are lighter than parts in photographs
(median luminance of the part 137 in the photo-style training shards
against 96 on the path-traced benchmark, 10th percentile 83 against 38),
while the grounds match.  The network's segmenter loses dark parts first,
so :mod:`.segmentation` lifts what it shows the network, and a dim photo
(a dark part on a dark ground) is also where the automatic mask must trust
the network's map more than colour (:mod:`.preprocess`): there a soft cast
shadow has the part's own colour.
"""

from __future__ import annotations

import numpy as np

#: Gamma applied to the photo before the network looks at it (< 1 brightens
#: the shadows and dark parts most; 1 leaves the photo as it is).
EXPOSURE_GAMMA = 0.7
#: A photo is dim when its brightest tones (this percentile of luminance)
#: stay below DIM_LEVEL.  Of 180 benchmark photos, 43 of the 45 on dark
#: grounds were dim (62-119), and 3 of the other 135 (docs/photo_path.md,
#: session 23).
EXPOSURE_PERCENTILE = 99
DIM_LEVEL = 128
#: A dim view is scaled up until its brightest tones reach this level, as a
#: camera's auto exposure would: a dark part on a dark ground photographed
#: dim has little contrast left for the network, and the training renders
#: are exposed for their lightest surfaces.  A plain gain, not a stretch:
#: black stays black, so shadows and dark faces keep their order against
#: the ground.  Views that are not dim are left alone: gaining them too
#: moved masks on busy grounds by chance.
EXPOSURE_WHITE = 230


def brightest_tone(rgb: np.ndarray) -> float:
    """The :data:`EXPOSURE_PERCENTILE` of ``rgb``'s luminance (mean of the channels), 0-255."""
    return float(np.percentile(rgb.mean(axis=-1), EXPOSURE_PERCENTILE))


def is_dim(rgb: np.ndarray) -> bool:
    """Whether ``rgb``'s brightest tones stay below :data:`DIM_LEVEL`."""
    return brightest_tone(rgb) < DIM_LEVEL


def exposure_lift(rgb: np.ndarray, gamma: float = EXPOSURE_GAMMA, white: float | None = EXPOSURE_WHITE) -> np.ndarray:
    """``rgb`` (uint8), if dim, brought up to ``white`` (``None``: never), then every channel mapped by ``255 * (v / 255) ** gamma``."""
    if white is not None:
        brightest = brightest_tone(rgb)
        if brightest < DIM_LEVEL:
            rgb = np.round(rgb * (white / max(brightest, 1.0))).clip(0, 255).astype(np.uint8)
    table = np.round(255.0 * (np.arange(256) / 255.0) ** gamma).clip(0, 255).astype(np.uint8)
    return table[rgb]
