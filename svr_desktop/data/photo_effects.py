"""The pixels that make a render look photographed (issue 14), in numpy.

Shadows on the ground plane, the part's darker mid-tones, distractor
objects beside the part and the camera's marks (exposure, white balance,
vignetting, lens blur, noise, JPEG).  All of them change only pixels, never the part's mask or depth, and
all are pure functions of the view's appearance spec (seeds included).
Sizes in the specs are fractions of the image side, so the same spec looks
the same at any resolution.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from scipy.ndimage import distance_transform_edt

#: Distractors keep at least this gap (fraction of the image side) to the part,
#: so that the part's silhouette stays its own.
DISTRACTOR_GAP = 0.03


def project_onto_ground(vertices: np.ndarray, normal, light) -> np.ndarray:
    """Move each vertex along the light direction onto the ground plane.

    The plane has unit ``normal`` and touches the part's lowest point along
    it (the part rests on it); ``light`` points from the part towards the
    light.  Drawing the moved triangles from the camera gives the part's
    cast shadow on the plane.
    """
    normal = np.asarray(normal, dtype=np.float64)
    light = np.asarray(light, dtype=np.float64)
    light = light / np.linalg.norm(light)
    height = vertices @ normal
    height = height - height.min()  # distance above the plane
    return vertices - (height / (normal @ light))[:, None] * light


def darken_midtones(colour: np.ndarray, coverage: np.ndarray, gamma: float) -> np.ndarray:
    """The part's premultiplied colour (0-255 floats) with its tone curve raised to ``gamma``.

    Works on the colour behind the coverage, so anti-aliased edges keep
    their coverage; black and white stay, the mid-tones between darken
    (``gamma > 1``).
    """
    covered = coverage > 0
    straight = np.divide(colour, coverage[..., None], out=np.zeros_like(colour, dtype=np.float64), where=covered[..., None])
    toned = 255.0 * (np.clip(straight, 0.0, 255.0) / 255.0) ** gamma
    return toned * coverage[..., None]


def _blur(values: np.ndarray, sigma_px: float) -> np.ndarray:
    if sigma_px < 0.3:
        return values
    return cv2.GaussianBlur(values, (0, 0), sigmaX=sigma_px, borderType=cv2.BORDER_REPLICATE)


def shade_ground(background: np.ndarray, shadow: np.ndarray, part: np.ndarray, ground: dict[str, Any]) -> np.ndarray:
    """Darken the ground under the cast shadow and around the part's contact.

    ``background``: (S, S, 3) floats; ``shadow``: coverage of the cast shadow
    in [0, 1]; ``part``: the part's coverage.  The cast shadow is softened by
    a Gaussian (a larger light gives a wider penumbra); the contact shadow,
    light blocked near where part and ground meet, is the part's blurred
    coverage.
    """
    size = background.shape[0]
    cast = _blur(shadow.astype(np.float32), ground["softness"] * size)
    contact = _blur(part.astype(np.float32), ground["contact_radius"] * size)
    darkening = np.clip(ground["shadow"] * cast + ground["contact"] * contact * ground["shadow"], 0.0, 0.9)
    return background * (1.0 - darkening[..., None])


def _distractor_outline(kind: str, radius: float, angle: float) -> tuple[np.ndarray, float]:
    """Outer polygon (unit-centred, pixels) and hole radius (0 for none) of a distractor."""
    if kind == "washer":
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        return np.c_[np.cos(t), np.sin(t)] * radius, 0.45 * radius
    if kind == "nut":
        t = np.linspace(0, 2 * np.pi, 6, endpoint=False) + angle
        return np.c_[np.cos(t), np.sin(t)] * radius, 0.5 * radius
    # bar: a long rectangle, e.g. a key or a pin
    corners = np.array([[-1.0, -0.22], [1.0, -0.22], [1.0, 0.22], [-1.0, 0.22]]) * radius
    c, s = np.cos(angle), np.sin(angle)
    return corners @ np.array([[c, s], [-s, c]]), 0.0


def draw_distractors(
    background: np.ndarray, part_mask: np.ndarray, distractors: list[dict[str, Any]], light: np.ndarray
) -> np.ndarray:
    """Draw small shaded objects with soft shadows where they cannot touch the part.

    Each distractor's centre is drawn (from its own seed) among pixels at
    least its radius plus :data:`DISTRACTOR_GAP` away from the part; one that
    finds no room is left out.  Shading is a linear ramp towards the light,
    the shadow the outline shifted away from it.
    """
    if not distractors:
        return background
    size = background.shape[0]
    clearance = distance_transform_edt(~part_mask) / size
    image = background.copy()
    away = -np.asarray(light[:2], dtype=np.float64) * (1.0, -1.0)  # image rows grow downwards
    away = away / max(np.linalg.norm(away), 1e-6)
    ys, xs = np.mgrid[0:size, 0:size]
    for spec in distractors:
        rng = np.random.default_rng(spec["seed"])
        radius = spec["size"] * size / 2
        free = np.argwhere(clearance > spec["size"] / 2 + DISTRACTOR_GAP)
        if len(free) == 0:
            continue
        row, col = free[int(rng.integers(len(free)))]
        outline, hole = _distractor_outline(spec["kind"], radius, np.radians(spec["angle_deg"]))
        centre = np.array([col + 0.5, row + 0.5])
        shape = _fill(size, outline + centre, hole, centre)
        shadow = _fill(size, outline + centre + away * 0.35 * radius, hole, centre + away * 0.35 * radius)
        image *= 1.0 - 0.5 * _blur(shadow, 0.15 * radius)[..., None]
        ramp = 0.75 + 0.5 * np.clip(((xs - centre[0]) * -away[0] + (ys - centre[1]) * -away[1]) / (2 * radius) + 0.5, 0, 1)
        colour = np.asarray(spec["color"])[None, None] * ramp[..., None] * 255.0
        image = image * (1.0 - shape[..., None]) + np.clip(colour, 0, 255) * shape[..., None]
    return image


def _fill(size: int, polygon: np.ndarray, hole: float, centre: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] of a polygon with an optional round hole (4x supersampled)."""
    scale = 4
    canvas = np.zeros((size * scale, size * scale), np.uint8)
    cv2.fillPoly(canvas, [np.round(polygon * scale).astype(np.int32)], 255, lineType=cv2.LINE_AA)
    if hole > 0:
        cv2.circle(canvas, tuple(int(v) for v in np.round(centre * scale)), int(round(hole * scale)), 0, -1, cv2.LINE_AA)
    return cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def apply_camera(image: np.ndarray, camera: dict[str, Any]) -> np.ndarray:
    """Exposure, white balance, vignetting, lens blur, sensor noise and JPEG on (S, S, 3) 0-255 floats.

    Returns uint8.  Noise is signal dependent (shot noise grows with
    brightness, plus a read-noise floor), as a sensor's is.
    """
    size = image.shape[0]
    rng = np.random.default_rng(camera["seed"])
    image = image * camera["exposure"] * np.asarray(camera["white_balance"])
    centres = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    radius2 = (centres[None, :] ** 2 + centres[:, None] ** 2) / 2.0  # 1 at the corners
    image = image * (1.0 - camera["vignetting"] * radius2)[..., None]
    image = _blur(image.astype(np.float32), camera["blur"] * size)
    level = np.clip(image, 0, 255) / 255.0
    sigma = camera["noise"] * np.sqrt(0.3 + 0.7 * level)
    image = (level + sigma * rng.standard_normal(level.shape)) * 255.0
    pixels = np.round(image).clip(0, 255).astype(np.uint8)
    if camera["jpeg_quality"]:
        encoded = cv2.imencode(".jpg", pixels[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, camera["jpeg_quality"]])[1]
        pixels = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(pixels)
