"""Path-traced product photos of the benchmark views (step 2 of 2; Mitsuba environment).

Reads ``OUT/views.json`` and ``OUT/meshes/`` written by ``prepare_scenes.py``
and renders every view with Mitsuba 3 (``scalar_rgb``, CPU), a physically
based path tracer the project itself does not use, so that the photo path is
measured on images that no part of the project was tuned on.  Imports only
numpy, trimesh, Pillow and mitsuba: it runs in its own environment
(``benchmarks/photo_set/README.md``), not the project's.

Camera: orthographic, looking down -z of the view frame with +y up, showing
exactly ``[-h, h]^2`` (``h`` from ``views.json``), like
:class:`svr_desktop.data.render.Renderer`; so the true ``a = b = 1 / h``.
The part rests on a ground plane just behind it (a table seen from above),
which receives its shadows.  Drawn per image from seeded generators:

* the part's material: rough metal, brushed (anisotropic) metal, painted
  metal or dark plastic;
* lighting: a procedural HDR environment map (a sky-like gradient with a few
  soft boxes, written to ``env/`` as Radiance ``.hdr``; Mitsuba's EXR
  writer hangs with one render thread) plus a rectangular key light whose size
  sets how soft the shadows are;
* the ground: plain, lightly textured, dark (always with a dark part:
  dark-on-dark), or a workbench (wood or cutting-mat texture) with a few
  boxes and cylinders that never overlap the part's silhouette.  Background
  kinds and material kinds are spread evenly over the set.

Each image gets a mask pass: the part alone, no lights, 16 stratified
samples per pixel, box-filtered coverage from the film's alpha (the share
of a pixel's samples that hit the part); the mask is the pixels at least
half covered (the project renderer's rule).  Nothing ever stands between
the part and the camera, so this is the part's silhouette in the photo.

    /work/photo-env/bin/python benchmarks/photo_set/render_photo_set.py [--set /work/data/photo-bench] [--spp 32]

Output: ``images/<view>.png`` (8-bit sRGB), ``masks/<view>.png`` (0/255),
``env/``, ``textures/``, ``render-meshes/`` (inputs of the renders) and
``scenes.json``: every view of ``views.json`` with its image, mask,
material, lighting, ground and distractors.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import drjit as dr
import mitsuba as mi
import numpy as np
import trimesh
from PIL import Image, ImageDraw, ImageFilter

mi.set_variant("scalar_rgb")
T = mi.ScalarTransform4f

#: The camera sits this far up +z, far beyond any part (|z| <= 0.5).
CAMERA_Z = 5.0
#: Half-size of the square ground plane (covers the widest view, h <= 0.6).
GROUND_HALF = 1.0
#: Gap between the part's lowest point and the ground plane.
GROUND_GAP = 0.002
#: Least distance from the camera axis to the key light's edge (the view's corners are within 0.6 * sqrt(2)).
LIGHT_CLEARANCE = 0.9
#: Normals are split across sharper edges (degrees), like the project renderer does.
FEATURE_ANGLE = 35.0
#: Samples per pixel of the mask pass (stratified 4 x 4).
MASK_SPP = 16
#: Distractors keep at least this many pixels (at 512 px) away from the part's silhouette.
DISTRACTOR_MARGIN = 8

BACKGROUNDS = ("plain", "textured", "dark", "workbench")
MATERIALS = ("rough_metal", "brushed_metal", "painted_metal", "dark_plastic")
#: Industrial paint colours (sRGB in [0, 1]).
PAINTS = ((0.95, 0.75, 0.10), (0.90, 0.40, 0.08), (0.75, 0.12, 0.10), (0.12, 0.30, 0.65),
          (0.15, 0.50, 0.25), (0.90, 0.90, 0.88), (0.45, 0.47, 0.50), (0.12, 0.12, 0.13))
#: Mitsuba's measured conductors used for bare metal (aluminium, chromium, nickel, rhodium: light to mid greys).
METALS = ("Al", "Cr", "Ni_palik", "Rh")


def srgb_to_linear(c) -> list[float]:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).tolist()


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


# ---------------------------------------------------------------------------
# Procedural images: environment maps and ground textures
# ---------------------------------------------------------------------------


def value_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int, octaves: int = 4) -> np.ndarray:
    """Fractal value noise in [0, 1]: bicubic-upsampled random grids, halving amplitude per octave."""
    total, weight, amplitude = np.zeros(shape), 0.0, 1.0
    for _ in range(octaves):
        grid = Image.fromarray(rng.random((cells + 1, cells + 1)).astype(np.float32))
        total += amplitude * np.asarray(grid.resize(shape[::-1], Image.BICUBIC))
        weight += amplitude
        cells, amplitude = cells * 2, amplitude * 0.5
    total /= weight
    return (total - total.min()) / max(float(np.ptp(total)), 1e-9)


def irradiance_from_above(env: np.ndarray) -> float:
    """Luminance-weighted irradiance that an equirectangular map (+y up) sends onto an upward plane."""
    height, width = env.shape[:2]
    theta = (np.arange(height) + 0.5) / height * np.pi
    weight = np.clip(np.cos(theta), 0, None) * np.sin(theta) * (np.pi / height) * (2 * np.pi / width)
    return float(np.sum((env @ np.array([0.2126, 0.7152, 0.0722])) * weight[:, None]))


def environment_map(rng: np.random.Generator, width: int = 512) -> np.ndarray:
    """An (H, W, 3) linear-HDR equirectangular studio: gradient sky, soft boxes, a warm or cool tint.

    Mitsuba's convention: +y is up, rows go from the zenith to the nadir.
    """
    height = width // 2
    theta = (np.arange(height) + 0.5) / height * np.pi  # from +y
    phi = (np.arange(width) + 0.5) / width * 2 * np.pi
    theta, phi = np.meshgrid(theta, phi, indexing="ij")
    up = np.cos(theta)
    direction = np.stack([np.sin(theta) * np.sin(phi), up, -np.sin(theta) * np.cos(phi)], axis=-1)
    tint = np.array([1.0, 1.0, 1.0]) + rng.uniform(-0.08, 0.08) * np.array([1.0, 0.0, -1.0])
    sky = 0.25 + 0.75 * np.clip(up, 0.0, 1.0) ** 0.7
    sky = np.where(up > 0, sky, 0.12 + 0.1 * (1 + up))  # a dim floor below the horizon
    sky *= 0.85 + 0.3 * value_noise(rng, (height, width), 6)  # walls and fixtures, roughly
    radiance = sky[..., None] * tint
    for _ in range(int(rng.integers(2, 5))):  # soft boxes / windows in the upper hemisphere
        az, el = rng.uniform(0, 2 * np.pi), rng.uniform(np.radians(15), np.radians(80))
        centre = np.array([np.cos(el) * np.sin(az), np.sin(el), -np.cos(el) * np.cos(az)])
        spread = rng.uniform(0.08, 0.3)
        cosine = direction @ centre
        radiance += rng.uniform(3.0, 12.0) * np.exp((cosine - 1.0) / spread**2)[..., None]
    return radiance.astype(np.float32)


def wood_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """Planks of a wooden bench top: grain along x, per-plank tone, dark gaps between planks."""
    rows = np.arange(size)[:, None] / size
    cols = np.arange(size)[None, :] / size
    planks = int(rng.integers(3, 6))
    plank = np.floor(rows * planks).astype(int)
    warp = value_noise(rng, (size, size), 4)
    grain = 0.5 + 0.5 * np.sin((rows * planks * 18 + 3 * warp + 0.3 * cols) * 2 * np.pi)
    fine = value_noise(rng, (size, size), 64, octaves=2)
    base = srgb_to_linear([rng.uniform(0.55, 0.75), rng.uniform(0.38, 0.52), rng.uniform(0.22, 0.32)])
    tone = 0.8 + 0.4 * rng.random(planks)[plank]
    shade = tone * (0.78 + 0.14 * grain + 0.08 * fine)
    gap = np.abs(rows * planks - np.round(rows * planks)) * size / planks < 1.5
    shade = np.where(gap, 0.25, shade)
    return shade[..., None] * np.asarray(base)


def cutting_mat_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A green or grey cutting mat: a grid of thin light lines, heavier every fifth."""
    base = srgb_to_linear((0.12, 0.38, 0.25) if rng.random() < 0.6 else (0.25, 0.27, 0.3))
    pitch = size / rng.uniform(18, 30)
    offset = rng.uniform(0, pitch, 2)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    u, v = (cols + offset[0]) / pitch, (rows + offset[1]) / pitch
    line = np.minimum(np.abs(u - np.round(u)), np.abs(v - np.round(v))) * pitch < 0.8
    major = np.minimum(np.abs(u / 5 - np.round(u / 5)), np.abs(v / 5 - np.round(v / 5))) * pitch * 5 < 1.5
    shade = 1.0 + 0.05 * (value_noise(rng, (size, size), 16) - 0.5)
    colour = shade[..., None] * np.asarray(base)
    colour[line | major] = srgb_to_linear((0.75, 0.8, 0.75))
    return colour


def light_texture(rng: np.random.Generator, size: int, base: list[float], contrast: float) -> np.ndarray:
    """Paper, concrete or painted board: a base colour with low-contrast mottling and grain."""
    mottle = value_noise(rng, (size, size), int(rng.integers(4, 16)))
    grain = rng.standard_normal((size, size)) * 0.3 * contrast
    return np.clip((1.0 + contrast * (mottle - 0.5) + grain)[..., None] * np.asarray(base), 0.0, 1.0)


def write_texture(path: Path, linear: np.ndarray) -> None:
    Image.fromarray(np.round(linear_to_srgb(linear) * 255).astype(np.uint8)).save(path)


# ---------------------------------------------------------------------------
# Appearance drawing
# ---------------------------------------------------------------------------


def part_material(kind: str, rng: np.random.Generator, dark: bool = False) -> dict:
    """A JSON description of the part's material and its Mitsuba BSDF (``dark``: black paint)."""
    if kind == "rough_metal":
        metal = str(rng.choice(METALS))
        alpha = float(rng.uniform(0.12, 0.35))
        bsdf = {"type": "roughconductor", "material": metal, "distribution": "ggx", "alpha": alpha}
        return {"kind": kind, "metal": metal, "alpha": alpha, "bsdf": bsdf}
    if kind == "brushed_metal":
        metal = str(rng.choice(METALS))
        alpha_u, alpha_v = float(rng.uniform(0.03, 0.08)), float(rng.uniform(0.25, 0.45))
        bsdf = {"type": "roughconductor", "material": metal, "distribution": "ggx", "alpha_u": alpha_u, "alpha_v": alpha_v}
        return {"kind": kind, "metal": metal, "alpha_u": alpha_u, "alpha_v": alpha_v, "bsdf": bsdf}
    if kind == "painted_metal":
        paint = PAINTS[-1] if dark else PAINTS[int(rng.integers(len(PAINTS)))]
        colour = np.clip(np.asarray(paint) + rng.uniform(-0.05, 0.05, 3), 0, 1)
        roughness = float(rng.uniform(0.25, 0.55))
        bsdf = {"type": "principled", "base_color": {"type": "rgb", "value": srgb_to_linear(colour)},
                "roughness": roughness, "metallic": 0.0, "specular": 0.5}
        return {"kind": kind, "srgb": colour.round(3).tolist(), "roughness": roughness, "bsdf": bsdf}
    if kind == "dark_plastic":
        grey = float(rng.uniform(0.02, 0.07))
        alpha = float(rng.uniform(0.08, 0.3))
        bsdf = {"type": "roughplastic", "diffuse_reflectance": {"type": "rgb", "value": [grey] * 3},
                "alpha": alpha, "distribution": "ggx"}
        return {"kind": kind, "albedo": grey, "alpha": alpha, "bsdf": bsdf}
    raise ValueError(kind)


def ground_material(kind: str, rng: np.random.Generator, texture_path: Path, size: int = 1024) -> dict:
    """The ground's description and BSDF; textured grounds write their texture to ``texture_path``."""
    if kind == "plain":
        u = rng.random()
        srgb = [rng.uniform(0.75, 0.95)] * 3 if u < 0.5 else (
            [rng.uniform(0.35, 0.6)] * 3 if u < 0.75 else np.clip(rng.uniform(0.3, 0.9, 3), 0, 1).tolist())
        return {"kind": kind, "srgb": np.round(srgb, 3).tolist(),
                "bsdf": {"type": "diffuse", "reflectance": {"type": "rgb", "value": srgb_to_linear(srgb)}}}
    if kind == "dark":
        grey = float(rng.uniform(0.015, 0.05))
        bsdf = {"type": "roughplastic", "diffuse_reflectance": {"type": "rgb", "value": [grey] * 3},
                "alpha": float(rng.uniform(0.3, 0.6))}
        return {"kind": kind, "albedo": grey, "bsdf": bsdf}
    if kind == "textured":
        base = srgb_to_linear(np.clip(rng.uniform(0.55, 0.9) + rng.uniform(-0.04, 0.04, 3), 0, 1))
        linear, what = light_texture(rng, size, base, float(rng.uniform(0.08, 0.25))), "mottled"
    else:  # workbench
        what = "wood" if rng.random() < 0.6 else "cutting_mat"
        linear = wood_texture(rng, size) if what == "wood" else cutting_mat_texture(rng, size)
    write_texture(texture_path, linear)
    texture = {"type": "bitmap", "filename": str(texture_path)}
    bsdf = {"type": "principled", "base_color": texture, "roughness": float(rng.uniform(0.55, 0.85)), "specular": 0.4}
    return {"kind": kind, "texture": what, "bsdf": bsdf}


def key_light(rng: np.random.Generator, irradiance: float) -> dict:
    """A rectangular area light 20-55 degrees off the camera axis; smaller ones cast harder shadows.

    The light hangs between the camera and the table, so it is redrawn until
    it stays :data:`LIGHT_CLEARANCE` away from the camera axis: the camera
    would see its dark back otherwise.
    """
    while True:
        polar, azimuth = np.radians(rng.uniform(20, 55)), rng.uniform(0, 2 * np.pi)
        distance, side = float(rng.uniform(2.5, 4.0)), float(rng.uniform(0.15, 1.0))
        if distance * np.sin(polar) - side / np.sqrt(2) >= LIGHT_CLEARANCE:
            break
    position = distance * np.array([np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)])
    radiance = irradiance * distance**2 / side**2  # E ~ L * area / d^2 at the part
    spec = {"position": position.round(4).tolist(), "side": side, "radiance": radiance}
    spec["shape"] = {
        "type": "rectangle",
        "to_world": T().look_at(origin=position.tolist(), target=[0, 0, 0], up=[0, 0, 1])
        @ T().scale([side / 2, side / 2, 1]),
        "emitter": {"type": "area", "radiance": {"type": "rgb", "value": [radiance] * 3}},
    }
    return spec


def footprint(canvas: Image.Image, prop: dict, h: float, size: int) -> None:
    """Draw a distractor's top-view footprint onto a mode-"1" canvas (pixels of the photo)."""
    def pixel(x, y):
        return ((x + h) / (2 * h) * size, (h - y) / (2 * h) * size)
    draw = ImageDraw.Draw(canvas)
    x, y, angle = prop["x"], prop["y"], prop["angle"]
    if prop["kind"] == "standing_cylinder":
        (cx, cy), r = pixel(x, y), prop["radius"] / (2 * h) * size
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=1)
        return
    hx, hy = (prop["length"] / 2, prop["radius"]) if prop["kind"] == "lying_cylinder" else (prop["sx"], prop["sy"])
    c, s = math.cos(angle), math.sin(angle)
    corners = [(x + c * u - s * v, y + s * u + c * v) for u, v in ((-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy))]
    draw.polygon([pixel(*p) for p in corners], fill=1)


def distractor_shapes(prop: dict, z0: float, bsdf: dict) -> dict:
    """Mitsuba shapes of one distractor standing or lying on the ground at ``z = z0``."""
    x, y, angle = prop["x"], prop["y"], prop["angle"]
    if prop["kind"] == "box":
        to_world = T().translate([x, y, z0 + prop["sz"]]) @ T().rotate([0, 0, 1], math.degrees(angle)) @ T().scale([prop["sx"], prop["sy"], prop["sz"]])
        return {"box": {"type": "cube", "to_world": to_world, "bsdf": bsdf}}
    r = prop["radius"]
    if prop["kind"] == "standing_cylinder":
        top = [x, y, z0 + prop["height"]]
        return {"tube": {"type": "cylinder", "p0": [x, y, z0], "p1": top, "radius": r, "bsdf": bsdf},
                "cap": {"type": "disk", "to_world": T().translate(top) @ T().scale([r, r, 1]), "bsdf": bsdf}}
    axis = np.array([math.cos(angle), math.sin(angle), 0.0])
    centre = np.array([x, y, z0 + r])
    ends = [centre - axis * prop["length"] / 2, centre + axis * prop["length"] / 2]
    shapes = {"tube": {"type": "cylinder", "p0": ends[0].tolist(), "p1": ends[1].tolist(), "radius": r, "bsdf": bsdf}}
    for i, (end, outward) in enumerate(zip(ends, (-axis, axis))):
        shapes[f"cap{i}"] = {"type": "disk", "bsdf": bsdf, "to_world": T().look_at(
            origin=end.tolist(), target=(end + outward).tolist(), up=[0, 0, 1]) @ T().scale([r, r, 1])}
    return shapes


def place_distractors(rng: np.random.Generator, mask: np.ndarray, h: float, count: int) -> list[dict]:
    """Up to ``count`` boxes and cylinders whose footprints keep clear of the part and each other.

    Positions are drawn over the view (they may be cut by the frame, as on a
    real bench); a candidate is kept only if its footprint misses the part's
    mask dilated by :data:`DISTRACTOR_MARGIN` pixels and the props already placed.
    """
    size = mask.shape[0]
    grow = 2 * round(DISTRACTOR_MARGIN * size / 512) + 1
    taken = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(grow)).convert("1")
    props = []
    for _ in range(300):
        if len(props) == count:
            break
        kind = str(rng.choice(("box", "standing_cylinder", "lying_cylinder")))
        prop = {"kind": kind, "x": float(rng.uniform(-h, h)), "y": float(rng.uniform(-h, h)),
                "angle": float(rng.uniform(0, np.pi))}
        if kind == "box":
            prop.update(sx=float(rng.uniform(0.04, 0.15)), sy=float(rng.uniform(0.03, 0.1)), sz=float(rng.uniform(0.02, 0.12)))
        elif kind == "standing_cylinder":
            prop.update(radius=float(rng.uniform(0.03, 0.12)), height=float(rng.uniform(0.05, 0.3)))
        else:
            prop.update(radius=float(rng.uniform(0.008, 0.03)), length=float(rng.uniform(0.2, 0.6)))
        canvas = Image.new("1", (size, size))
        footprint(canvas, prop, h, size)
        drawn = np.asarray(canvas)
        if drawn.any() and not (drawn & np.asarray(taken)).any():
            props.append(prop)
            footprint(taken, prop, h, size)
    return props


def prop_material(rng: np.random.Generator) -> dict:
    u = rng.random()
    if u < 0.5:
        colour = np.clip(rng.uniform(0.05, 0.9, 3), 0, 1)
        return {"type": "roughplastic", "diffuse_reflectance": {"type": "rgb", "value": srgb_to_linear(colour)}, "alpha": 0.2}
    if u < 0.75:
        return {"type": "roughconductor", "material": str(rng.choice(METALS)), "alpha": float(rng.uniform(0.1, 0.4))}
    return {"type": "diffuse", "reflectance": {"type": "rgb", "value": srgb_to_linear([rng.uniform(0.2, 0.8)] * 3)}}


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


def sensor(h: float, size: int, spp: int, seed: int, rfilter: str, sampler: str) -> dict:
    """Orthographic camera on +z looking down -z, +y up, showing exactly ``[-h, h]^2``."""
    return {
        "type": "orthographic",
        "to_world": T().look_at(origin=[0, 0, CAMERA_Z], target=[0, 0, 0], up=[0, 1, 0]) @ T().scale([h, h, 1]),
        "near_clip": 0.1,
        "far_clip": 3 * CAMERA_Z,
        "film": {"type": "hdrfilm", "width": size, "height": size, "rfilter": {"type": rfilter}, "pixel_format": "rgba"},
        "sampler": {"type": sampler, "sample_count": spp, "seed": seed},
    }


def render_mesh(view_mesh: Path, out: Path) -> None:
    """The view-frame mesh with normals split at edges sharper than :data:`FEATURE_ANGLE`
    (flat CAD faces stay flat, cylinders shade smoothly), as a PLY with vertex normals.

    Texture coordinates are the vertices' ``(x, y)``: Mitsuba takes the
    tangent of anisotropic (brushed) metal from ``dp/du``, which a mesh
    without them gets from arbitrary triangle edges, so that every triangle
    would be brushed its own way.  The planar map brushes every face along
    the image's x; it degenerates only on faces seen edge-on.
    """
    mesh = trimesh.load(view_mesh, process=False)
    shaded = trimesh.graph.smooth_shade(mesh, angle=np.radians(FEATURE_ANGLE), facet_minarea=None)
    shaded.visual = trimesh.visual.TextureVisuals(uv=shaded.vertices[:, :2].copy())
    out.write_bytes(trimesh.exchange.ply.export_ply(shaded, vertex_normal=True))


def exposure_and_tonemap(linear: np.ndarray, exposure: float) -> np.ndarray:
    """Scale, roll highlights off above 0.8 (no hard clipping), sRGB-encode to uint8."""
    x = linear * exposure
    x = np.where(x < 0.8, x, 0.8 + 0.2 * (1.0 - np.exp(-(x - 0.8) / 0.2)))
    return np.round(linear_to_srgb(x) * 255).astype(np.uint8)


def render_view(view: dict, index: int, background: str, material_kind: str, root: Path, size: int, spp: int, seed: int) -> dict:
    """Render one view's mask and photo; returns its scenes.json record."""
    rng = np.random.default_rng([seed, 2, index])
    name, h = view["name"], view["half_width"]
    mesh_path = root / "render-meshes" / f"{name}.ply"
    render_mesh(root / view["view_mesh"], mesh_path)
    part_z0 = float(trimesh.load(root / view["view_mesh"], process=False).bounds[0, 2])

    start = time.perf_counter()
    part_only = {"type": "scene", "integrator": {"type": "direct"},  # alpha = hit or not
                 "sensor": sensor(h, size, MASK_SPP, seed, "box", "stratified"),
                 "part": {"type": "ply", "filename": str(mesh_path)}}
    coverage = np.asarray(mi.render(mi.load_dict(part_only)))[..., 3]
    mask = coverage >= 0.5

    material = part_material(material_kind, rng, dark=background == "dark")
    ground = ground_material(background, rng, root / "textures" / f"{name}.png")
    env_path = root / "env" / f"{name}.hdr"
    env_strength = float(rng.uniform(0.25, 0.8))
    env = environment_map(rng) * env_strength
    mi.Bitmap(env).write(str(env_path))
    env_turn = float(rng.uniform(0, 360))
    key = key_light(rng, irradiance=float(rng.uniform(2.0, 5.0)))
    z0 = part_z0 - GROUND_GAP
    scene = {
        "type": "scene",
        "integrator": {"type": "path", "max_depth": 8, "rr_depth": 5},
        "sensor": sensor(h, size, spp, seed + index, "gaussian", "independent"),
        "part": {"type": "ply", "filename": str(mesh_path), "bsdf": material["bsdf"]},
        "ground": {"type": "rectangle", "to_world": T().translate([0, 0, z0]) @ T().scale([GROUND_HALF, GROUND_HALF, 1]),
                   "bsdf": ground["bsdf"]},
        # The map's +y (its zenith) points at the camera: the table top faces the room's ceiling.
        "environment": {"type": "envmap", "filename": str(env_path),
                        "to_world": T().rotate([0, 0, 1], env_turn) @ T().rotate([1, 0, 0], 90)},
        "key": key["shape"],
    }
    props = place_distractors(rng, mask, h, int(rng.integers(2, 6))) if background == "workbench" else []
    for i, prop in enumerate(props):
        prop["material"] = prop_material(rng)
        for part, shape in distractor_shapes(prop, z0, prop["material"]).items():
            scene[f"prop{i}_{part}"] = shape
    linear = np.asarray(mi.render(mi.load_dict(scene)))[..., :3]
    # Expose for the light falling on the table: a perfectly white ground would read 0.8-1.1 (then rolled off).
    distance = float(np.linalg.norm(key["position"]))
    key_irradiance = key["radiance"] * key["side"] ** 2 / distance**2 * key["position"][2] / distance
    lit = (key_irradiance + irradiance_from_above(env)) / np.pi
    exposure = float(rng.uniform(0.8, 1.1) / lit)
    seconds = time.perf_counter() - start

    Image.fromarray(exposure_and_tonemap(linear, exposure)).save(root / "images" / f"{name}.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(root / "masks" / f"{name}.png")
    return {
        **view,
        "image": f"images/{name}.png",
        "mask": f"masks/{name}.png",
        "mask_fraction": round(float(mask.mean()), 5),
        "material": {k: v for k, v in material.items() if k != "bsdf"},
        "ground": {k: v for k, v in ground.items() if k != "bsdf"},
        "lights": {"environment": f"env/{name}.hdr", "environment_strength": env_strength, "environment_turn_deg": env_turn,
                   "key": {k: v for k, v in key.items() if k != "shape"}},
        "exposure": exposure,
        "distractors": [{k: v for k, v in p.items() if k != "material"} | {"material": p["material"]["type"]} for p in props],
        "render_seconds": round(seconds, 2),
    }


def balanced(kinds: tuple[str, ...], count: int, rng: np.random.Generator) -> list[str]:
    """``count`` kinds, each about equally often, in a seeded random order."""
    return [kinds[i] for i in rng.permutation(np.arange(count) % len(kinds))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=Path("/work/data/photo-bench"), help="folder of prepare_scenes.py's output")
    parser.add_argument("--size", type=int, default=512, help="image side in pixels (default 512)")
    parser.add_argument("--spp", type=int, default=32, help="path-tracing samples per pixel (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="render threads (default 1)")
    parser.add_argument("--only", nargs="+", default=None, help="re-render only these views and update their records in scenes.json")
    args = parser.parse_args()

    dr.set_thread_count(args.threads)
    root = args.set.resolve()
    spec = json.loads((root / "views.json").read_text())
    views, seed = spec["views"], int(spec["seed"])
    for folder in ("images", "masks", "env", "textures", "render-meshes"):
        (root / folder).mkdir(exist_ok=True)
    order = np.random.default_rng([seed, 3])
    backgrounds = balanced(BACKGROUNDS, len(views), order)
    materials = balanced(MATERIALS, len(views), order)
    previous = {}
    if args.only is not None:
        scenes = json.loads((root / "scenes.json").read_text())
        if (scenes["settings"]["size"], scenes["settings"]["spp"]) != (args.size, args.spp):
            raise SystemExit(f"--only: render with the set's --size {scenes['settings']['size']} --spp {scenes['settings']['spp']}")
        previous = {r["name"]: r for r in scenes["images"]}
    records = []
    for index, view in enumerate(views):
        if args.only is not None and view["name"] not in args.only:
            records.append(previous[view["name"]])
            continue
        # Dark-on-dark: a dark ground always gets a dark part.
        material = materials[index] if backgrounds[index] != "dark" else ("dark_plastic", "painted_metal")[index % 2]
        record = render_view(view, index, backgrounds[index], material, root, args.size, args.spp, seed)
        records.append(record)
        print(f"{view['name']:55s} {backgrounds[index]:9s} {record['material']['kind']:13s} "
              f"{len(record['distractors'])} props  {record['render_seconds']:6.1f} s", flush=True)
    seconds = round(sum(r["render_seconds"] for r in records), 1)
    settings = {"renderer": f"mitsuba {mi.__version__} scalar_rgb path tracer", "size": args.size, "spp": args.spp,
                "mask_spp": MASK_SPP, "seconds": seconds}
    (root / "scenes.json").write_text(json.dumps({"seed": seed, "settings": settings, "images": records}, indent=1))
    print(f"{len(records)} images, {seconds} s of rendering in all -> {root / 'scenes.json'}")


if __name__ == "__main__":
    main()
