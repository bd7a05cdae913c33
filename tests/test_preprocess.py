"""Photo preprocessing: safe loading, background removal and render-like framing.

The synthetic "photo" is a rendered part pasted off-centre onto a busy
480 x 360 bench, so the true silhouette is known exactly.
"""

from __future__ import annotations

import io
import struct
import time
import warnings
import zlib

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from svr_desktop.data.parts import generate_part
from svr_desktop.data.render import Renderer
from svr_desktop.geometry.frames import normalize_mesh, random_rotation, to_view_frame
from svr_desktop.inference.preprocess import (
    DEFAULT_FILL_FRACTION,
    Photo,
    PhotoError,
    auto_ab,
    load_photo,
    prepare_photo,
    silhouette_mask,
)

SIZE = 224
CANVAS = (360, 480)  # rows, columns
PART_AT = (40, 250)  # top-left (row, column) of the pasted render
RENDER = 200


def _png(image: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **params)
    return buffer.getvalue()


def _jpeg(image: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **params)
    return buffer.getvalue()


def _noise_image(width: int = 64, height: int = 48) -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))


def _png_claiming(width: int, height: int) -> bytes:
    """A valid tiny PNG whose IHDR (and its CRC) is patched to claim ``width x height``."""
    data = bytearray(_png(Image.new("L", (8, 8))))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _bench(rng: np.random.Generator, clear: np.ndarray) -> np.ndarray:
    """A busy work bench: wood-like grain and noise, tools, washers and cables.

    Nothing is drawn where ``clear`` is true: clutter touching the part is
    ambiguous for any background remover (is it part of the product?), and
    that is what the GUI's rectangle and mask corrections are for.
    """
    height, width = CANVAS
    light = rng.uniform(120, 190) * np.array([1.0, 0.85, 0.65])
    low = cv2.resize(rng.random((6, 8)), (width, height), interpolation=cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(cv2.resize(rng.random((height // 2, 6)), (width, height)), (0, 0), 1.5)
    t = np.clip(0.6 * low + 0.4 * grain, 0.0, 1.0)[..., None]
    image = light * (1.0 - 0.25 * t) + rng.normal(0.0, 4.0, (height, width, 1))
    drawn = 0
    while drawn < 9:
        layer = np.zeros(CANVAS, np.uint8)
        colour = (rng.uniform(20, 200) + rng.uniform(-25, 25, 3)).tolist()
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        kind = int(rng.integers(3))
        if kind == 0:
            box = cv2.boxPoints(((cx, cy), (rng.uniform(20, 160), rng.uniform(8, 50)), rng.uniform(0, 180)))
            cv2.fillPoly(layer, [box.astype(np.int32)], 255, lineType=cv2.LINE_AA)
        elif kind == 1:
            radius = int(rng.uniform(6, 22))
            cv2.circle(layer, (int(cx), int(cy)), radius, 255, -1, cv2.LINE_AA)
            cv2.circle(layer, (int(cx), int(cy)), radius // 2, 0, -1, cv2.LINE_AA)
        else:
            points = np.cumsum(rng.normal(0, 30, (6, 2)), axis=0) + (cx, cy)
            cv2.polylines(layer, [points.astype(np.int32)], False, 255, int(rng.integers(2, 5)), cv2.LINE_AA)
        if (layer[clear] > 0).any():
            continue
        cover = layer[..., None] / 255.0
        image = image * (1.0 - cover) + np.asarray(colour) * cover
        drawn += 1
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def scene():
    """(photo, true mask): a rendered flange pasted off-centre onto the bench."""
    rng = np.random.default_rng(0)  # a steel flange
    mesh, _ = normalize_mesh(generate_part("flange", rng).mesh)
    view_mesh, _ = to_view_frame(mesh, random_rotation(rng))
    with Renderer(image_size=RENDER, scale_jitter=0.0) as renderer:
        view = renderer.render(view_mesh, rng)
    truth = np.zeros(CANVAS, dtype=bool)
    rows, cols = slice(PART_AT[0], PART_AT[0] + RENDER), slice(PART_AT[1], PART_AT[1] + RENDER)
    truth[rows, cols] = view.mask
    photo = _bench(rng, clear=cv2.dilate(truth.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0)
    photo[rows, cols][view.mask] = view.image[view.mask]
    return photo, truth


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), exclusive ends."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def _bad_file(tmp_path, case: str):
    if case == "missing":
        return tmp_path / "nope.png", "no such file"
    if case == "directory":
        folder = tmp_path / "folder.png"
        folder.mkdir()
        return folder, "directory"
    names = {"eps": "drawing.eps", "bomb": "bomb.png", "truncated_jpeg": "cut.jpg"}
    path = tmp_path / names.get(case, f"{case}.png")
    content = {
        "empty": b"",
        "text": b"this is a text file, not a picture\n",
        "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
        "truncated_png": _png(_noise_image())[: len(_png(_noise_image())) // 2],
        "truncated_jpeg": _jpeg(_noise_image())[: len(_jpeg(_noise_image())) // 2],
        "bomb": _png_claiming(30000, 30000),
    }[case]
    path.write_bytes(content)
    expected = {
        "empty": "empty",
        "text": "not an image",
        "eps": "not a supported format",
        "truncated_png": "truncated",
        "truncated_jpeg": "truncated",
        "bomb": "too large",
    }[case]
    return path, expected


@pytest.mark.parametrize(
    "case", ["missing", "directory", "empty", "text", "eps", "truncated_png", "truncated_jpeg", "bomb"]
)
def test_bad_files_give_one_clear_photo_error(tmp_path, case):
    path, expected = _bad_file(tmp_path, case)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may slip through as a mere warning
        with pytest.raises(PhotoError) as info:
            prepare_photo(path)
    message = str(info.value)
    assert str(path) in message and expected in message, message


def test_huge_header_is_refused_before_decoding():
    start = time.perf_counter()
    with pytest.raises(PhotoError, match="too large"):
        load_photo(_png_claiming(30000, 30000))
    assert time.perf_counter() - start < 0.5  # decoding 900M pixels would take far longer
    # Our own limit applies below Pillow's, from the header alone.
    with pytest.raises(PhotoError, match=r"6000 x 5000 = 30,000,000 pixels; the limit is 20,000,000"):
        load_photo(_png_claiming(6000, 5000), max_pixels=20_000_000)


def test_pillow_bomb_warning_becomes_an_error(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 40 x 40 lies between the limit and twice it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(PhotoError, match="too large"):
            load_photo(_png(Image.new("RGB", (40, 40))))


def test_bytes_input_and_empty_bytes():
    photo = load_photo(_png(_noise_image()))
    assert photo.rgb.shape == (48, 64, 3) and photo.name == "photo data"
    with pytest.raises(PhotoError, match="empty"):
        load_photo(b"")


def _mode_image(mode: str) -> tuple[bytes, bool]:
    """File bytes of a 40 x 30 image in ``mode`` and whether it carries alpha."""
    base = Image.new("RGB", (40, 30), (200, 100, 50))
    base.paste((10, 20, 30), (0, 0, 20, 30))
    if mode == "I;16":
        return _png(Image.fromarray(np.full((30, 40), 40000, dtype=np.uint16))), False
    if mode == "P":
        palette = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
        return _png(palette, transparency=palette.getpixel((0, 0))), True
    if mode == "CMYK":
        return _jpeg(base.convert("CMYK")), False
    return _png(base.convert(mode)), mode in ("RGBA", "LA")


@pytest.mark.parametrize("mode", ["L", "P", "I;16", "CMYK", "RGBA", "LA"])
def test_every_mode_loads_as_rgb_plus_optional_alpha(mode):
    data, has_alpha = _mode_image(mode)
    assert Image.open(io.BytesIO(data)).mode == mode
    photo = load_photo(data)
    assert photo.rgb.shape == (30, 40, 3) and photo.rgb.dtype == np.uint8
    assert (photo.alpha is not None) == has_alpha
    if mode == "I;16":
        assert np.all(photo.rgb == round(40000 / 257))  # full 16-bit range mapped onto 8 bits
    elif mode == "P":
        assert np.all(photo.alpha[:, :20] == 0) and np.all(photo.alpha[:, 20:] == 255)
    else:
        assert photo.rgb[:, 20:].mean() > photo.rgb[:, :20].mean() + 50  # the content survived


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (60, 40), (10, 20, 30))
    image.paste((255, 0, 0), (0, 0, 10, 10))  # red top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    photo = load_photo(_jpeg(image, exif=exif, quality=95))
    assert photo.rgb.shape == (60, 40, 3)
    assert photo.rgb[2, -3, 0] > 200 and photo.rgb[2, 2, 0] < 50  # the corner is now top-right
    assert photo.original_size == (40, 60)


def test_large_photos_are_downscaled_on_load():
    photo = load_photo(_png(Image.new("RGB", (3000, 1000), (90, 90, 90))), max_side=1024)
    assert photo.rgb.shape == (341, 1024, 3)
    assert photo.original_size == (3000, 1000) and photo.scale == pytest.approx(1024 / 3000)
    assert any("downscaled" in note for note in photo.notes)


# ---------------------------------------------------------------------------
# Silhouette
# ---------------------------------------------------------------------------


def _rgba_photo() -> tuple[bytes, np.ndarray]:
    """A transparent PNG of a ring (with its hole) and the expected mask."""
    alpha = np.zeros((300, 400), dtype=np.uint8)
    cv2.ellipse(alpha, (250, 140), (90, 60), 20, 0, 360, 255, -1)
    cv2.circle(alpha, (250, 140), 25, 0, -1)
    alpha[alpha == 0] = np.random.default_rng(1).integers(0, 128, int((alpha == 0).sum()), dtype=np.uint8)
    rgb = np.random.default_rng(2).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    return _png(Image.fromarray(np.dstack([rgb, alpha]), "RGBA")), alpha >= 128


@pytest.mark.parametrize("method", ["auto", "alpha"])
def test_alpha_channel_gives_the_exact_mask(method):
    data, expected = _rgba_photo()
    prepared = prepare_photo(data, image_size=SIZE, background=method)
    assert prepared.background_method == "alpha"
    assert np.array_equal(prepared.photo_mask, expected)


def test_arrays_are_photos_too():
    rgba = np.zeros((50, 80, 4), np.uint8)
    rgba[10:30, 20:60] = (200, 50, 50, 255)
    prepared = prepare_photo(Photo.from_array(rgba, "camera frame"), image_size=64)
    assert prepared.background_method == "alpha" and prepared.photo_mask.sum() == 20 * 40
    with pytest.raises(PhotoError, match="camera frame: expected"):
        Photo.from_array(np.zeros((50, 80)), "camera frame")


def test_alpha_method_needs_an_alpha_channel():
    with pytest.raises(PhotoError, match="no alpha channel"):
        prepare_photo(_png(_noise_image()), background="alpha")


def test_opaque_alpha_falls_back_to_grabcut(scene):
    photo, _ = scene
    data = _png(Image.fromarray(np.dstack([photo, np.full(CANVAS, 255, np.uint8)]), "RGBA"))
    prepared = prepare_photo(data, image_size=SIZE)
    assert prepared.background_method == "grabcut"
    assert any("GrabCut instead" in note for note in prepared.notes)


@pytest.mark.parametrize("background", ["auto", "alpha"])
def test_a_fully_transparent_photo_is_refused_before_the_segmenter(scene, background):
    photo, _ = scene
    hidden = Photo.from_array(np.dstack([photo, np.zeros(CANVAS, np.uint8)]), "hidden.png")

    def segmenter(rgb):
        raise AssertionError("the segmenter ran on a fully transparent photo")

    with pytest.raises(PhotoError, match="hidden.png: the photo is fully transparent"):
        silhouette_mask(hidden, background, segmenter=segmenter)


def test_grabcut_ignores_a_fully_transparent_alpha(scene):
    photo, truth = scene
    hidden = Photo.from_array(np.dstack([photo, np.zeros(CANVAS, np.uint8)]), "hidden.png")
    assert _iou(silhouette_mask(hidden, "grabcut").mask, truth) >= 0.85


def test_grabcut_recovers_the_part_on_a_busy_bench(scene):
    photo, truth = scene
    prepared = prepare_photo(Photo.from_array(photo, "bench"), image_size=SIZE)
    assert prepared.background_method == "grabcut"
    assert _iou(prepared.photo_mask, truth) >= 0.85


def test_grabcut_rectangle_is_honoured(scene):
    photo, truth = scene
    x0, y0, x1, y1 = _box(truth)
    rect = (x0 - 10, y0 - 10, x1 - x0 + 20, y1 - y0 + 20)
    prepared = prepare_photo(Photo.from_array(photo, "bench"), background="grabcut", rect=rect)
    outside = np.ones(CANVAS, dtype=bool)
    outside[rect[1]:rect[1] + rect[3], rect[0]:rect[0] + rect[2]] = False
    assert not prepared.photo_mask[outside].any()
    assert _iou(prepared.photo_mask, truth) >= 0.85
    # A rectangle elsewhere confines the result to it, whatever GrabCut finds there.
    elsewhere = prepare_photo(Photo.from_array(photo, "bench"), rect=(10, 200, 150, 120))
    x0, y0, x1, y1 = _box(elsewhere.photo_mask)
    assert x0 >= 10 and y0 >= 200 and x1 <= 160 and y1 <= 320


def test_featureless_photo_falls_back_to_the_interior_with_a_note():
    plain = Photo.from_array(np.full((200, 300, 3), 128, np.uint8), "plain")
    prepared = prepare_photo(plain, image_size=64)
    assert prepared.background_method == "rectangle"
    assert any("found nothing" in note or "no boundary" in note for note in prepared.notes)
    assert prepared.photo_mask[100, 150] and not prepared.photo_mask[0, 0]


def test_caller_mask_and_off_are_used_as_given(scene):
    photo, truth = scene
    loaded = Photo.from_array(photo, "bench")
    prepared = prepare_photo(loaded, background=truth)
    assert prepared.background_method == "mask" and np.array_equal(prepared.photo_mask, truth)
    off = prepare_photo(loaded, background="off", rect=(100, 50, 200, 100))
    assert off.background_method == "off" and off.photo_mask.sum() == 200 * 100
    with pytest.raises(PhotoError, match="480 x 360"):
        prepare_photo(loaded, background=truth[:, :100])
    with pytest.raises(PhotoError, match="empty"):
        prepare_photo(loaded, background=np.zeros(CANVAS, bool))
    with pytest.raises(PhotoError, match="does not cover"):
        prepare_photo(loaded, rect=(500, 10, 20, 20))


# ---------------------------------------------------------------------------
# Framing and camera
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [160, 224])
def test_framing_matches_a_training_render(scene, size):
    photo, truth = scene
    prepared = prepare_photo(Photo.from_array(photo, "bench"), image_size=size, background=truth)
    assert prepared.network_input.shape == (size, size, 3) and prepared.network_input.dtype == np.uint8
    x0, y0, x1, y1 = _box(prepared.input_mask)
    assert max(x1 - x0, y1 - y0) == pytest.approx(DEFAULT_FILL_FRACTION * size, abs=2)
    assert (x0 + x1) / 2 == pytest.approx(size / 2, abs=1) and (y0 + y1) / 2 == pytest.approx(size / 2, abs=1)
    # Clutter never reaches the network: outside the part only the plain fill remains.
    outside = cv2.dilate(prepared.input_mask.astype(np.uint8), np.ones((5, 5), np.uint8)) == 0
    assert np.all(prepared.network_input[outside] == prepared.fill_colour)
    # The square crop maps the photo's silhouette box onto the input's.
    left, top, side, _ = prepared.crop_box
    assert prepared.scale == pytest.approx(size / side)
    assert (_box(truth)[0] - left) * prepared.scale == pytest.approx(x0, abs=1.5)


def test_off_frames_the_whole_photo_with_padding():
    rgb = np.full((100, 300, 3), 30, np.uint8)
    strip = Photo.from_array(rgb, "strip")
    prepared = prepare_photo(strip, image_size=160, background="off", fill_fraction=0.8)
    x0, y0, x1, y1 = _box(prepared.input_mask)
    assert (x1 - x0, y1 - y0) == (128, pytest.approx(43, abs=1))
    assert tuple(prepared.network_input[0, 0]) == prepared.fill_colour != (30, 30, 30)


def test_auto_ab_and_tensor(scene):
    photo, truth = scene
    loaded = Photo.from_array(photo, "bench")
    prepared = prepare_photo(loaded, image_size=SIZE, background=truth)
    assert auto_ab(prepared) == pytest.approx((1 / 0.55, 1 / 0.55))
    assert auto_ab(prepare_photo(loaded, background=truth, fill_fraction=0.5)) == pytest.approx((1.0, 1.0))
    tensor = prepared.to_tensor()
    assert tensor.shape == (1, 3, SIZE, SIZE) and tensor.dtype == torch.float32
    assert 0.0 <= float(tensor.min()) and float(tensor.max()) <= 1.0
    pixel = torch.tensor(prepared.network_input[5, 7], dtype=torch.float32)
    assert torch.allclose(tensor[0, :, 5, 7] * 255, pixel)
