"""Turning an engineer's photo into an input that looks like a training render.

The network was trained on orthographic renders (:mod:`svr_desktop.data.render`)
of parts normalized so that their 3D bounding box's longest edge is 1, seen
through an image of half-width ``h ~= 0.55`` world units, centred on the
bounding box, on plain / gradient / noise backgrounds.  A photo has any size,
any background and the part anywhere in the frame, so :func:`prepare_photo`:

1. **loads** it safely (:func:`load_photo`): every problem becomes one
   :class:`PhotoError` naming the file; images larger than
   :data:`MAX_PIXELS` are refused from their header, before decoding; EXIF
   orientation is applied; every Pillow mode becomes 8-bit RGB plus an
   optional alpha channel; very large photos are downscaled to
   :data:`MAX_SIDE` right away, since nothing downstream needs more;
2. **finds the part's silhouette** (:func:`silhouette_mask`): from the alpha
   channel, from a segmenter's probability map (the network's own
   layered-depth head, :mod:`.segmentation`) sharpened by GrabCut, by
   GrabCut seeded from the image border or from a rectangle the user drew,
   from a caller-supplied mask, or "off" (the whole photo is the part);
3. **frames it** like a render: crops to the silhouette's bounding box, pads
   to a square and resizes so that the silhouette's *longer* side spans
   ``fill_fraction`` of the image, centred, and composites it over a plain
   neutral background so that clutter never reaches the network.

Framing assumption: the part's longest dimension lies in the image plane.  A
render shows ``2 h = 1.1`` world units across the image, so such a part's
silhouette spans ``1 / (2 * 0.55) ~= 0.909`` of the image side
(:data:`DEFAULT_FILL_FRACTION`); :func:`auto_ab` proposes the matching
``a = b``.  A part seen end-on (longest dimension along the view direction)
fills less of a render; the user corrects that by tuning ``a`` and ``b``.

Nothing here imports Qt; the GUI and the CLI both call :func:`prepare_photo`.
"""

from __future__ import annotations

import dataclasses
import io
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, NamedTuple, Union

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from ..geometry.frames import PADDED_HALF
from ..model.images import image_to_tensor
from .exposure import is_dim
from .morphology import disc
from .shadows import drop_cast_shadow

#: Photos with more pixels than this (from the file header) are refused before
#: decoding: a small file can claim a huge image (a "decompression bomb").
#: Pillow's own ``Image.MAX_IMAGE_PIXELS`` check stays active as well and is
#: turned into a :class:`PhotoError`, so the effective limit is the smaller one.
MAX_PIXELS = 50_000_000

#: Longest photo side kept after loading; larger photos are downscaled at once.
MAX_SIDE = 2048

#: Formats :func:`load_photo` lets Pillow decode.  An allow list keeps
#: formats that run external programs (EPS runs Ghostscript) or that make no
#: sense for a photo out of reach.
PHOTO_FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF", "PPM", "TGA")

#: Fraction of the image side that a silhouette's longer side spans in a
#: render of a part whose longest edge lies in the image plane: ``1 / (2 h)``.
DEFAULT_FILL_FRACTION = 1.0 / (2.0 * PADDED_HALF)

#: Plain backgrounds of the framed input (RGB 0..255): light grey, or dark
#: grey when the part itself is light (see :func:`frame_photo`).
LIGHT_FILL = (217, 217, 217)
DARK_FILL = (64, 64, 64)

#: GrabCut runs on a copy whose longer side is at most this (speed).
GRABCUT_SIDE = 512

#: Width of the border band that seeds GrabCut's background, as a fraction of
#: the longer side of the GrabCut copy.
BORDER_FRACTION = 0.03

#: Background-removal methods :func:`silhouette_mask` accepts by name.
BACKGROUND_METHODS = ("auto", "alpha", "grabcut", "off")

PhotoSource = Union[str, Path, bytes, bytearray, memoryview]
Rect = tuple[int, int, int, int]


class PhotoError(ValueError):
    """A photo cannot be used; the message names it and says why."""


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Photo:
    """A decoded photo, upright and at most :data:`MAX_SIDE` pixels long.

    ``rgb``: (H, W, 3) uint8; ``alpha``: (H, W) uint8 or ``None`` when the
    file has no alpha channel or transparency; ``name``: how messages refer
    to it; ``original_size``: (width, height) after EXIF orientation, before
    downscaling; ``scale``: photo pixels per original pixel (<= 1);
    ``notes``: what loading changed, for the user.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None
    name: str
    original_size: tuple[int, int]
    scale: float
    notes: tuple[str, ...] = ()

    @classmethod
    def from_array(cls, image: np.ndarray, name: str = "image") -> "Photo":
        """A photo from an (H, W, 3) RGB or (H, W, 4) RGBA uint8 array (e.g. a camera frame)."""
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4) or 0 in image.shape:
            raise PhotoError(
                f"{name}: expected an (H, W, 3) or (H, W, 4) uint8 image, got {image.shape} {image.dtype}"
            )
        alpha = np.ascontiguousarray(image[..., 3]) if image.shape[2] == 4 else None
        rgb = np.ascontiguousarray(image[..., :3])
        return cls(rgb, alpha, name, (rgb.shape[1], rgb.shape[0]), 1.0)


def load_photo(
    source: PhotoSource, max_pixels: int = MAX_PIXELS, max_side: int = MAX_SIDE
) -> Photo:
    """Decode a photo file (path) or its contents (bytes) into a :class:`Photo`.

    Raises :class:`PhotoError` for missing files, directories, empty files,
    files that are not images of a :data:`PHOTO_FORMATS` format, truncated or
    corrupt data and images larger than ``max_pixels`` (checked from the
    header, before anything is decoded).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        name = "photo data"
        if not len(source):
            raise PhotoError(f"{name}: empty (0 bytes)")
        image, header_size = _open_and_decode(io.BytesIO(source), name, max_pixels, max_side)
    else:
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise PhotoError(f"{name}: no such file")
        if path.is_dir():
            raise PhotoError(f"{name}: is a directory, not a photo")
        if path.stat().st_size == 0:
            raise PhotoError(f"{name}: the file is empty (0 bytes)")
        try:
            with path.open("rb") as stream:
                image, header_size = _open_and_decode(stream, name, max_pixels, max_side)
        except OSError as exc:
            raise PhotoError(f"{name}: cannot read the file: {exc.strerror or exc}") from exc
    notes: list[str] = []
    decoded_size = image.size
    try:
        image = ImageOps.exif_transpose(image)
    except Exception as exc:  # broken EXIF must not make the photo unusable
        notes.append(f"EXIF orientation ignored (unreadable EXIF data: {exc})")
    rgb, alpha = _to_rgb_alpha(image)
    turned = image.size != decoded_size  # by 90 degrees
    original_size = header_size[::-1] if turned else header_size
    rgb, alpha = _limit_side(rgb, alpha, max_side)
    scale = rgb.shape[1] / original_size[0]
    if scale < 1.0:
        notes.append(
            f"downscaled from {original_size[0]} x {original_size[1]} to "
            f"{rgb.shape[1]} x {rgb.shape[0]} pixels"
        )
    return Photo(rgb, alpha, name, original_size, scale, tuple(notes))


def _open_and_decode(
    stream: BinaryIO, name: str, max_pixels: int, max_side: int
) -> tuple[Image.Image, tuple[int, int]]:
    """Open, check the header's size, then decode (first frame only).

    Returns the image and the (width, height) its header states (a JPEG may
    be decoded at a fraction of that, see ``Image.draft``).  Pillow's
    decompression-bomb warning is raised as an error here, never ignored.
    """
    with warnings.catch_warnings():
        # Pillow only warns between its limit and twice it.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return _checked_decode(stream, name, max_pixels, max_side)


def _checked_decode(
    stream: BinaryIO, name: str, max_pixels: int, max_side: int
) -> tuple[Image.Image, tuple[int, int]]:
    try:
        image = Image.open(stream, formats=PHOTO_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError(f"{name}: the image is too large to load safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise PhotoError(
            f"{name}: not an image, or not a supported format (supported: {', '.join(PHOTO_FORMATS)})"
        ) from exc
    except Exception as exc:  # Pillow's header parsers raise many types on garbage
        raise PhotoError(f"{name}: corrupt image header ({type(exc).__name__}: {exc})") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise PhotoError(f"{name}: the image has no pixels ({width} x {height})")
    if width * height > max_pixels:
        raise PhotoError(
            f"{name}: the image is too large ({width} x {height} = {width * height:,} pixels; "
            f"the limit is {int(max_pixels):,}); refusing to decode it"
        )
    if image.format in ("JPEG", "MPO") and max(width, height) > max_side:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 size when that still covers max_side.
        ratio = max_side / max(width, height)
        image.draft(None, (math.ceil(width * ratio), math.ceil(height * ratio)))
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise PhotoError(f"{name}: the image is too large to load safely ({exc})") from exc
    except Exception as exc:  # OSError, SyntaxError, ValueError, zlib.error, ...
        raise PhotoError(f"{name}: truncated or corrupt image data ({exc})") from exc
    return image, (width, height)


def _to_rgb_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """8-bit RGB and, when the image has one, its 8-bit alpha channel."""
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        return np.repeat(_grey_to_uint8(np.asarray(image), mode)[..., None], 3, axis=2), None
    if "A" in mode or "a" in mode or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"))
        return np.ascontiguousarray(rgba[..., :3]), np.ascontiguousarray(rgba[..., 3])
    return np.asarray(image.convert("RGB")), None


def _grey_to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """16-bit / 32-bit integer and float greys mapped to 0..255.

    16-bit modes use their full range.  Other values are read as [0, 1]
    floats, 8-bit or 16-bit data, whichever range they fit first; anything
    else is stretched from its minimum to its maximum.
    """
    values = values.astype(np.float64)
    lo, hi = float(values.min()), float(values.max())
    if mode.startswith("I;16"):
        scaled = values / 257.0
    elif mode == "F" and lo >= 0 and hi <= 1:
        scaled = values * 255.0
    elif lo >= 0 and hi <= 255:
        scaled = values
    elif lo >= 0 and hi <= 65535:
        scaled = values / 257.0
    else:
        scaled = (values - lo) * (255.0 / max(hi - lo, 1e-12))
    return np.round(scaled).clip(0, 255).astype(np.uint8)


def _limit_side(
    rgb: np.ndarray, alpha: np.ndarray | None, max_side: int
) -> tuple[np.ndarray, np.ndarray | None]:
    height, width = rgb.shape[:2]
    if max(height, width) <= max_side:
        return rgb, alpha
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    if alpha is not None:
        alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    return rgb, alpha


# ---------------------------------------------------------------------------
# Silhouette
# ---------------------------------------------------------------------------


class Silhouette(NamedTuple):
    """The part's (H, W) bool ``mask`` in a photo, the ``method`` that found it,
    ``notes`` for the user and the ``confidence`` in it (0-1; None when the
    method gives none: the user's own mask, alpha, ``off``)."""

    mask: np.ndarray
    method: str
    notes: list[str]
    confidence: float | None = None


#: A part-probability map of a photo: (H, W, 3) uint8 RGB -> (H, W) floats in
#: [0, 1] (e.g. :class:`.segmentation.NetworkSegmenter`).
Segmenter = Callable[[np.ndarray], np.ndarray]

#: Below this agreement between the segmenter's map and its refined mask, the
#: mask is flagged as uncertain (the user is pointed to the rectangle tool).
#: On 60 photo-style renders with a depth-head model, 0.9 flagged 18 of the
#: 23 masks with IoU below 0.85, and 12 of the 37 good ones.
CONFIDENT_AGREEMENT = 0.9
#: On a busy ground or in a dim photo, where the map gives the part less than
#: this probability farther than SURE_GROUND_BEYOND of the part's size from
#: its silhouette, GrabCut may not add pixels to the part: on a cluttered
#: bench colour alone let it take in cells of a cutting mat and neighbouring
#: objects that the map had ruled out, and in a dim photo of a dark part on a
#: dark ground the soft cast shadow, which has the part's own colour
#: (docs/photo_path.md, sessions 15 and 23).  On a plain, lit ground it may:
#: there the map misses edges of shiny metal that colour recovers.
SURE_GROUND_BELOW = 0.05
SURE_GROUND_BEYOND = 0.03
#: A ground is busy when more than this fraction of its pixels beyond the
#: sure-background line are edges (Canny, on grey): wood grain, a mat's grid,
#: clutter.  On 120 benchmark photos every workbench scored 0.003 or more,
#: every plain, textured and dark ground but one (0.006) 0.001 or less.
BUSY_GROUND_EDGES = 0.003
#: On a busy ground only pixels the map gives at least this are sure part;
#: the rest of the map's silhouette is decided by colour.  There the map
#: leaks into the ground beside distractors, mostly at 0.5-0.99 (grey
#: patches of a cutting mat, wood between the part and a neighbour), and
#: pixels that are merely likely part, made sure, stopped GrabCut from
#: removing them; the ground's many colours are sampled well enough to take
#: them back.  On plain and dark grounds the map's likely part stays sure:
#: there a dark or shaded face can have the ground's colour, and colour
#: would cut it (docs/photo_path.md, session 22).
BUSY_SURE_PART = 0.999


def silhouette_mask(
    photo: Photo, background: str | np.ndarray = "auto", rect: Rect | None = None, segmenter: Segmenter | None = None
) -> Silhouette:
    """The part's silhouette in ``photo`` (see :class:`Silhouette`).

    ``background``:

    * ``"auto"``: the alpha channel when the photo has an informative one
      (some pixels transparent, some opaque), otherwise the ``segmenter``'s
      map refined by GrabCut when there is a segmenter and no rectangle,
      otherwise GrabCut;
    * ``"alpha"``: the alpha channel (opaque = alpha >= 128); an error when
      the photo has none;
    * ``"grabcut"``: GrabCut even when there is an alpha channel;
    * ``"off"``: the whole photo is the part (photos already cropped);
    * an (H, W) bool array: the caller's mask, used as is.

    ``rect`` = (x, y, width, height) in photo pixels says the part lies
    inside it: GrabCut then treats everything outside as background, and any
    other method's mask is cut to it.  A rectangle is the user's correction,
    so it always wins over the segmenter.  The returned method is
    ``"alpha"``, ``"network"``, ``"grabcut"``, ``"off"``, ``"mask"`` or
    ``"rectangle"`` (GrabCut found nothing sensible and the rectangle or the
    image interior was used; a note says so).
    """
    height, width = photo.rgb.shape[:2]
    region = _rect_mask(rect, (height, width), photo.name)
    notes: list[str] = []
    if isinstance(background, np.ndarray):
        if background.shape != (height, width):
            raise PhotoError(
                f"{photo.name}: the mask is {background.shape[1]} x {background.shape[0]} pixels "
                f"but the photo is {width} x {height}"
            )
        mask, method = background.astype(bool), "mask"
    elif background not in BACKGROUND_METHODS:
        raise PhotoError(
            f"unknown background method {background!r}; use one of {', '.join(BACKGROUND_METHODS)} or a mask"
        )
    elif background == "off":
        mask, method = np.ones((height, width), dtype=bool), "off"
    elif background in ("auto", "alpha") and _fully_transparent(photo.alpha):
        # A viewer shows nothing here; whatever colours hide behind the alpha are not a photo of a part.
        raise PhotoError(
            f"{photo.name}: the photo is fully transparent (its alpha channel hides every pixel); "
            "nothing to reconstruct (--background grabcut ignores the transparency)"
        )
    elif background == "alpha" or (background == "auto" and _informative_alpha(photo.alpha)):
        if photo.alpha is None:
            raise PhotoError(
                f"{photo.name}: has no alpha channel (transparency) to take the part's outline from"
            )
        mask, method = photo.alpha >= 128, "alpha"
        if mask.all():
            notes.append("the alpha channel is fully opaque: the whole photo is taken as the part")
    else:
        use_segmenter = segmenter is not None and background == "auto" and region is None
        if photo.alpha is not None and background == "auto":
            instead = "the network's mask" if use_segmenter else "GrabCut"
            notes.append(f"the alpha channel is (nearly) all opaque; used {instead} instead")
        if use_segmenter:
            found = _network_silhouette(photo.rgb, segmenter(photo.rgb), notes)
            if found is not None:
                return found
        return _grabcut_silhouette(photo.rgb, region, rect is not None, notes)
    if region is not None:
        mask = mask & region
    if not mask.any():
        raise PhotoError(f"{photo.name}: the part's mask is empty ({method}); nothing to reconstruct")
    return Silhouette(mask, method, notes)


def _rect_mask(rect: Rect | None, shape: tuple[int, int], name: str) -> np.ndarray | None:
    """The rectangle as a bool mask, clipped to the photo; ``None`` without one."""
    if rect is None:
        return None
    x, y, w, h = (int(round(v)) for v in rect)
    height, width = shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 <= x0 or y1 <= y0:
        raise PhotoError(
            f"{name}: the rectangle {tuple(rect)} does not cover any of the {width} x {height} photo"
        )
    region = np.zeros(shape, dtype=bool)
    region[y0:y1, x0:x1] = True
    return region


#: Below this fraction of opaque pixels an alpha channel hides the photo (and
#: cannot outline a part: a thousandth of a 160 px image is 25 pixels).
MIN_OPAQUE_FRACTION = 0.001


def _opaque_fraction(alpha: np.ndarray) -> float:
    return float(np.count_nonzero(alpha >= 128)) / alpha.size


def _fully_transparent(alpha: np.ndarray | None) -> bool:
    """Whether alpha hides (nearly) every pixel of the photo."""
    return alpha is not None and _opaque_fraction(alpha) < MIN_OPAQUE_FRACTION


def _informative_alpha(alpha: np.ndarray | None) -> bool:
    """Whether alpha separates a part from a background (not trivially opaque or empty)."""
    return alpha is not None and MIN_OPAQUE_FRACTION <= _opaque_fraction(alpha) <= 0.99


def _grabcut_copy(rgb: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """The photo shrunk (area-averaged) to at most :data:`GRABCUT_SIDE` pixels, and its (width, height)."""
    height, width = rgb.shape[:2]
    factor = min(1.0, GRABCUT_SIDE / max(height, width))
    small_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(rgb, small_size, interpolation=cv2.INTER_AREA), small_size


def _grabcut_silhouette(rgb: np.ndarray, region: np.ndarray | None, user_rect: bool, notes: list[str]) -> Silhouette:
    """GrabCut on a <= GRABCUT_SIDE copy, cleaned, brought back to photo size.

    Seeds: outside the rectangle is definitely background (without a
    rectangle, or when it leaves nothing outside, a border band of
    :data:`BORDER_FRACTION` of the side).  Inside, pixels whose colour is
    common in that background start as probably background and the rest as
    probably foreground (:func:`_background_like`): GrabCut then starts
    from colour models that already tell bench from part, which makes it
    converge in a few iterations instead of swallowing large stretches of
    unevenly lit background.
    """
    height, width = rgb.shape[:2]
    small, small_size = _grabcut_copy(rgb)
    seeds = np.full(small.shape[:2], cv2.GC_PR_FGD, dtype=np.uint8)
    if region is not None and not region.all():
        inside = cv2.resize(region.astype(np.uint8), small_size, interpolation=cv2.INTER_NEAREST)
        seeds[inside == 0] = cv2.GC_BGD
    else:
        band = max(2, round(BORDER_FRACTION * max(small.shape[:2])))
        seeds[:band], seeds[-band:], seeds[:, :band], seeds[:, -band:] = (cv2.GC_BGD,) * 4
    candidate = seeds == cv2.GC_PR_FGD
    fallback = region if region is not None else _upsample(candidate, (height, width))

    found = np.zeros_like(candidate)
    if candidate.any():
        seeds[candidate & _background_like(small, seeds == cv2.GC_BGD)] = cv2.GC_PR_BGD
    if (seeds == cv2.GC_PR_FGD).any():
        cv2.setRNGSeed(0)  # GrabCut's k-means initialisation: same photo, same mask
        cv2.grabCut(small, seeds, None, np.zeros((1, 65)), np.zeros((1, 65)), 4, cv2.GC_INIT_WITH_MASK)
        found = _clean_mask((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD))
    coverage = found.sum() / max(int(candidate.sum()), 1)
    if coverage < 0.002 or coverage > 0.98:
        where = "the rectangle" if user_rect else "the photo's interior"
        what = "nothing" if coverage < 0.002 else "no boundary"
        notes.append(
            f"background removal found {what} in {where}; using all of it as the part "
            "(draw a rectangle around the part, or supply a mask)"
        )
        return Silhouette(fallback, "rectangle", notes)
    return Silhouette(_upsample(found, (height, width)), "grabcut", notes)


def _busy_ground(small: np.ndarray, ground: np.ndarray) -> bool:
    """Whether the ``ground`` pixels of ``small`` (RGB) hold many edges (:data:`BUSY_GROUND_EDGES`).

    The photo is smoothed first (sigma 1 px) so that sensor noise and JPEG
    blocks do not count as edges.
    """
    if not ground.any():
        return False
    grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (0, 0), 1.0)
    edges = cv2.Canny(grey, 40, 100) > 0
    return float(edges[ground].mean()) > BUSY_GROUND_EDGES


def _network_silhouette(rgb: np.ndarray, probability: np.ndarray, notes: list[str]) -> Silhouette | None:
    """A segmenter's probability map, its edges sharpened by GrabCut; None when it found nothing.

    The map comes from a network that sees the photo at its input size
    (160-224 px), so its edges are soft and a few pixels off.  GrabCut, on a
    copy of at most :data:`GRABCUT_SIDE` pixels, puts them on the photo's
    colour edges: pixels well inside the map's silhouette (eroded by 3 % of
    the part's size) are sure part, pixels far outside it (beyond 9 %) sure
    background, and the band between is decided by colour.  On a busy ground
    (:func:`_busy_ground`) or in a dim photo (:func:`.exposure.is_dim`)
    pixels beyond 3 % where the map is sure they are not part are sure
    background too, and on a busy ground, of the pixels well inside, only
    those the map is sure of (:data:`BUSY_SURE_PART`) are sure part.  A
    coloured part's cast shadow, which the map can take for part, is then
    dropped (:func:`~.shadows.drop_cast_shadow`).  The confidence
    is the agreement (IoU) between the map's silhouette and the refined one:
    where the two disagree, neither is to be trusted, and a note asks the
    user to check the mask.
    """
    height, width = rgb.shape[:2]
    if probability.shape != (height, width):
        raise ValueError(f"the segmenter's map is {probability.shape}, the photo {height, width}")
    small, small_size = _grabcut_copy(rgb)
    small_probability = cv2.resize(probability.astype(np.float32), small_size, interpolation=cv2.INTER_AREA)
    prior = small_probability >= 0.5
    largest = _components(prior)
    if largest is None:
        return None
    stat = largest[1][0]
    size = max(stat[cv2.CC_STAT_WIDTH], stat[cv2.CC_STAT_HEIGHT])
    far = cv2.dilate(prior.astype(np.uint8), disc(0.09 * size)) == 0
    busy = _busy_ground(small, far)
    seeds = np.where(prior, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    sure_part = cv2.erode(prior.astype(np.uint8), disc(0.03 * size)) > 0
    if busy:
        sure_part &= small_probability >= BUSY_SURE_PART
    seeds[sure_part] = cv2.GC_FGD
    seeds[far] = cv2.GC_BGD
    if busy or is_dim(small):
        near = cv2.dilate(prior.astype(np.uint8), disc(SURE_GROUND_BEYOND * size)) > 0
        seeds[(small_probability < SURE_GROUND_BELOW) & ~near] = cv2.GC_BGD
    cv2.setRNGSeed(0)  # same photo, same mask
    cv2.grabCut(small, seeds, None, np.zeros((1, 65)), np.zeros((1, 65)), 3, cv2.GC_INIT_WITH_MASK)
    refined = drop_cast_shadow(small, _clean_mask((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)))
    if not refined.any():
        return None
    agreement = float((refined & prior).sum() / max((refined | prior).sum(), 1))
    if agreement < CONFIDENT_AGREEMENT:
        notes.append(
            f"the automatic mask is uncertain (confidence {agreement:.0%}); check it, and if it is wrong "
            "drag a rectangle around the part (command line: --background grabcut)"
        )
    return Silhouette(_upsample(refined, (height, width)), "network", notes, agreement)


def _background_like(rgb: np.ndarray, background: np.ndarray, bins: int = 16) -> np.ndarray:
    """Pixels whose colour is common among the ``background`` pixels.

    A colour histogram of the background (``bins`` per channel, Gaussian
    smoothed over 3/4 of a bin so that shading a little off the sampled
    colours still counts) is looked up at every pixel; colours at 5% or more
    of the most common background colour's density qualify.  (Tuned on
    synthetic bench photos: results hold for 0.5-1 bin and 1-8%; a much
    wider smoothing starts calling the part's own colours background.)
    """
    quantized = (rgb.astype(np.int32) * bins) // 256
    index = (quantized[..., 0] * bins + quantized[..., 1]) * bins + quantized[..., 2]
    histogram = np.bincount(index[background], minlength=bins**3).reshape(bins, bins, bins)
    density = ndimage.gaussian_filter(histogram.astype(np.float64), 0.75).reshape(-1)
    return density[index] >= 0.05 * density.max()


def _clean_mask(mask: np.ndarray) -> np.ndarray:
    """Thin strays removed, the part's component(s) kept, small holes filled.

    * An opening whose radius is 1.5% of the largest blob's size cuts thin
      things attached to the part (cables, edges of the bench); dilating the
      result again and intersecting with the mask gives the part back its
      sharp corners, which the opening had rounded.
    * The largest connected component is the part.  Other components of at
      least 20% of its area are kept only within 3% of its size from it (a
      part can fall apart where a thin section loses contrast); clutter
      elsewhere on the bench is dropped.
    * Holes up to 0.1% of the silhouette's area are filled (highlights that
      matched the background); larger holes are kept, because through-holes
      show the background in training renders too.
    """
    largest = _components(mask)
    if largest is None:
        return np.zeros_like(mask)
    size = max(largest[1][0][cv2.CC_STAT_WIDTH], largest[1][0][cv2.CC_STAT_HEIGHT])
    kernel = disc(0.015 * size)
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    found = _components(opened > 0)
    if found is None:
        return np.zeros_like(mask)
    labels, stats = found
    near = cv2.dilate((labels == 1).astype(np.uint8), disc(0.03 * size)) > 0
    keep = [1] + [
        label for label in np.unique(labels[near & (labels > 1)])
        if stats[label - 1][cv2.CC_STAT_AREA] >= 0.2 * stats[0][cv2.CC_STAT_AREA]
    ]
    part = (cv2.dilate(np.isin(labels, keep).astype(np.uint8), kernel) > 0) & mask
    count, holes, hole_stats, _ = cv2.connectedComponentsWithStats((~part).astype(np.uint8), connectivity=4)
    small_holes = [
        i for i in range(1, count)
        if hole_stats[i, cv2.CC_STAT_AREA] <= 0.001 * part.sum()
        and not _touches_border(hole_stats[i], part.shape)
    ]
    return part | np.isin(holes, small_holes)


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """8-connected labels of ``mask`` and the components' stats, largest first
    (labels renumbered to match: 1 is the largest); ``None`` when empty."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return None
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA], kind="stable") + 1
    relabel = np.zeros(count, dtype=np.int32)
    relabel[order] = np.arange(1, count)
    return relabel[labels], stats[order]


def _touches_border(stat: np.ndarray, shape: tuple[int, int]) -> bool:
    x, y, w, h = stat[:4]
    return x == 0 or y == 0 or x + w == shape[1] or y + h == shape[0]


def _upsample(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A bool mask resized to ``shape`` with smooth (bilinear, thresholded) edges."""
    if mask.shape == shape:
        return mask
    soft = cv2.resize(mask.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return soft >= 0.5


# ---------------------------------------------------------------------------
# Framing
# ---------------------------------------------------------------------------


@dataclass
class PreparedPhoto:
    """A photo framed like a training render, with everything needed to show how.

    * ``network_input``: (S, S, 3) uint8, the part over a plain background;
    * ``input_mask``: (S, S) bool, the part's pixels in ``network_input``;
    * ``photo``: (H, W, 3) uint8, the photo after EXIF orientation and
      downscaling, the frame that ``photo_mask``, ``crop_box``,
      ``silhouette_box`` and rectangles are in;
    * ``photo_mask``: (H, W) bool, the part's silhouette in ``photo``;
    * ``silhouette_box``: (x, y, width, height) of ``photo_mask``'s bounding box;
    * ``crop_box``: (x, y, side, side), the square of ``photo`` (floats, may
      reach outside it) that became ``network_input``;
    * ``scale``: ``network_input`` pixels per ``photo`` pixel;
    * ``photo_scale``: ``photo`` pixels per pixel of the file (<= 1);
    * ``background_method``: ``"alpha"``, ``"network"``, ``"grabcut"``,
      ``"off"``, ``"mask"`` or ``"rectangle"`` (see :func:`silhouette_mask`);
    * ``mask_confidence``: how sure the method is of ``photo_mask`` (0-1),
      None when it cannot say (see :class:`Silhouette`);
    * ``fill_colour``: the plain background's RGB;
    * ``notes``: what was done that the user should know about.
    """

    network_input: np.ndarray
    input_mask: np.ndarray
    photo: np.ndarray
    photo_mask: np.ndarray
    silhouette_box: tuple[int, int, int, int]
    crop_box: tuple[float, float, float, float]
    scale: float
    photo_scale: float
    background_method: str
    fill_colour: tuple[int, int, int]
    name: str = ""
    notes: list[str] = field(default_factory=list)
    mask_confidence: float | None = None

    @property
    def image_size(self) -> int:
        return int(self.network_input.shape[0])

    @property
    def fill_fraction(self) -> float:
        """Fraction of the image side spanned by the silhouette's longer side."""
        _, _, w, h = self.silhouette_box
        return max(w, h) / self.crop_box[2]

    def to_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """``network_input`` as the network's (1, 3, S, S) float tensor in [0, 1]."""
        return image_to_tensor(self.network_input, self.image_size, device)


def prepare_photo(
    source: PhotoSource | Photo,
    image_size: int = 224,
    background: str | np.ndarray = "auto",
    rect: Rect | None = None,
    fill_fraction: float = DEFAULT_FILL_FRACTION,
    fill_colour: tuple[int, int, int] | None = None,
    max_pixels: int = MAX_PIXELS,
    max_side: int = MAX_SIDE,
    segmenter: Segmenter | None = None,
) -> PreparedPhoto:
    """Load (unless given a :class:`Photo`), find the part and frame it for the network.

    ``image_size``: the model's input side; ``background``, ``rect`` and
    ``segmenter``: see :func:`silhouette_mask` (``rect`` and a mask are in the pixels of the
    loaded photo, i.e. of ``PreparedPhoto.photo``); ``fill_fraction`` and
    ``fill_colour``: see :func:`frame_photo`.  Pass the ``Photo`` from
    :func:`load_photo` to re-run with another method or rectangle without
    decoding the file again.
    """
    photo = source if isinstance(source, Photo) else load_photo(source, max_pixels, max_side)
    silhouette = silhouette_mask(photo, background, rect, segmenter)
    framed = frame_photo(photo.rgb, silhouette.mask, image_size, fill_fraction, fill_colour)
    return dataclasses.replace(
        framed,
        photo_scale=photo.scale,
        background_method=silhouette.method,
        mask_confidence=silhouette.confidence,
        name=photo.name,
        notes=[*photo.notes, *silhouette.notes, *framed.notes],
    )


def frame_photo(
    rgb: np.ndarray,
    mask: np.ndarray,
    image_size: int = 224,
    fill_fraction: float = DEFAULT_FILL_FRACTION,
    fill_colour: tuple[int, int, int] | None = None,
) -> PreparedPhoto:
    """Crop, pad to square, resize and composite like a training render.

    The silhouette's bounding-box centre goes to the image centre and its
    longer side spans ``fill_fraction`` of ``image_size`` (the square crop
    is resampled with antialiasing at sub-pixel precision).  The part is
    composited with its (resampled, soft-edged) mask over ``fill_colour``;
    ``None`` picks :data:`LIGHT_FILL`, or :data:`DARK_FILL` when the part's
    median luminance is within 0.15 of the light grey (the renderer keeps
    part and background at least that far apart, too).
    """
    if not 0.0 < fill_fraction <= 1.0:
        raise ValueError(f"fill_fraction must be in (0, 1], got {fill_fraction}")
    if image_size < 1:
        raise ValueError(f"image_size must be positive, got {image_size}")
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask {mask.shape} and image {rgb.shape[:2]} differ in size")
    if not mask.any():
        raise PhotoError("the part's mask is empty; nothing to frame")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    x0, x1, y0, y1 = int(cols[0]), int(cols[-1]) + 1, int(rows[0]), int(rows[-1]) + 1
    side = max(x1 - x0, y1 - y0) / fill_fraction
    left, top = (x0 + x1) / 2.0 - side / 2.0, (y0 + y1) / 2.0 - side / 2.0

    notes = []
    if fill_colour is None:
        fill_colour = _auto_fill(rgb[mask])
        if fill_colour == DARK_FILL:
            notes.append("the part is light, so it is framed on dark grey for contrast")
    fill = np.asarray(fill_colour, dtype=np.float64)
    ix0, iy0 = math.floor(left), math.floor(top)
    ix1, iy1 = math.ceil(left + side), math.ceil(top + side)
    box = (left - ix0, top - iy0, left - ix0 + side, top - iy0 + side)
    size = (image_size, image_size)
    colour = Image.fromarray(_window(rgb, ix0, iy0, ix1, iy1, "edge")).resize(size, Image.BICUBIC, box=box)
    cover = Image.fromarray(_window(mask.astype(np.uint8) * 255, ix0, iy0, ix1, iy1, "constant"))
    alpha = np.asarray(cover.resize(size, Image.BILINEAR, box=box), dtype=np.float64)[..., None] / 255.0
    composite = alpha * np.asarray(colour, dtype=np.float64) + (1.0 - alpha) * fill
    return PreparedPhoto(
        network_input=np.round(composite).clip(0, 255).astype(np.uint8),
        input_mask=alpha[..., 0] >= 0.5,
        photo=rgb,
        photo_mask=mask,
        silhouette_box=(x0, y0, x1 - x0, y1 - y0),
        crop_box=(left, top, side, side),
        scale=image_size / side,
        photo_scale=1.0,
        background_method="mask",
        fill_colour=tuple(int(c) for c in fill_colour),
        notes=notes,
    )


def _window(image: np.ndarray, x0: int, y0: int, x1: int, y1: int, pad_mode: str) -> np.ndarray:
    """``image[y0:y1, x0:x1]``, padded (``np.pad`` mode) where it leaves the image."""
    height, width = image.shape[:2]
    inner = image[max(y0, 0):min(y1, height), max(x0, 0):min(x1, width)]
    pad = [(max(-y0, 0), max(y1 - height, 0)), (max(-x0, 0), max(x1 - width, 0))]
    pad += [(0, 0)] * (image.ndim - 2)
    return np.ascontiguousarray(np.pad(inner, pad, mode=pad_mode))


def _auto_fill(part_pixels: np.ndarray) -> tuple[int, int, int]:
    luminance = float(np.median(part_pixels.astype(np.float64) @ (0.2126, 0.7152, 0.0722))) / 255.0
    light = LIGHT_FILL[0] / 255.0
    return DARK_FILL if abs(luminance - light) < 0.15 else LIGHT_FILL


# ---------------------------------------------------------------------------
# Camera parameters
# ---------------------------------------------------------------------------


def auto_ab(prepared: PreparedPhoto) -> tuple[float, float]:
    """Proposed ``(a, b)`` for a prepared photo.

    Assumes the part's longest dimension lies in the image plane, so the
    silhouette's longer side is 1 world unit.  It spans ``f`` of the image
    (:attr:`PreparedPhoto.fill_fraction`), so the image is ``1 / f`` units
    wide, its half-width is ``h = 1 / (2 f)`` and ``a = b = 1 / h = 2 f``:
    ``1 / 0.55`` with the default framing, exactly what training renders
    had.  When the longest dimension points at the camera the silhouette's
    longer side is ``L < 1`` units, so ``a = b = 2 f / L``: the user then
    raises ``a`` and ``b`` in the GUI (a point lands at ``u = a x``, so a
    larger ``a`` shrinks the reconstruction along x, ``b`` along y,
    relative to the depth the network infers).
    """
    a = 2.0 * prepared.fill_fraction
    return a, a
