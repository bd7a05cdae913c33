"""Procedural studio environments for image-based lighting (issue 14).

Metal in a photograph looks like metal because it mirrors its surroundings:
softboxes, a bright ceiling, a darker floor, the room's colour.  Phong
highlights from three point lights cannot show that, so the photo-style
renderer lights the part with one of these environments as well (VTK's PBR
image-based lighting).  Each map is an equirectangular HDR image (rows from
the zenith down to the nadir) generated from its index alone, so a data set
build never depends on files or downloads, and every worker process makes
the same maps.

Changing VTK's environment texture costs about 0.1-0.2 s of prefiltering,
so a build draws one environment per part (its "photo session") and varies
only the environment's orientation between views, which is free.
"""

from __future__ import annotations

import numpy as np

#: Number of distinct environments; a data set draws indices in [0, ENVIRONMENTS).
ENVIRONMENTS = 16

#: Equirectangular map size (width = 2 x height); reflections on rough
#: parts are blurry, so a small map loses nothing.
MAP_HEIGHT = 128


def environment_map(index: int, height: int = MAP_HEIGHT) -> np.ndarray:
    """The (height, 2 * height, 3) float32 linear-radiance map of environment ``index``.

    A ceiling-to-floor gradient (a room: brighter above, a darker floor with a
    horizon), a low-frequency colour wash, and 1-4 rectangular softboxes or
    windows several times brighter than the room, which make the highlights
    and reflected edges that metal parts show in studio photos.
    """
    if not 0 <= index < ENVIRONMENTS:
        raise ValueError(f"environment index must lie in [0, {ENVIRONMENTS}), got {index}")
    rng = np.random.default_rng([index, 4051])
    width = 2 * height
    elevation = np.pi / 2 - (np.arange(height) + 0.5) / height * np.pi  # +pi/2 at the top row
    azimuth = (np.arange(width) + 0.5) / width * 2 * np.pi
    el, az = np.meshgrid(elevation, azimuth, indexing="ij")

    ceiling = rng.uniform(0.35, 0.9)
    floor = ceiling * rng.uniform(0.15, 0.6)
    horizon_softness = rng.uniform(0.05, 0.3)
    upper = 1.0 / (1.0 + np.exp(-el / horizon_softness))  # 1 above the horizon, 0 below
    radiance = (floor + (ceiling - floor) * upper)[..., None] * np.ones(3)

    warmth = rng.uniform(-0.12, 0.12)
    tint = np.array([1.0 + warmth, 1.0, 1.0 - warmth])
    wash_phase = rng.uniform(0, 2 * np.pi, 3)
    wash = 1.0 + 0.15 * np.sin(az[..., None] + wash_phase) * np.cos(el[..., None])
    radiance = radiance * tint * wash

    for _ in range(int(rng.integers(1, 5))):
        centre_az = rng.uniform(0, 2 * np.pi)
        centre_el = rng.uniform(-0.1, 1.2)
        half_az, half_el = rng.uniform(0.1, 0.6), rng.uniform(0.08, 0.4)
        d_az = np.angle(np.exp(1j * (az - centre_az)))  # wrapped azimuth difference
        # Soft-edged rectangle: a box with a short falloff, as a diffuser panel looks.
        edge = rng.uniform(0.01, 0.08)
        inside = _soft_step(half_az - np.abs(d_az), edge) * _soft_step(half_el - np.abs(el - centre_el), edge)
        brightness = rng.uniform(2.0, 8.0)
        colour = np.array([1.0 + rng.uniform(-0.05, 0.05), 1.0, 1.0 + rng.uniform(-0.05, 0.05)])
        radiance = radiance + brightness * inside[..., None] * colour
    return radiance.astype(np.float32)


def _soft_step(signed_distance: np.ndarray, width: float) -> np.ndarray:
    """0 outside, 1 inside, a smooth ramp of ``width`` radians at the edge."""
    return np.clip(0.5 + signed_distance / width, 0.0, 1.0)
