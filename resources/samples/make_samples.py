"""Regenerate the sample "product photos" in ``resources/samples/`` (deterministic).

Each sample is a part rendered with the project's own
:class:`svr_desktop.data.render.Renderer` (so the reconstruction method sees a
part like those it was trained on) and composited off-centre into a 640 x 480
"photo": a studio sweep, paper, a cutting mat, a dark slate, a gradient, a
cluttered work bench or a transparent background, with a soft contact shadow,
vignetting and a little sensor noise.  The parts are procedural
(:func:`svr_desktop.data.parts.generate_part`) or development meshes from
``/work/shared/dev-meshes`` (MIT / BSD-3-Clause / Apache-2.0; see README.md).

    python resources/samples/make_samples.py [--meshes DIR] [--out DIR]
    python resources/samples/make_samples.py --check   # background removal vs the true masks

``--check`` runs :func:`svr_desktop.inference.preprocess.prepare_photo` on
the written files and prints the silhouette IoU against the exact masks and
the time taken (the numbers quoted in README.md).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import trimesh
from PIL import Image

from svr_desktop.data.parts import generate_part
from svr_desktop.data.render import Renderer
from svr_desktop.geometry.frames import normalize_mesh, random_rotation, to_view_frame
from svr_desktop.geometry.mesh_io import load_mesh

CANVAS = (480, 640)  # rows, columns
#: Parts are rendered at this side, one sample per pixel, and averaged down to
#: their size in the photo (about 3x smaller): exact soft edges with no
#: renderer background mixed into them.
RENDER_SIDE = 960


@dataclass(frozen=True)
class Sample:
    """One sample photo.

    ``source``: ``"family:params_seed"`` for a generated part or a dev-mesh
    file name; ``rotation_seed``: seed of :func:`random_rotation`;
    ``appearance_seed``: seed of the renderer's material / lights draw;
    ``backdrop``: one of :data:`BACKDROPS` or ``"transparent"``;
    ``size``: side of the rendered square in photo pixels (the silhouette
    spans at most 0.91 of it); ``centre``: where that square's centre goes,
    as fractions of the photo's width and height.
    """

    name: str
    source: str
    rotation_seed: int
    appearance_seed: int
    backdrop: str
    size: int
    centre: tuple[float, float]
    description: str


SAMPLES = (
    Sample("flange_studio", "flange:1", 2, 102, "studio", 300, (0.38, 0.52),
           "copper flange on a light studio sweep"),
    Sample("spur_gear_transparent", "spur_gear:2", 9, 109, "transparent", 280, (0.62, 0.45),
           "blue painted spur gear, transparent background (RGBA)"),
    Sample("l_bracket_workbench", "l_bracket:3", 3, 103, "workbench", 260, (0.66, 0.40),
           "dark steel angle bracket on a cluttered work bench"),
    Sample("pillow_block_slate", "pillow_block:4", 8, 108, "slate", 300, (0.40, 0.58),
           "brass pillow block on dark slate"),
    Sample("featuretype_cutting_mat", "trimesh__featuretype.STL", 1, 101, "cutting_mat", 300, (0.55, 0.50),
           "machined block with pockets and holes on a green cutting mat"),
    Sample("idler_riser_paper", "trimesh__idler_riser.STL", 10, 110, "paper", 280, (0.35, 0.45),
           "black idler riser bracket on white paper"),
    Sample("gear_large_gradient", "igym__industreal_gear_large.ply", 11, 111, "gradient", 300, (0.60, 0.55),
           "steel spur gear with hub on a blue-grey gradient"),
    Sample("kuka_link_workbench", "kuka__kr10r900_2_link_5.stl", 4, 104, "workbench", 270, (0.36, 0.56),
           "brass-coloured robot wrist link on a cluttered work bench"),
)


# ---------------------------------------------------------------------------
# Backdrops: (H, W, 3) float images in 0..255
# ---------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, cells: tuple[int, int]) -> np.ndarray:
    """Low-frequency noise in [0, 1] over the canvas (``cells`` = rows, columns)."""
    height, width = CANVAS
    return cv2.resize(rng.random(cells), (width, height), interpolation=cv2.INTER_CUBIC).clip(0.0, 1.0)


def _vertical(top, bottom) -> np.ndarray:
    t = np.linspace(0.0, 1.0, CANVAS[0])[:, None, None]
    return np.asarray(top, float) * (1.0 - t) + np.asarray(bottom, float) * t + np.zeros((1, CANVAS[1], 1))


def studio(rng: np.random.Generator, clear: np.ndarray) -> np.ndarray:
    return _vertical((238, 238, 240), (203, 204, 208))


def paper(rng: np.random.Generator, clear: np.ndarray) -> np.ndarray:
    fibres = cv2.GaussianBlur(rng.normal(0.0, 6.0, CANVAS), (0, 0), 0.8)
    return _vertical((243, 242, 238), (226, 225, 220)) + fibres[..., None]


def gradient(rng: np.random.Generator, clear: np.ndarray) -> np.ndarray:
    return _vertical((176, 186, 200), (104, 114, 134))


def slate(rng: np.random.Generator, clear: np.ndarray) -> np.ndarray:
    texture = 0.6 * _smooth_noise(rng, (5, 7)) + 0.4 * _smooth_noise(rng, (24, 32))
    grain = cv2.GaussianBlur(rng.normal(0.0, 5.0, CANVAS), (0, 0), 0.7)
    return (np.array([46.0, 49.0, 54.0]) + 28.0 * texture[..., None]) + grain[..., None]


def cutting_mat(rng: np.random.Generator, clear: np.ndarray) -> np.ndarray:
    image = np.array([38.0, 96.0, 76.0]) * (0.9 + 0.2 * _smooth_noise(rng, (4, 5)))[..., None]
    image = np.ascontiguousarray(image)
    pitch, offset = 22, (int(rng.integers(22)), int(rng.integers(22)))
    for k, x in enumerate(range(offset[0], CANVAS[1], pitch)):
        cv2.line(image, (x, 0), (x, CANVAS[0]), (120, 180, 150), 2 if k % 5 == 0 else 1, cv2.LINE_AA)
    for k, y in enumerate(range(offset[1], CANVAS[0], pitch)):
        cv2.line(image, (0, y), (CANVAS[1], y), (120, 180, 150), 2 if k % 5 == 0 else 1, cv2.LINE_AA)
    return image


def workbench(rng: np.random.Generator, clear: np.ndarray) -> np.ndarray:
    """Wooden bench top with tools, screws, washers, cables and pencil marks.

    Clutter stays off ``clear`` (the part and a margin round it): where
    clutter touches the part even a person would have to say which is which,
    and that is what the GUI's rectangle correction is for.
    """
    height, width = CANVAS
    wood = np.array([176.0, 140.0, 98.0]) * rng.uniform(0.85, 1.05)
    grain = cv2.GaussianBlur(cv2.resize(rng.random((height // 3, 5)), (width, height)), (0, 0), 1.2)
    t = (0.55 * _smooth_noise(rng, (4, 6)) + 0.45 * grain)[..., None]
    image = np.ascontiguousarray(wood * (0.82 + 0.25 * t))
    drawn = tries = 0
    while drawn < 20 and tries < 500:
        tries += 1
        layer = np.zeros(CANVAS, np.uint8)
        centre = (float(rng.uniform(0, width)), float(rng.uniform(0, height)))
        kind = ("tool", "screw", "washer", "cable", "pencil")[int(rng.integers(5))]
        if kind == "tool":  # handle or ruler
            box = cv2.boxPoints((centre, (rng.uniform(60, 200), rng.uniform(14, 34)), rng.uniform(0, 180)))
            cv2.fillPoly(layer, [box.astype(np.int32)], 255, cv2.LINE_AA)
            colour = rng.choice([(200, 40, 30), (230, 180, 30), (40, 60, 150), (190, 190, 185), (35, 35, 38)])
        elif kind == "screw":
            angle = rng.uniform(0, np.pi)
            tip = np.array(centre) + rng.uniform(18, 40) * np.array([np.cos(angle), np.sin(angle)])
            cv2.line(layer, tuple(int(v) for v in centre), tuple(int(v) for v in tip), 255, 4, cv2.LINE_AA)
            cv2.circle(layer, tuple(int(v) for v in centre), 6, 255, -1, cv2.LINE_AA)
            colour = (150, 150, 155)
        elif kind == "washer":
            radius = int(rng.uniform(7, 16))
            cv2.circle(layer, tuple(int(v) for v in centre), radius, 255, -1, cv2.LINE_AA)
            cv2.circle(layer, tuple(int(v) for v in centre), radius // 2, 0, -1, cv2.LINE_AA)
            colour = (165, 165, 160)
        elif kind == "cable":
            points = np.cumsum(rng.normal(0, 35, (7, 2)), axis=0) + centre
            cv2.polylines(layer, [points.astype(np.int32)], False, 255, int(rng.integers(3, 6)), cv2.LINE_AA)
            colour = rng.choice([(20, 20, 22), (30, 60, 160), (200, 60, 40)])
        else:
            end = np.array(centre) + rng.normal(0, 60, 2)
            cv2.line(layer, tuple(int(v) for v in centre), tuple(int(v) for v in end), 255, 1, cv2.LINE_AA)
            colour = (90, 80, 70)
        if (layer[clear] > 0).any():
            continue
        cover = layer[..., None] / 255.0
        image = image * (1.0 - cover) + np.asarray(colour, float) * cover
        drawn += 1
    return image


BACKDROPS = {f.__name__: f for f in (studio, paper, gradient, slate, cutting_mat, workbench)}


# ---------------------------------------------------------------------------
# Composition
# ---------------------------------------------------------------------------


def _mesh(source: str, meshes: Path) -> trimesh.Trimesh:
    if ":" in source:
        family, seed = source.split(":")
        return generate_part(family, np.random.default_rng(int(seed))).mesh
    return load_mesh(meshes / source)


def _render(sample: Sample, meshes: Path, renderer: Renderer) -> tuple[np.ndarray, np.ndarray]:
    """Premultiplied colour (size, size, 3) floats and coverage (size, size) in [0, 1]."""
    mesh, _ = normalize_mesh(_mesh(sample.source, meshes))
    view_mesh, _ = to_view_frame(mesh, random_rotation(np.random.default_rng(sample.rotation_seed)))
    view = renderer.render(view_mesh, np.random.default_rng(sample.appearance_seed))
    covered = view.mask.astype(np.float64)
    premultiplied = view.image * covered[..., None]
    size = (sample.size, sample.size)
    return (
        cv2.resize(premultiplied, size, interpolation=cv2.INTER_AREA),
        cv2.resize(covered, size, interpolation=cv2.INTER_AREA),
    )


def _place(image: np.ndarray, sample: Sample) -> np.ndarray:
    """Put a (size, size, ...) image onto a zero canvas at the sample's centre."""
    canvas = np.zeros(CANVAS + image.shape[2:], dtype=np.float64)
    top = round(sample.centre[1] * CANVAS[0] - sample.size / 2)
    left = round(sample.centre[0] * CANVAS[1] - sample.size / 2)
    canvas[top:top + sample.size, left:left + sample.size] = image
    return canvas


def compose(
    sample: Sample, colour: np.ndarray, coverage: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The sample photo (RGB, or RGBA for ``transparent``) and its true mask."""
    rng = np.random.default_rng(seed)
    colour, coverage = _place(colour, sample), _place(coverage, sample)
    if sample.backdrop == "transparent":
        rgb = np.where(coverage[..., None] > 0, colour / np.maximum(coverage, 1e-9)[..., None], 255.0)
        alpha = np.round(coverage * 255.0)
        return np.dstack([rgb, alpha]).round().clip(0, 255).astype(np.uint8), coverage >= 0.5
    clear = cv2.dilate((coverage > 0).astype(np.uint8), np.ones((31, 31), np.uint8)) > 0
    backdrop = BACKDROPS[sample.backdrop](rng, clear)
    # Soft contact shadow: the silhouette shifted down-right and blurred.
    shift = np.float32([[1, 0, 0.03 * sample.size], [0, 1, 0.05 * sample.size]])
    shadow = cv2.warpAffine(coverage, shift, (CANVAS[1], CANVAS[0]))
    shadow = cv2.GaussianBlur(shadow, (0, 0), 0.04 * sample.size)
    backdrop = backdrop * (1.0 - 0.3 * shadow)[..., None]
    photo = colour + (1.0 - coverage[..., None]) * backdrop
    # Camera: vignetting, a touch of lens softness and sensor noise.
    y, x = np.mgrid[0:CANVAS[0], 0:CANVAS[1]]
    r2 = ((x - CANVAS[1] / 2) / CANVAS[1]) ** 2 + ((y - CANVAS[0] / 2) / CANVAS[0]) ** 2
    photo = cv2.GaussianBlur(photo * (1.0 - 0.35 * r2)[..., None], (0, 0), 0.6)
    photo = photo + rng.normal(0.0, 1.0, photo.shape)
    return photo.round().clip(0, 255).astype(np.uint8), coverage >= 0.5


def build(meshes: Path) -> list[tuple[Sample, np.ndarray, np.ndarray]]:
    """Every sample's image and true mask."""
    out = []
    with Renderer(image_size=RENDER_SIDE, scale_jitter=0.0, supersample=1) as renderer:
        for index, sample in enumerate(SAMPLES):
            colour, coverage = _render(sample, meshes, renderer)
            image, mask = compose(sample, colour, coverage, seed=1000 + index)
            out.append((sample, image, mask))
    return out


def check(out_dir: Path, built: list[tuple[Sample, np.ndarray, np.ndarray]]) -> None:
    """Print background-removal IoU and time for every written sample.

    ``auto`` is :func:`prepare_photo` as a first-time user gets it; ``rect``
    forces GrabCut inside the true silhouette's box grown by 15 pixels, the
    rectangle a user would draw in the GUI to correct it.
    """
    from svr_desktop.inference.preprocess import load_photo, prepare_photo

    def iou(found: np.ndarray, truth: np.ndarray) -> float:
        return float((found & truth).sum() / (found | truth).sum())

    print(f"{'sample':26s} {'auto method':11s} {'IoU':>6s} {'time s':>7s} {'rect IoU':>9s} {'time s':>7s}")
    for sample, _, mask in built:
        start = time.perf_counter()
        auto = prepare_photo(out_dir / f"{sample.name}.png")
        auto_time = time.perf_counter() - start
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        rect = (cols[0] - 15, rows[0] - 15, cols[-1] - cols[0] + 31, rows[-1] - rows[0] + 31)
        photo = load_photo(out_dir / f"{sample.name}.png")
        start = time.perf_counter()
        corrected = prepare_photo(photo, background="grabcut", rect=rect)
        rect_time = time.perf_counter() - start
        print(
            f"{sample.name:26s} {auto.background_method:11s} "
            f"{iou(auto.photo_mask, mask):6.3f} {auto_time:7.2f} "
            f"{iou(corrected.photo_mask, mask):9.3f} {rect_time:7.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meshes", type=Path, default=Path("/work/shared/dev-meshes"))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--check", action="store_true", help="also measure background removal on the samples")
    args = parser.parse_args()
    built = build(args.meshes)
    args.out.mkdir(parents=True, exist_ok=True)
    for sample, image, _ in built:
        path = args.out / f"{sample.name}.png"
        Image.fromarray(image).save(path, optimize=True)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    if args.check:
        check(args.out, built)


if __name__ == "__main__":
    main()
