"""numpy <-> Qt image conversions, the silhouette overlay and PNG writing."""

import dataclasses
import io

import numpy as np
from PIL import Image

from svr_desktop.inference.preprocess import CONFIDENT_AGREEMENT

from svr_desktop.gui.images import (
    BACKGROUND_TINT,
    OUTLINE_COLOUR,
    array_to_qimage,
    mask_overlay,
    png_bytes,
    qimage_to_array,
    save_png,
)


def test_arrays_survive_a_round_trip_through_qimage():
    rgb = np.random.default_rng(1).integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd width: padded rows
    assert np.array_equal(qimage_to_array(array_to_qimage(rgb)), rgb)
    rgba = np.dstack([rgb, np.full((37, 53), 255, np.uint8)])
    assert np.array_equal(qimage_to_array(array_to_qimage(rgba)), rgb)


def test_overlay_tints_the_background_and_outlines_the_part():
    mask = np.zeros((60, 80), dtype=bool)
    mask[20:40, 30:50] = True
    overlay = np.asarray(Image.open(io.BytesIO(png_bytes(mask_overlay(mask)))).convert("RGBA"))
    assert tuple(overlay[5, 5]) == BACKGROUND_TINT
    assert tuple(overlay[20, 40]) == OUTLINE_COLOUR and tuple(overlay[30, 30]) == OUTLINE_COLOUR
    assert overlay[30, 40, 3] == 0  # inside the part: clear


def test_save_png_writes_a_decodable_file(tmp_path):
    rgb = np.zeros((10, 20, 3), dtype=np.uint8)
    rgb[:, :10] = (255, 0, 0)
    path = save_png(rgb, tmp_path / "out.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (20, 10)
        assert np.array_equal(np.asarray(image.convert("RGB")), rgb)



def test_image_panel_shows_how_sure_the_mask_is(qtbot):
    """The segmenter's confidence, and its warning when it is low, reach the panel's notes (issue 14)."""
    from svr_desktop.gui.image_panel import ImagePanel
    from svr_desktop.inference.preprocess import Photo, frame_photo, silhouette_mask

    panel = ImagePanel()
    qtbot.addWidget(panel)
    rgb = np.full((80, 100, 3), 150, np.uint8)
    rgb[20:60, 30:70] = (200, 40, 30)
    for segmenter_map in (rgb[..., 1] < 100, np.pad(np.ones((60, 55)), ((10, 10), (5, 40)))):  # right; half wrong
        found = silhouette_mask(Photo.from_array(rgb), segmenter=lambda image, m=segmenter_map: m.astype(np.float32))
        prepared = dataclasses.replace(
            frame_photo(rgb, found.mask, 64), background_method=found.method, mask_confidence=found.confidence, notes=found.notes
        )
        panel.show_prepared(prepared)
        text = panel.notes_label.text()
        assert f"silhouette: network, confidence {found.confidence:.0%}" in text
        assert ("drag a rectangle" in text) == (found.confidence < CONFIDENT_AGREEMENT)
