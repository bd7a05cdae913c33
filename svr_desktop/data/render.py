"""Orthographic product-photo renderer for view-frame meshes (DESIGN.md section 2).

The camera looks down -z from +z with +y up, so a mesh already in the view
frame (x right, y up, z towards the camera) is drawn as the network sees it.
The visible square is ``[-h, h]^2`` world units with ``h`` the camera's
``parallel_scale``; pixel edges lie exactly on ``x = ±h`` and ``y = ±h`` and
pixel ``(row 0, col 0)`` is the top-left one, so ``a = b = 1 / h`` is what
:func:`svr_desktop.model.projection.project` needs to find every point of the
view on the image (``tests/test_render.py`` measures this end to end).

Every view draws a slightly different ``h`` (``0.55 * (1 + jitter)``) and a
random appearance from the caller's ``rng`` in one of two styles
(:mod:`.appearance`): ``studio`` (Phong material, three point lights, a
plain/gradient/noise backdrop) or ``photo`` (PBR material lit by a studio
environment map as well, a ground with cast and contact shadows, workbench
textures, distractors and camera effects).  The object is rendered on a
transparent background at ``supersample`` times the output size; the
coverage of that render composites the ground in numpy, so the returned
mask is the exact silhouette whatever the style.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvista as pv
import trimesh
from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.vtkCommonCore import vtkUnsignedCharArray
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkRenderingCore import vtkActor, vtkLight, vtkPolyDataMapper, vtkTexture

from ..geometry.frames import PADDED_HALF, Normalization, to_view_frame
from .appearance import sample_photo_appearance, sample_studio_appearance
from .backgrounds import make_background
from .build_settings import STYLES
from .environment_maps import ENVIRONMENTS, environment_map
from .photo_effects import apply_camera, darken_midtones, draw_distractors, project_onto_ground, shade_ground

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
    the draw (style, half-width, material, lights, background, and for the
    photo style environment, ground, distractors and camera), enough to
    regenerate the background with :func:`.backgrounds.make_background`.
    """

    image: np.ndarray
    mask: np.ndarray
    a: float
    b: float
    appearance: dict[str, Any]


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


#: Environment prefiltering samples: VTK's default (512) takes 0.5 s per
#: new map on a CPU rasterizer; 128 takes 0.15 s and rough parts look the same.
_PREFILTER_SAMPLES = 128


class Renderer:
    """Renders view-frame meshes as product photos with one reused off-screen plotter.

    ``image_size``: output side in pixels; ``scale_jitter``: relative range of
    the per-view half-width jitter (``h = 0.55 * (1 + U(-j, j))``), at most
    :data:`MAX_SCALE_JITTER`; ``supersample``: the object is rendered at this
    many times the output size and averaged down (anti-aliasing whose
    coverage is known exactly; 1 renders one sample at each pixel centre);
    ``style``: ``studio`` or ``photo`` (see :mod:`.appearance`).
    Not thread-safe; close it (or use it as a context manager) when done.
    """

    def __init__(self, image_size: int = 224, scale_jitter: float = 0.05, supersample: int = 2, style: str = "studio"):
        if not 0.0 <= scale_jitter <= MAX_SCALE_JITTER:
            raise ValueError(f"scale_jitter must be in [0, {MAX_SCALE_JITTER}], got {scale_jitter}")
        if image_size < 1 or supersample < 1:
            raise ValueError("image_size and supersample must be positive")
        if style not in STYLES:
            raise ValueError(f"render style must be one of {', '.join(STYLES)}, got {style!r}")
        self.image_size = int(image_size)
        self.scale_jitter = float(scale_jitter)
        self.supersample = int(supersample)
        self.style = style
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
        self._renderer.GetEnvMapPrefiltered().SetPrefilterMaxSamples(_PREFILTER_SAMPLES)
        self._environment: int | None = None  # the map VTK has prefiltered now
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

    def draw_session(self, rng: np.random.Generator) -> int | None:
        """The environment map shared by the views of one part (None for the studio style).

        Switching maps costs a prefiltering pass, so the data-set builder
        draws one per part and passes it to every :meth:`render` of that part.
        """
        return int(rng.integers(ENVIRONMENTS)) if self.style == "photo" else None

    def render(self, view_mesh: trimesh.Trimesh, rng: np.random.Generator, environment: int | None = None) -> RenderedView:
        """Render ``view_mesh`` (view frame) with a jittered scale and a random appearance.

        ``environment``: the photo style's map for this view (see
        :meth:`draw_session`); None draws one.
        """
        if self._plotter is None:
            raise RuntimeError("the renderer is closed")
        half_width = PADDED_HALF * (1.0 + rng.uniform(-self.scale_jitter, self.scale_jitter))
        if self.style == "photo":
            appearance = {"half_width": float(half_width), **sample_photo_appearance(rng, environment)}
        else:
            appearance = {"half_width": float(half_width), **sample_studio_appearance(rng)}
        colour, coverage = self._draw(view_mesh, half_width, appearance)
        if self.style == "photo":
            colour = darken_midtones(colour, coverage, appearance["part_gamma"])
        background = make_background(appearance["background"], self.image_size).astype(np.float64)
        if self.style == "photo":
            background = self._photo_ground(view_mesh, half_width, appearance, background, coverage)
        image = colour + (1.0 - coverage[..., None]) * background
        if self.style == "photo":
            pixels = apply_camera(image, appearance["camera"])
        else:
            pixels = np.round(image).clip(0, 255).astype(np.uint8)
        return RenderedView(image=pixels, mask=coverage >= 0.5, a=1.0 / half_width, b=1.0 / half_width, appearance=appearance)

    def _photo_ground(
        self, view_mesh: trimesh.Trimesh, half_width: float, appearance: dict[str, Any], background: np.ndarray, coverage: np.ndarray
    ) -> np.ndarray:
        """The ground with the part's cast and contact shadows and the distractors drawn on it."""
        ground = appearance["ground"]
        light = np.asarray(appearance["lights"][0]["position"], dtype=np.float64)
        shadow_vertices = project_onto_ground(np.asarray(view_mesh.vertices, dtype=np.float64), ground["normal"], light)
        shadow = self._coverage(shadow_vertices, np.asarray(view_mesh.faces), half_width)
        background = shade_ground(background, shadow, coverage, ground)
        return draw_distractors(background, coverage >= 0.5, appearance["distractors"], light)

    def _set_environment(self, spec: dict[str, Any]) -> None:
        """Light the part with environment map ``spec['map']``, turned to ``spec['up']``, ``spec['right']``."""
        if self._environment != spec["map"]:
            radiance = environment_map(spec["map"])
            image = vtkImageData()
            image.SetDimensions(radiance.shape[1], radiance.shape[0], 1)
            # VTK images start at the bottom row.
            image.GetPointData().SetScalars(numpy_to_vtk(radiance[::-1].reshape(-1, 3), deep=1))
            texture = vtkTexture()
            texture.SetInputData(image)
            texture.SetColorModeToDirectScalars()  # else VTK maps float RGB through a lookup table (red only)
            texture.MipmapOn()
            texture.InterpolateOn()
            self._renderer.SetEnvironmentTexture(texture, False)
            self._environment = spec["map"]
        self._renderer.SetEnvironmentUp(*spec["up"])
        self._renderer.SetEnvironmentRight(*spec["right"])

    def _set_material(self, material: dict[str, Any]) -> None:
        prop = self._actor.GetProperty()
        prop.SetColor(*material["color"])
        if "metallic" in material:  # photo style: physically based
            prop.SetInterpolationToPBR()
            prop.SetMetallic(material["metallic"])
            prop.SetRoughness(material["roughness"])
            return
        prop.SetInterpolationToPhong()
        prop.SetAmbient(material["ambient"])
        prop.SetDiffuse(material["diffuse"])
        prop.SetSpecular(material["specular"])
        prop.SetSpecularPower(material["specular_power"])
        prop.SetSpecularColor(*material["specular_color"])

    def _set_lights(self, lights: list[dict[str, Any]]) -> None:
        self._renderer.RemoveAllLights()
        for spec in lights:
            light = vtkLight()
            light.SetLightTypeToSceneLight()
            light.PositionalOn()
            light.SetConeAngle(180.0)  # a point light, not a spot
            light.SetFocalPoint(0.0, 0.0, 0.0)
            light.SetPosition(*spec["position"])
            light.SetIntensity(spec["intensity"])
            light.SetColor(*spec["color"])
            self._renderer.AddLight(light)

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
        self._set_material(appearance["material"])
        self._set_lights(appearance["lights"])
        image_based = "environment" in appearance
        self._renderer.SetUseImageBasedLighting(image_based)
        if image_based:
            self._set_environment(appearance["environment"])
        return self._read_back(view_mesh.bounds[:, 2], half_width)

    def _coverage(self, vertices: np.ndarray, faces: np.ndarray, half_width: float) -> np.ndarray:
        """Coverage in [0, 1], at output size, of the triangles ``vertices[faces]`` seen from the camera."""
        self._mapper.SetInputData(pv.PolyData.from_regular_faces(vertices, faces.astype(np.int64)))
        z = vertices[:, 2]
        return self._read_back((float(z.min()), float(z.max())), half_width)[1]

    def _read_back(self, z_range, half_width: float) -> tuple[np.ndarray, np.ndarray]:
        """Render the mapper's input; premultiplied colour and coverage at output size."""
        # Camera on +z beyond the geometry, clipping range around all of it.
        z_lo, z_hi = (float(v) for v in z_range)
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
    mesh: trimesh.Trimesh,
    rotation: np.ndarray,
    rng: np.random.Generator,
    renderer: Renderer,
    environment: int | None = None,
) -> tuple[trimesh.Trimesh, Normalization, RenderedView]:
    """Rotate a normalized object-frame mesh into a view and render it.

    Returns the view-frame mesh, the normalization that maps *rotated*
    object-frame points into the view frame (see
    :func:`~svr_desktop.geometry.frames.to_view_frame`) and the rendered view.
    ``environment``: see :meth:`Renderer.render`.
    """
    view_mesh, normalization = to_view_frame(mesh, rotation)
    return view_mesh, normalization, renderer.render(view_mesh, rng, environment)
