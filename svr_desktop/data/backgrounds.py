"""Grounds behind the rendered part: studio backdrops and workbench textures.

Each background is a pure function of its JSON spec (kind, colours, seed),
so a data set stores the spec and the exact pixels can be regenerated.
Textures are generated, never loaded: no image files ship with the build.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image
from scipy.ndimage import map_coordinates


def _upsample(values: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(values.astype(np.float32)).resize((size, size), Image.BICUBIC))


def make_background(spec: dict[str, Any], size: int) -> np.ndarray:
    """The (size, size, 3) uint8 background that ``spec`` describes.

    ``plain``: one colour; ``gradient``: from ``colors[0]`` to ``colors[1]``
    along ``angle_deg`` (90 = top to bottom); ``noise``: fractal value noise
    with ``cells`` cells across at the coarsest octave, blending the two
    colours, plus per-pixel grey grain of standard deviation ``grain``; fully
    determined by ``seed``.  Photo-style grounds (``wood``, ``mat``,
    ``sheet``) are described at :func:`wood`, :func:`cutting_mat` and
    :func:`brushed_sheet`.
    """
    colours = np.asarray(spec["colors"], dtype=np.float64)
    if spec["kind"] == "plain":
        t = np.zeros((size, size))
    elif spec["kind"] == "gradient":
        centres = (np.arange(size) + 0.5) / size * 2.0 - 1.0  # pixel centres in [-1, 1]
        x, y_down = np.meshgrid(centres, centres)
        angle = np.radians(spec["angle_deg"])
        s = np.cos(angle) * x + np.sin(angle) * y_down
        reach = abs(np.cos(angle)) + abs(np.sin(angle))
        t = (s / reach + 1.0) / 2.0
    elif spec["kind"] == "noise":
        rng = np.random.default_rng(spec["seed"])
        t = np.zeros((size, size))
        cells, amplitude, total = int(spec["cells"]), 1.0, 0.0
        for _ in range(4):
            t += amplitude * _upsample(rng.random((cells + 1, cells + 1)), size)
            total += amplitude
            cells, amplitude = cells * 2, amplitude * 0.5
        t = t / total
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-9)
    elif spec["kind"] in _TEXTURES:
        t = _TEXTURES[spec["kind"]](spec, size)
    else:
        raise ValueError(f"unknown background kind {spec['kind']!r}")
    t = np.clip(t, 0.0, 1.0)[..., None]
    rgb = colours[0] * (1.0 - t) + colours[-1] * t
    if spec["kind"] == "noise":
        rgb = rgb + spec["grain"] * rng.standard_normal((size, size, 1))
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def _rotated_grid(size: int, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [-1, 1], rotated by ``angle_deg``: (along, across)."""
    centres = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    x, y = np.meshgrid(centres, centres)
    angle = np.radians(angle_deg)
    return np.cos(angle) * x + np.sin(angle) * y, -np.sin(angle) * x + np.cos(angle) * y


def _stretched_noise(rng: np.random.Generator, along: np.ndarray, across: np.ndarray, cells_along: int, cells_across: int) -> np.ndarray:
    """Smooth value noise in [0, 1] with different cell counts along and across (streaks, grain)."""
    grid = rng.random((cells_across + 3, cells_along + 3))
    rows = (across + 1.0) / 2.0 * cells_across + 1.0
    cols = (along + 1.0) / 2.0 * cells_along + 1.0
    return map_coordinates(grid, [rows.ravel(), cols.ravel()], order=3, mode="nearest").reshape(along.shape).clip(0, 1)


def wood(spec: dict[str, Any], size: int) -> np.ndarray:
    """Planed wood: growth rings as bands across the grain, wavy, with fine streaks along it."""
    rng = np.random.default_rng(spec["seed"])
    along, across = _rotated_grid(size, spec["angle_deg"])
    warp = _stretched_noise(rng, along, across, 3, 6) - 0.5
    rings = 0.5 + 0.5 * np.sin(2 * np.pi * spec["rings"] * (across + 0.15 * warp))
    streaks = _stretched_noise(rng, along, across, 4, 90)
    return 0.6 * rings**2 + 0.4 * streaks


def cutting_mat(spec: dict[str, Any], size: int) -> np.ndarray:
    """A self-healing cutting mat: lines of about one pixel every ``1 / cells`` of the side, faint mottling."""
    rng = np.random.default_rng(spec["seed"])
    along, across = _rotated_grid(size, spec["angle_deg"])
    pitch = 2.0 / spec["cells"]
    line_width = max(2.0 / size, pitch * 0.03)

    def near_line(coordinate: np.ndarray) -> np.ndarray:
        distance = np.abs((coordinate / pitch + 0.5) % 1.0 - 0.5) * pitch
        return np.clip(1.0 - distance / line_width, 0.0, 1.0)

    grid = np.maximum(near_line(along), near_line(across))
    mottle = 0.12 * (_stretched_noise(rng, along, across, 8, 8) - 0.5)
    return np.clip(grid + mottle, 0.0, 1.0)


def brushed_sheet(spec: dict[str, Any], size: int) -> np.ndarray:
    """Brushed sheet metal: fine streaks along the brushing and a broad sheen across it."""
    rng = np.random.default_rng(spec["seed"])
    along, across = _rotated_grid(size, spec["angle_deg"])
    streaks = _stretched_noise(rng, along, across, 2, 160)
    sheen = 0.5 + 0.5 * np.cos(np.pi * (across - rng.uniform(-1, 1)))
    return 0.45 * streaks + 0.55 * sheen


_TEXTURES = {"wood": wood, "mat": cutting_mat, "sheet": brushed_sheet}
