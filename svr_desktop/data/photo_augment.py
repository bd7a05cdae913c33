"""Render-to-photograph augmentations for training the part segmenter (issue 14).

The segmenter fails on photographs where the renders it learned from are
kindest: parts darker than any render (a dark part on a dark ground), long
soft cast shadows on a plain ground, and the part small in a first look at
the whole photo (docs/photo_path.md).  These augmentations move a rendered
view toward those cases while its mask stays exact, because every change is
either a geometric warp applied to image and mask alike or a change of pixel
values that never moves the silhouette:

* framing: the part drawn smaller and off-centre (a whole photo, padded);
* a cast shadow: the silhouette swept along a random direction, blurred,
  darkening the ground (never the part, which stands in front of it);
* a shaded side: a band of the part along its outline on one side made
  darker, with the outline's hard edge kept (a side face turned from the
  light).  Without it a dark band beside the part would always be ground,
  and the segmenter learns to cut the part's own dark faces off as shadow;
* the part darker, the ground darker (independently, so both together make
  the dark-on-dark case), or the ground brought to the part's own brightness
  (a grey part on a grey ground, where only shading and edges tell them apart);
* exposure, gamma, colour cast, lens blur, sensor noise, JPEG, mirror.

Everything is drawn from the caller's ``numpy.random.Generator``, so a run
is reproducible from its seed.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Chance of each augmentation per image.
P_REFRAME, P_SHADOW, P_SHADED_SIDE, P_DARK_PART, P_DARK_GROUND, P_MATCHED_TONES = 0.35, 0.4, 0.4, 0.3, 0.3, 0.2
P_BLUR, P_NOISE, P_JPEG, P_MIRROR = 0.25, 0.5, 0.3, 0.5
#: Reframed parts are drawn at this fraction of their rendered size.
REFRAME_SCALE = (0.35, 0.9)
#: A shadow reaches this many part extents beyond the part, darkens the ground by this fraction
#: and is this soft (pixels of blur at 160 px: soft shadows, never as crisp as the part's outline).
SHADOW_LENGTH, SHADOW_STRENGTH, SHADOW_SOFTNESS = (0.05, 0.6), (0.25, 0.75), (1.0, 6.0)
#: A shaded side is this many part extents deep and darkens the part by this fraction.
SIDE_DEPTH, SIDE_STRENGTH = (0.04, 0.3), (0.3, 0.85)
#: Gains of a darkened part and of a darkened ground.
DARK_PART_GAIN, DARK_GROUND_GAIN = (0.15, 0.6), (0.12, 0.6)
#: A matched ground's mean brightness, relative to the part's.
MATCHED_TONE_RATIO = (0.8, 1.25)


def augment_view(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A rendered view ``image`` (H, W, 3) uint8 and its silhouette ``mask`` (H, W) bool, made more photo-like.

    Returns the new image (uint8) and the mask that is exact for it (bool).
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or mask.shape != image.shape[:2]:
        raise ValueError(f"expected an (H, W, 3) uint8 image and an (H, W) mask, got {image.shape} {image.dtype} and {mask.shape}")
    if rng.random() < P_REFRAME:
        image, mask = _reframe(image, mask, rng)
    picture = image.astype(np.float32) / 255.0
    # The part's pixels, with the renderer's antialiased edge: darkening follows it instead of cutting a hard line.
    part = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigmaX=0.6)[..., None]
    if mask.any():
        # Light from one side: the shadow falls away from it, and the side turned away is the shaded one.
        away = rng.uniform(0.0, 2.0 * np.pi)
        if rng.random() < P_SHADOW:
            picture *= 1.0 - rng.uniform(*SHADOW_STRENGTH) * _shadow(mask, away, rng)[..., None] * (1.0 - part)
        if rng.random() < P_SHADED_SIDE:
            side = away if rng.random() < 0.5 else rng.uniform(0.0, 2.0 * np.pi)
            picture *= 1.0 - rng.uniform(*SIDE_STRENGTH) * (_shaded_side(mask, side, rng)[..., None] * part)
    if rng.random() < P_DARK_PART:
        picture *= 1.0 - part * (1.0 - rng.uniform(*DARK_PART_GAIN))
    if rng.random() < P_DARK_GROUND:
        picture *= 1.0 - (1.0 - part) * (1.0 - rng.uniform(*DARK_GROUND_GAIN))
    if rng.random() < P_MATCHED_TONES and mask.any() and not mask.all():
        gain = rng.uniform(*MATCHED_TONE_RATIO) * picture[mask].mean() / max(picture[~mask].mean(), 1e-3)
        picture *= 1.0 - (1.0 - part) * (1.0 - gain)
    picture = _lighting(picture, rng)
    if rng.random() < P_BLUR:
        picture = cv2.GaussianBlur(picture, (0, 0), sigmaX=rng.uniform(0.3, 1.0))
    if rng.random() < P_NOISE:
        picture = picture + rng.normal(0.0, rng.uniform(0.003, 0.025), picture.shape).astype(np.float32)
    result = np.round(np.clip(picture, 0.0, 1.0) * 255.0).astype(np.uint8)
    if rng.random() < P_JPEG:
        quality = int(rng.integers(35, 91))
        _, encoded = cv2.imencode(".jpg", result, [cv2.IMWRITE_JPEG_QUALITY, quality])
        result = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    if rng.random() < P_MIRROR:
        result, mask = result[:, ::-1], mask[:, ::-1]
    return np.ascontiguousarray(result), np.ascontiguousarray(mask)


def _reframe(image: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The view scaled down about its centre and shifted, the edge repeated beyond it.

    Repeating the edge is how the segmenter pads a photo to a square, and a
    render's edge is ground, so the padding looks like more ground.
    """
    height, width = mask.shape
    scale = rng.uniform(*REFRAME_SCALE)
    room = (1.0 - scale) / 2.0
    shift_x, shift_y = rng.uniform(-room, room, 2) * (width, height)
    warp = np.array([
        [scale, 0.0, (1.0 - scale) * width / 2.0 + shift_x],
        [0.0, scale, (1.0 - scale) * height / 2.0 + shift_y],
    ])
    # Blurred against aliasing when drawn much smaller, as the segmenter does when it shrinks a photo.
    smoothed = cv2.GaussianBlur(image, (0, 0), sigmaX=0.5 / scale) if scale < 0.5 else image
    image = cv2.warpAffine(smoothed, warp, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    coverage = cv2.warpAffine(mask.astype(np.float32), warp, (width, height), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return image, coverage >= 0.5


def _extent(mask: np.ndarray) -> int:
    """The longer side of the mask's bounding box, in pixels."""
    rows, cols = np.nonzero(mask)
    return max(rows.max() - rows.min(), cols.max() - cols.min()) + 1


def _shifted(silhouette: np.ndarray, distance: float, angle: float) -> np.ndarray:
    """``silhouette`` (float) moved ``distance`` pixels toward ``angle``, nothing beyond the image."""
    height, width = silhouette.shape
    offset = np.array([[1.0, 0.0, distance * np.cos(angle)], [0.0, 1.0, distance * np.sin(angle)]])
    return cv2.warpAffine(silhouette, offset, (width, height), flags=cv2.INTER_LINEAR, borderValue=0.0)


def _shadow(mask: np.ndarray, angle: float, rng: np.random.Generator) -> np.ndarray:
    """(H, W) float in [0, 1]: the silhouette swept toward ``angle``, softened.

    A part lit from the side throws a shadow that starts at its foot and
    reaches away from the light; sweeping its silhouette is that shadow's
    outline for a part standing on the ground.
    """
    length = rng.uniform(*SHADOW_LENGTH) * _extent(mask)
    silhouette = mask.astype(np.float32)
    swept = silhouette.copy()
    for fraction in np.linspace(0.0, 1.0, 9)[1:]:
        np.maximum(swept, _shifted(silhouette, fraction * length, angle), out=swept)
    return cv2.GaussianBlur(swept, (0, 0), sigmaX=rng.uniform(*SHADOW_SOFTNESS))


def _shaded_side(mask: np.ndarray, angle: float, rng: np.random.Generator) -> np.ndarray:
    """(H, W) float in [0, 1]: the band of the part along its outline on the side toward ``angle``.

    The band's inner edge is soft (shading turns gradually on a curved
    side); its outer edge is the part's outline, which the caller keeps.
    """
    silhouette = mask.astype(np.float32)
    depth = rng.uniform(*SIDE_DEPTH) * _extent(mask)
    band = silhouette * (1.0 - _shifted(silhouette, -depth, angle))
    return cv2.GaussianBlur(band, (0, 0), sigmaX=rng.uniform(0.5, 2.0))


def _lighting(picture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Exposure, gamma and a colour cast of the whole picture (float, [0, 1])."""
    gain = rng.uniform(0.6, 1.25)
    gamma = rng.uniform(0.75, 1.5)  # above 1 darkens the mid-tones: photographs are darker than renders
    cast = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    return np.clip(picture * gain * cast, 0.0, 1.0) ** gamma
