"""A coloured part's cast shadow taken out of the automatic mask (issue 14)."""

import cv2
import numpy as np

from svr_desktop.inference.preprocess import Photo, silhouette_mask
from svr_desktop.inference.shadows import drop_cast_shadow

GROUND = (170, 172, 168)


def _scene(part_colour, face_colour=None, gap=0):
    """A bar on a noisy grey table with its long shadow above it, ``gap`` px of lit table between them;
    the bar's lower third may have another colour.

    Returns the photo, the bar's mask and the shadow's mask.
    """
    rng = np.random.default_rng(1)
    rgb = np.clip(np.asarray(GROUND, float) + rng.normal(0, 3, (240, 320, 3)), 0, 255)
    ys, xs = np.mgrid[0:240, 0:320]
    bar = (xs >= 40) & (xs < 280) & (ys >= 130) & (ys < 170)
    shadow = (xs >= 60) & (xs < 300) & (ys >= 80 - gap) & (ys < 130 - gap)
    rgb[shadow] *= 0.55  # the table's colour, darker
    rgb[bar] = part_colour
    if face_colour is not None:
        rgb[bar & (ys >= 157)] = face_colour
    return np.clip(rgb, 0, 255).astype(np.uint8), bar, shadow


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_a_coloured_parts_shadow_is_dropped():
    rgb, bar, shadow = _scene((230, 180, 20))
    kept = drop_cast_shadow(rgb, bar | shadow)
    assert _iou(kept, bar) > 0.97


def test_lit_ground_between_a_coloured_part_and_its_shadow_goes_with_the_shadow():
    rgb, bar, shadow = _scene((230, 180, 20), gap=12)
    ys, xs = np.mgrid[0:240, 0:320]
    wedge = (xs >= 60) & (xs < 300) & (ys >= 118) & (ys < 130)  # the lit table the map took with the shadow
    kept = drop_cast_shadow(rgb, bar | wedge | shadow)
    assert _iou(kept, bar) > 0.97 and kept[wedge].mean() < 0.02


def test_a_coloured_parts_face_lighter_than_the_ground_stays():
    """A bright grey insert (1.3 times the table's brightness) is not the ground, though it is neutral."""
    rgb, bar, shadow = _scene((230, 180, 20), face_colour=(222, 224, 219))
    assert drop_cast_shadow(rgb, bar | shadow)[bar].all()


def test_a_grey_part_keeps_its_mask():
    """A grey part is the table's chromaticity too: nothing can be told apart, nothing is dropped."""
    rgb, bar, shadow = _scene((90, 91, 89))
    assert np.array_equal(drop_cast_shadow(rgb, bar | shadow), bar | shadow)


def test_a_dark_face_of_the_parts_own_colour_stays():
    """A face in shade keeps the paint's chromaticity: only the shadow goes."""
    rgb, bar, shadow = _scene((230, 180, 20), face_colour=(115, 90, 10))
    kept = drop_cast_shadow(rgb, bar | shadow)
    assert _iou(kept, bar) > 0.97 and kept[bar].all()


def test_a_mask_without_a_shadow_is_unchanged():
    rgb, bar, _ = _scene((230, 180, 20))
    assert np.array_equal(drop_cast_shadow(rgb, bar), bar)


def test_the_automatic_mask_drops_a_shadow_that_the_segmenters_map_took_for_part():
    rgb, bar, shadow = _scene((230, 180, 20))
    believed = cv2.GaussianBlur((bar | shadow).astype(np.float32), (0, 0), 2.0)
    found = silhouette_mask(Photo.from_array(rgb), segmenter=lambda image: believed)
    assert found.method == "network" and _iou(found.mask, bar) > 0.95
