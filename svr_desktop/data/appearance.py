"""What a rendered view looks like: material, lights, background and camera effects.

Every draw is a JSON-serializable dict taken from the caller's generator, so
a view is reproducible from its seed and its appearance is stored with the
data set.  Two styles:

``studio`` (data-set format 2 and evaluation renders): a Phong material from
five families, key/fill/rim point lights and a plain, gradient or noise
background.  Its draws are unchanged since format 2, so old builds repeat
byte for byte.

``photo`` (issue 14): what photographs of parts have and studio renders lack.
Physically based materials (metallic, roughness) lit by a procedural studio
environment as well as the point lights; a ground plane under the part that
receives the key light's shadow and a contact shadow; textured grounds
(wood, cutting mat, sheet metal) besides the studio ones, sometimes with
low contrast against the part; the part's mid-tones darkened as a
photograph shows them; small distractor objects beside it; and the
camera's own marks: exposure and white balance, vignetting, lens blur,
sensor noise and JPEG compression.  The mask and the depth layers stay
exact: shadows, distractors and camera effects touch only the pixels.
"""

from __future__ import annotations

import colorsys
from typing import Any

import numpy as np

from ..geometry.frames import random_rotation
from .environment_maps import ENVIRONMENTS


# ---------------------------------------------------------------------------
# Studio style: Phong material, three point lights, plain/gradient/noise ground
# ---------------------------------------------------------------------------

#: Material families and their probabilities.
_MATERIAL_WEIGHTS = {"steel": 0.3, "aluminium": 0.15, "dark_metal": 0.1, "brass": 0.15, "painted": 0.3}

#: Industrial paint colours (RGB in [0, 1]) that painted parts start from.
_PAINTS = (
    (0.95, 0.75, 0.10),  # safety yellow
    (0.90, 0.40, 0.08),  # orange
    (0.75, 0.12, 0.10),  # red
    (0.12, 0.30, 0.65),  # blue
    (0.15, 0.50, 0.25),  # green
    (0.90, 0.90, 0.88),  # white
    (0.17, 0.17, 0.18),  # black
    (0.45, 0.47, 0.50),  # machine grey
)


def _floats(values) -> list[float]:
    return [float(v) for v in values]


def _luminance(rgb) -> float:
    return float(np.dot(rgb, (0.2126, 0.7152, 0.0722)))


def _ground_luminance(background: dict[str, Any]) -> float:
    """Luminance of a ground's mean colour (what the contrast rules compare with the part)."""
    return _luminance(np.mean(background["colors"], axis=0))


def _jitter_colour(rng: np.random.Generator, rgb, amount: float) -> np.ndarray:
    return np.clip(np.asarray(rgb) + rng.uniform(-amount, amount, 3), 0.0, 1.0)


def _sample_material(rng: np.random.Generator) -> dict[str, Any]:
    kinds = list(_MATERIAL_WEIGHTS)
    p = np.array([_MATERIAL_WEIGHTS[k] for k in kinds])
    kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
    if kind in ("steel", "aluminium", "dark_metal"):
        lo, hi = {"steel": (0.5, 0.72), "aluminium": (0.72, 0.88), "dark_metal": (0.2, 0.32)}[kind]
        grey = rng.uniform(lo, hi)
        tint = rng.uniform(-0.03, 0.03) * np.array([-1.0, 0.0, 1.0])  # cool or warm
        colour = np.clip(grey + tint, 0.0, 1.0)
        specular_colour = np.clip(0.5 * colour + 0.5, 0.0, 1.0)
        ambient, diffuse = rng.uniform(0.12, 0.22), rng.uniform(0.55, 0.8)
        specular = rng.uniform(0.35, 0.8)
        power = rng.uniform(8.0, 60.0) if kind == "steel" else rng.uniform(5.0, 25.0)
    elif kind == "brass":
        base = (0.88, 0.68, 0.30) if rng.random() < 0.7 else (0.80, 0.48, 0.32)  # brass or copper
        colour = _jitter_colour(rng, base, 0.04)
        specular_colour = np.clip(0.6 * colour + 0.4, 0.0, 1.0)
        ambient, diffuse = rng.uniform(0.12, 0.2), rng.uniform(0.5, 0.75)
        specular, power = rng.uniform(0.5, 0.9), rng.uniform(15.0, 60.0)
    else:  # painted
        colour = _jitter_colour(rng, _PAINTS[int(rng.integers(len(_PAINTS)))], 0.06)
        specular_colour = np.ones(3)
        ambient, diffuse = rng.uniform(0.12, 0.22), rng.uniform(0.7, 0.9)
        # Dark paint shows its shape through broad highlights, light paint through diffuse shading.
        dark = _luminance(colour) < 0.3
        specular = rng.uniform(0.35, 0.6) if dark else rng.uniform(0.1, 0.45)
        power = rng.uniform(5.0, 25.0) if dark else rng.uniform(15.0, 80.0)
    return {
        "kind": kind,
        "color": _floats(colour),
        "ambient": float(ambient),
        "diffuse": float(diffuse),
        "specular": float(specular),
        "specular_power": float(power),
        "specular_color": _floats(specular_colour),
    }


def _position(azimuth_deg: float, elevation_deg: float, front: float, distance: float) -> list[float]:
    """A light position: azimuth around +y from +z, elevation above the xz plane.

    ``front = -1`` mirrors it behind the object.  Lights sit a few object sizes
    away, so the light direction changes across large faces as in a studio.
    """
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    v = np.array([np.sin(az) * np.cos(el), np.sin(el), front * np.cos(az) * np.cos(el)])
    return _floats(distance * v / np.linalg.norm(v))


def _sample_lights(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Key, fill and rim point lights, oblique enough that faces of different
    orientation get different brightness, so edges show."""
    side = 1.0 if rng.random() < 0.5 else -1.0
    warmth = rng.uniform(-0.06, 0.06)
    white = np.array([1.0 + warmth, 1.0, 1.0 - warmth]).clip(0.0, 1.0)
    key = {
        "position": _position(side * rng.uniform(20, 65), rng.uniform(20, 60), 1.0, rng.uniform(1.5, 4.0)),
        "intensity": float(rng.uniform(0.85, 1.1)),
        "color": _floats(white),
    }
    fill = {
        "position": _position(-side * rng.uniform(30, 80), rng.uniform(-20, 30), 1.0, rng.uniform(1.5, 4.0)),
        "intensity": float(rng.uniform(0.3, 0.55)),
        "color": _floats(_jitter_colour(rng, white, 0.03)),
    }
    rim = {
        "position": _position(rng.uniform(-60, 60), rng.uniform(30, 70), -1.0, rng.uniform(1.5, 4.0)),
        "intensity": float(rng.uniform(0.0, 0.6)),
        "color": _floats(white),
    }
    return [key, fill, rim]


def _background_colour(rng: np.random.Generator) -> list[float]:
    """Mostly studio whites and greys, sometimes muted or saturated colours."""
    u = rng.random()
    if u < 0.45:
        grey = rng.uniform(0.55, 1.0) if rng.random() < 0.7 else rng.uniform(0.05, 0.45)
        rgb = _jitter_colour(rng, (grey,) * 3, 0.02)
    else:
        saturation = rng.uniform(0.05, 0.35) if u < 0.85 else rng.uniform(0.35, 0.8)
        rgb = colorsys.hsv_to_rgb(rng.random(), saturation, rng.uniform(0.25, 0.95))
    return _floats(rgb)


def _sample_background(rng: np.random.Generator, kind: str | None = None) -> dict[str, Any]:
    """A plain, gradient or noise ground; ``kind`` None draws which (30 / 40 / 30 %)."""
    if kind is None:
        kind = ("plain", "gradient", "noise")[int(rng.choice(3, p=[0.3, 0.4, 0.3]))]
    first = _background_colour(rng)
    if kind == "plain":
        return {"kind": "plain", "colors": [first]}
    # The second colour is a lighter or darker shade or, sometimes, another colour.
    second = (
        _background_colour(rng)
        if rng.random() < 0.3
        else _floats(np.clip(np.asarray(first) * rng.uniform(0.45, 1.5), 0.0, 1.0))
    )
    if kind == "gradient":
        angle = 90.0 if rng.random() < 0.5 else float(rng.uniform(0.0, 360.0))
        return {"kind": "gradient", "colors": [first, second], "angle_deg": angle}
    return {
        "kind": "noise",
        "colors": [first, second],
        "cells": int(rng.integers(3, 12)),
        "grain": float(rng.uniform(0.0, 0.025)),
        "seed": int(rng.integers(2**31)),
    }


#: Least luminance difference between the lit part and the background.
_MIN_CONTRAST = 0.15


def sample_studio_appearance(rng: np.random.Generator) -> dict[str, Any]:
    """Draw material, lights and background for one studio-style view (JSON-serializable).

    Backgrounds are redrawn (up to 20 times) while their mean luminance
    is too close to the part's typical shaded luminance, so that the part
    stays clearly visible.
    """
    material = _sample_material(rng)
    lights = _sample_lights(rng)
    part = 0.8 * _luminance(material["color"])
    for _ in range(20):
        background = _sample_background(rng)
        if abs(_ground_luminance(background) - part) >= _MIN_CONTRAST:
            break
    return {"material": material, "lights": lights, "background": background}


# ---------------------------------------------------------------------------
# Photo style
# ---------------------------------------------------------------------------

#: PBR material families and their probabilities: (base grey or colour range,
#: metallic, roughness range).  Roughness below ~0.15 mirrors the
#: environment almost perfectly, which machined parts rarely do.
_PBR_WEIGHTS = {
    "steel": 0.2,
    "aluminium": 0.14,
    "dark_metal": 0.1,
    "cast": 0.06,
    "brass": 0.08,
    "painted": 0.26,
    "plastic": 0.16,
}


def _sample_pbr_material(rng: np.random.Generator) -> dict[str, Any]:
    kinds = list(_PBR_WEIGHTS)
    p = np.array([_PBR_WEIGHTS[k] for k in kinds])
    kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
    if kind in ("steel", "aluminium", "dark_metal", "cast"):
        lo, hi = {"steel": (0.55, 0.75), "aluminium": (0.75, 0.92), "dark_metal": (0.18, 0.35), "cast": (0.3, 0.45)}[kind]
        grey = rng.uniform(lo, hi)
        colour = np.clip(grey + rng.uniform(-0.03, 0.03) * np.array([-1.0, 0.0, 1.0]), 0.0, 1.0)
        metallic = 1.0 if kind != "cast" else rng.uniform(0.6, 0.9)
        roughness = {"steel": (0.15, 0.5), "aluminium": (0.2, 0.6), "dark_metal": (0.25, 0.6), "cast": (0.55, 0.85)}[kind]
        roughness = rng.uniform(*roughness)
    elif kind == "brass":
        base = (0.9, 0.72, 0.35) if rng.random() < 0.7 else (0.85, 0.52, 0.38)  # brass or copper
        colour, metallic, roughness = _jitter_colour(rng, base, 0.04), 1.0, rng.uniform(0.15, 0.45)
    elif kind == "painted":
        colour = _jitter_colour(rng, _PAINTS[int(rng.integers(len(_PAINTS)))], 0.06)
        metallic, roughness = 0.0, rng.uniform(0.25, 0.65)
    else:  # plastic: mostly black or dark grey, as moulded parts are
        grey = rng.uniform(0.03, 0.14) if rng.random() < 0.7 else rng.uniform(0.5, 0.85)
        colour, metallic, roughness = _jitter_colour(rng, (grey,) * 3, 0.02), 0.0, rng.uniform(0.35, 0.8)
    return {"kind": kind, "color": _floats(colour), "metallic": float(metallic), "roughness": float(roughness)}


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def _sample_ground(rng: np.random.Generator, key_light: list[float]) -> dict[str, Any]:
    """The plane the part rests on, and how its shadows look.

    The plane faces the camera, tilted up to 45 degrees (an orthographic
    camera sees a table from above at an angle as a tilted plane).  The key
    light must stand well above it, or the shadow would run off to infinity;
    a tilt that puts it too low is redrawn, falling back to the plane tilted
    halfway toward the light (no tilt could leave a low light too low).
    """
    light = _unit(key_light)
    normal = _unit(np.array([0.0, 0.0, 1.0]) + light)
    for _ in range(10):
        tilt, direction = np.radians(rng.uniform(0.0, 45.0)), rng.uniform(0.0, 2 * np.pi)
        candidate = np.array([np.sin(tilt) * np.cos(direction), np.sin(tilt) * np.sin(direction), np.cos(tilt)])
        if candidate @ light >= 0.4:
            normal = candidate
            break
    return {
        "normal": _floats(normal),
        "shadow": float(rng.uniform(0.2, 0.7)) if rng.random() < 0.9 else 0.0,
        "softness": float(rng.uniform(0.002, 0.04)),  # Gaussian sigma, fraction of the image side
        "contact": float(rng.uniform(0.1, 0.5)),
        "contact_radius": float(rng.uniform(0.004, 0.015)),
    }


#: Photo-style ground textures and their probabilities.
_GROUND_WEIGHTS = {"plain": 0.2, "gradient": 0.22, "noise": 0.18, "wood": 0.14, "mat": 0.12, "sheet": 0.14}


def _sample_photo_background(rng: np.random.Generator) -> dict[str, Any]:
    kinds = list(_GROUND_WEIGHTS)
    p = np.array([_GROUND_WEIGHTS[k] for k in kinds])
    kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
    if kind in ("plain", "gradient", "noise"):
        return _sample_background(rng, kind)
    seed = int(rng.integers(2**31))
    if kind == "wood":
        light = _jitter_colour(rng, (0.72, 0.55, 0.36), 0.1)
        dark = np.clip(light * rng.uniform(0.55, 0.8), 0.0, 1.0)
        return {"kind": "wood", "colors": [_floats(light), _floats(dark)], "angle_deg": float(rng.uniform(0, 180)),
                "rings": float(rng.uniform(8, 30)), "seed": seed}
    if kind == "mat":  # self-healing cutting mat: a dark colour with a lighter grid
        base = (0.12, 0.32, 0.2) if rng.random() < 0.5 else _background_colour(rng)
        base = np.clip(np.asarray(base) * rng.uniform(0.5, 1.0), 0.0, 1.0)
        lines = np.clip(base + rng.uniform(0.15, 0.4), 0.0, 1.0)
        return {"kind": "mat", "colors": [_floats(base), _floats(lines)], "cells": int(rng.integers(6, 20)),
                "angle_deg": float(rng.uniform(-20, 20)), "seed": seed}
    grey = rng.uniform(0.35, 0.8)  # brushed sheet metal
    return {"kind": "sheet", "colors": [_floats((grey,) * 3), _floats((grey * rng.uniform(0.75, 0.95),) * 3)],
            "angle_deg": float(rng.uniform(0, 180)), "seed": seed}


#: Distractor objects (washers, nuts, bars) beside the part.
DISTRACTOR_KINDS = ("washer", "nut", "bar")


def _sample_distractors(rng: np.random.Generator) -> list[dict[str, Any]]:
    count = 0 if rng.random() < 0.6 else int(rng.integers(1, 4))
    return [
        {
            "kind": DISTRACTOR_KINDS[int(rng.integers(len(DISTRACTOR_KINDS)))],
            "size": float(rng.uniform(0.07, 0.18)),  # fraction of the image side
            "color": _floats(_jitter_colour(rng, (rng.uniform(0.1, 0.8),) * 3, 0.08)),
            "angle_deg": float(rng.uniform(0, 360)),
            "seed": int(rng.integers(2**31)),
        }
        for _ in range(count)
    ]


def _sample_camera(rng: np.random.Generator) -> dict[str, Any]:
    """The camera's marks on the picture (sizes are fractions of the image side)."""
    warmth = rng.uniform(-0.06, 0.06)
    return {
        "exposure": float(rng.uniform(0.8, 1.2)),
        "white_balance": _floats((1.0 + warmth, 1.0, 1.0 - warmth)),
        "vignetting": float(rng.uniform(0.0, 0.35)),
        "blur": 0.0 if rng.random() < 0.4 else float(rng.uniform(0.001, 0.007)),
        "noise": float(rng.uniform(0.0, 0.025)),
        "jpeg_quality": 0 if rng.random() < 0.3 else int(rng.integers(45, 96)),
        "seed": int(rng.integers(2**31)),
    }


#: Least luminance difference between part and ground in most photo-style
#: views; the rest may be dark on dark or light on light, as photos are.
_PHOTO_MIN_CONTRAST = 0.08
_LOW_CONTRAST_SHARE = 0.2

#: Share of photo-style views drawn as a dark part on a dark ground.  Left
#: to chance, look 2 drew a dark part on a dark ground in 2 % of views (dark
#: grounds are rare among studio backdrops), yet black plastic or dark
#: metal on a black bench or mat is a common workshop photo and the case in
#: which the network's mask failed most (docs/photo_path.md, session 16).
#: "Dark": the luminance ranges of the part's colour and the ground's mean.
DARK_ON_DARK_SHARE = 0.12
_DARK_PART = (0.03, 0.2)
_DARK_GROUND = (0.03, 0.3)

#: Revision of the photo style's look, stored with a build so that a build is
#: never resumed with another look.  2: the part's tone (below).  3: dark
#: parts on dark grounds drawn on purpose.
PHOTO_LOOK = 3

#: Range of the gamma that darkens the lit part's mid-tones.  Parts in
#: photographs read darker than VTK's lit renders of them: on 120 photos of
#: the path-traced benchmark (sets A and B) the part's median luminance is 85
#: of 255 and its 10th percentile 39, against 147 and 94 in 60 look-1
#: renders, while the grounds agree (105 against 109).  This range brings the
#: renders to about 96 and 38 (docs/dataset.md) and still draws bright
#: parts.  A gamma, unlike a gain, keeps white highlights white, as a metal
#: part's are in a photograph.
PART_GAMMA = (1.2, 2.6)


def _darkened(background: dict[str, Any], luminance: float) -> dict[str, Any]:
    """``background`` with every colour scaled so that their mean has ``luminance``.

    Scaling keeps the ground's texture and hue: a wood top becomes dark
    walnut, a sheet dark steel, a plain backdrop black velvet.
    """
    gain = luminance / max(_ground_luminance(background), 1e-3)
    return {**background, "colors": [_floats(np.clip(np.asarray(c) * gain, 0.0, 1.0)) for c in background["colors"]]}


def _scaled(rgb, luminance: float) -> list[float]:
    """``rgb`` scaled (same hue) to ``luminance``."""
    rgb = np.asarray(rgb, dtype=np.float64)
    return _floats(np.clip(rgb * luminance / max(_luminance(rgb), 1e-3), 0.0, 1.0))


def sample_environment(rng: np.random.Generator) -> dict[str, Any]:
    """The lighting environment of one photo session: which map, and a random orientation."""
    rotation = random_rotation(rng)
    return {"map": int(rng.integers(ENVIRONMENTS)), "up": _floats(rotation[:, 1]), "right": _floats(rotation[:, 0])}


def sample_photo_appearance(rng: np.random.Generator, environment: int | None = None) -> dict[str, Any]:
    """Draw everything a photo-style view needs (JSON-serializable).

    ``environment``: the environment map shared by the views of one part;
    None draws one (its orientation is always drawn per view).
    """
    dark_on_dark = rng.random() < DARK_ON_DARK_SHARE
    lights = _sample_lights(rng)
    env = sample_environment(rng)
    if environment is not None:
        env["map"] = int(environment)
    part_gamma = float(rng.uniform(*PART_GAMMA))
    material = _sample_pbr_material(rng)
    if dark_on_dark:
        # A black version of any family (black oxide steel, anodized
        # aluminium, black paint or plastic) keeps metallic and roughness
        # as varied as elsewhere; black parts are near neutral, so most of
        # the family's hue goes.
        colour = np.asarray(material["color"])
        material["color"] = _scaled(0.3 * colour + 0.7 * _luminance(colour), rng.uniform(*_DARK_PART))
    part = (0.8 * _luminance(material["color"])) ** part_gamma
    if dark_on_dark:
        background = _darkened(_sample_photo_background(rng), rng.uniform(*_DARK_GROUND))
    else:
        need_contrast = rng.random() >= _LOW_CONTRAST_SHARE
        for _ in range(20):
            background = _sample_photo_background(rng)
            if not need_contrast or abs(_ground_luminance(background) - part) >= _PHOTO_MIN_CONTRAST:
                break
    return {
        "style": "photo",
        "material": material,
        "part_gamma": part_gamma,
        "lights": lights,
        "environment": env,
        "background": background,
        "ground": _sample_ground(rng, lights[0]["position"]),
        "distractors": _sample_distractors(rng),
        "camera": _sample_camera(rng),
    }
