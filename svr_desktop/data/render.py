"""Orthographic product-photo renderer for view-frame meshes (DESIGN.md section 2).

The camera looks down -z from +z with +y up, so a mesh already in the view
frame (x right, y up, z towards the camera) is drawn as the network sees it.
The visible square is ``[-h, h]^2`` world units with ``h`` the camera's
``parallel_scale``; pixel edges lie exactly on ``x = ±h`` and ``y = ±h`` and
pixel ``(row 0, col 0)`` is the top-left one, so ``a = b = 1 / h`` is what
:func:`svr_desktop.model.projection.project` needs to find every point of the
view on the image (``tests/test_render.py`` measures this end to end).

Every view draws a slightly different ``h`` (``0.55 * (1 + jitter)``) and a
random appearance from the caller's ``rng``: material (metallic greys, dark
oxide, brass/copper, painted colours), Phong settings, three lights and a
background (plain, gradient, noise).  The object is rendered on a transparent
background at ``supersample`` times the output size; the coverage mask of
that render composites the background in numpy, so the returned mask is the
exact silhouette and background pixels are exactly the background.
"""

from __future__ import annotations

import colorsys
import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvista as pv
import trimesh
from PIL import Image
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray
from vtkmodules.vtkRenderingCore import vtkActor, vtkLight, vtkPolyDataMapper

from ..geometry.frames import PADDED_HALF, Normalization, to_view_frame

#: Largest allowed relative jitter of the half-width: below ``0.55 * (1 - 0.09)``
#: a normalized shape (half-width 0.5) would touch the image border.
MAX_SCALE_JITTER = 0.09

#: Normals are split across edges sharper than this (degrees), so sharp CAD
#: edges stay crisp while cylinders and fillets shade smoothly.
FEATURE_ANGLE = 35.0


@dataclass(frozen=True)
class RenderedView:
    """One rendered view: the photo, its silhouette and its camera.

    ``image``: (H, W, 3) uint8; ``mask``: (H, W) bool, pixels at least half
    covered by the object; ``a``, ``b``: the projection parameters
    (``1 / half_width``); ``appearance``: JSON-serializable description of
    the draw (half-width, material, lights, background), enough to
    regenerate the background with :func:`make_background`.
    """

    image: np.ndarray
    mask: np.ndarray
    a: float
    b: float
    appearance: dict[str, Any]


# ---------------------------------------------------------------------------
# Appearance sampling
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


def _sample_background(rng: np.random.Generator) -> dict[str, Any]:
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


def sample_appearance(rng: np.random.Generator) -> dict[str, Any]:
    """Draw material, lights and background for one view (JSON-serializable).

    Backgrounds are redrawn (up to 20 times) while their mean luminance
    is too close to the part's typical shaded luminance, so that the part
    stays clearly visible.
    """
    material = _sample_material(rng)
    lights = _sample_lights(rng)
    part = 0.8 * _luminance(material["color"])
    for _ in range(20):
        background = _sample_background(rng)
        if abs(_luminance(np.mean(background["colors"], axis=0)) - part) >= _MIN_CONTRAST:
            break
    return {"material": material, "lights": lights, "background": background}


# ---------------------------------------------------------------------------
# Backgrounds
# ---------------------------------------------------------------------------


def _upsample(values: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(values.astype(np.float32)).resize((size, size), Image.BICUBIC))


def make_background(spec: dict[str, Any], size: int) -> np.ndarray:
    """The (size, size, 3) uint8 background that ``spec`` describes.

    ``plain``: one colour; ``gradient``: from ``colors[0]`` to ``colors[1]``
    along ``angle_deg`` (90 = top to bottom); ``noise``: fractal value noise
    with ``cells`` cells across at the coarsest octave, blending the two
    colours, plus per-pixel grey grain of standard deviation ``grain``; fully
    determined by ``seed``.
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
    else:
        raise ValueError(f"unknown background kind {spec['kind']!r}")
    t = np.clip(t, 0.0, 1.0)[..., None]
    rgb = colours[0] * (1.0 - t) + colours[-1] * t
    if spec["kind"] == "noise":
        rgb = rgb + spec["grain"] * rng.standard_normal((size, size, 1))
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


# ---------------------------------------------------------------------------
# Renderer
# ---------------------------------------------------------------------------


def _prefer_egl_without_display() -> None:
    """On Linux without an X display, ask VTK for its EGL window straight away.

    VTK otherwise tries X first, prints "bad X server connection" on every
    renderer it creates, and only then falls back to EGL. With a display
    (the GUI, Xvfb) nothing changes; an explicit choice by the user wins.
    """
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


class Renderer:
    """Renders view-frame meshes as product photos with one reused off-screen plotter.

    ``image_size``: output side in pixels; ``scale_jitter``: relative range of
    the per-view half-width jitter (``h = 0.55 * (1 + U(-j, j))``), at most
    :data:`MAX_SCALE_JITTER`; ``supersample``: the object is rendered at this
    many times the output size and averaged down (anti-aliasing whose
    coverage is known exactly; 1 renders one sample at each pixel centre).
    Not thread-safe; close it (or use it as a context manager) when done.
    """

    def __init__(self, image_size: int = 224, scale_jitter: float = 0.05, supersample: int = 2):
        if not 0.0 <= scale_jitter <= MAX_SCALE_JITTER:
            raise ValueError(f"scale_jitter must be in [0, {MAX_SCALE_JITTER}], got {scale_jitter}")
        if image_size < 1 or supersample < 1:
            raise ValueError("image_size and supersample must be positive")
        self.image_size = int(image_size)
        self.scale_jitter = float(scale_jitter)
        self.supersample = int(supersample)
        side = self.image_size * self.supersample
        _prefer_egl_without_display()
        self._plotter = pv.Plotter(off_screen=True, window_size=(side, side), lighting="none")
        window = self._plotter.render_window
        window.SetMultiSamples(0)  # coverage comes from supersampling only
        window.SetAlphaBitPlanes(1)
        self._renderer = self._plotter.renderer
        self._renderer.SetBackground(0.0, 0.0, 0.0)
        self._renderer.SetBackgroundAlpha(0.0)
        self._renderer.SetAutomaticLightCreation(False)
        self._renderer.RemoveAllLights()
        self._mapper = vtkPolyDataMapper()
        self._mapper.ScalarVisibilityOff()
        self._actor = vtkActor()
        self._actor.SetMapper(self._mapper)
        self._renderer.AddActor(self._actor)
        camera = self._renderer.GetActiveCamera()
        camera.ParallelProjectionOn()
        camera.SetFocalPoint(0.0, 0.0, 0.0)
        camera.SetViewUp(0.0, 1.0, 0.0)
        self._camera = camera

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release the plotter and its OpenGL context (idempotent)."""
        if self._plotter is not None:
            self._plotter.close()
            self._plotter = None

    def render(self, view_mesh: trimesh.Trimesh, rng: np.random.Generator) -> RenderedView:
        """Render ``view_mesh`` (view frame) with a jittered scale and a random appearance."""
        if self._plotter is None:
            raise RuntimeError("the renderer is closed")
        half_width = PADDED_HALF * (1.0 + rng.uniform(-self.scale_jitter, self.scale_jitter))
        appearance = {"half_width": float(half_width), **sample_appearance(rng)}
        colour, coverage = self._draw(view_mesh, half_width, appearance)
        background = make_background(appearance["background"], self.image_size).astype(np.float64)
        image = colour + (1.0 - coverage[..., None]) * background
        return RenderedView(
            image=np.round(image).clip(0, 255).astype(np.uint8),
            mask=coverage >= 0.5,
            a=1.0 / half_width,
            b=1.0 / half_width,
            appearance=appearance,
        )

    def _draw(
        self, view_mesh: trimesh.Trimesh, half_width: float, appearance: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Premultiplied object colour (0..255 floats) and coverage in [0, 1], at output size."""
        poly = pv.PolyData.from_regular_faces(
            np.asarray(view_mesh.vertices, dtype=np.float64), np.asarray(view_mesh.faces, dtype=np.int64)
        ).compute_normals(
            feature_angle=FEATURE_ANGLE,
            split_vertices=True,
            consistent_normals=False,
            auto_orient_normals=False,
            cell_normals=False,
        )
        self._mapper.SetInputData(poly)

        material = appearance["material"]
        prop = self._actor.GetProperty()
        prop.SetInterpolationToPhong()
        prop.SetColor(*material["color"])
        prop.SetAmbient(material["ambient"])
        prop.SetDiffuse(material["diffuse"])
        prop.SetSpecular(material["specular"])
        prop.SetSpecularPower(material["specular_power"])
        prop.SetSpecularColor(*material["specular_color"])

        self._renderer.RemoveAllLights()
        for spec in appearance["lights"]:
            light = vtkLight()
            light.SetLightTypeToSceneLight()
            light.PositionalOn()
            light.SetConeAngle(180.0)  # a point light, not a spot
            light.SetFocalPoint(0.0, 0.0, 0.0)
            light.SetPosition(*spec["position"])
            light.SetIntensity(spec["intensity"])
            light.SetColor(*spec["color"])
            self._renderer.AddLight(light)

        # Camera on +z beyond the mesh, clipping range around the whole mesh.
        z_lo, z_hi = (float(v) for v in view_mesh.bounds[:, 2])
        self._camera.SetPosition(0.0, 0.0, z_hi + 1.0)
        self._camera.SetParallelScale(half_width)
        self._camera.SetClippingRange(0.5, z_hi - z_lo + 1.5)

        window = self._plotter.render_window
        window.Render()
        side = self.image_size * self.supersample
        pixels = vtkUnsignedCharArray()
        window.GetRGBACharPixelData(0, 0, side - 1, side - 1, 0, pixels)
        rgba = vtk_to_numpy(pixels).reshape(side, side, 4)[::-1]  # OpenGL rows grow upwards
        covered = rgba[..., 3] > 0
        premultiplied = np.where(covered[..., None], rgba[..., :3], 0).astype(np.uint16)
        s = self.supersample
        # Box filter over each s x s block of samples (sums of strided views are fast).
        colour = sum(premultiplied[i::s, j::s] for i in range(s) for j in range(s)) / s**2
        coverage = sum(covered[i::s, j::s].astype(np.uint16) for i in range(s) for j in range(s)) / s**2
        return colour, coverage


def render_object(
    mesh: trimesh.Trimesh, rotation: np.ndarray, rng: np.random.Generator, renderer: Renderer
) -> tuple[trimesh.Trimesh, Normalization, RenderedView]:
    """Rotate a normalized object-frame mesh into a view and render it.

    Returns the view-frame mesh, the normalization that maps *rotated*
    object-frame points into the view frame (see
    :func:`~svr_desktop.geometry.frames.to_view_frame`) and the rendered view.
    """
    view_mesh, normalization = to_view_frame(mesh, rotation)
    return view_mesh, normalization, renderer.render(view_mesh, rng)
