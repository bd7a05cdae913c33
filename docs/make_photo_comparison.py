"""Make ``docs/images/photo_style_vs_benchmark.png``: photo-style renders above path-traced photos.

Top row: the project's renderer in the photo style (``Renderer(style="photo")``,
what data sets are built from) on dev meshes; bottom row: the path-traced
benchmark photographs of ``benchmarks/photo_set`` (Mitsuba 3, a renderer the
project does not train on), so the two can be compared by eye.

    python docs/make_photo_comparison.py [--bench /work/data/photo-bench] [--meshes /work/shared/dev-meshes] [--seed 3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

from make_render_examples import MESHES
from svr_desktop.data.render import Renderer, render_object
from svr_desktop.geometry.frames import normalize_mesh, random_rotation

TILE = 192


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=Path("/work/data/photo-bench"))
    parser.add_argument("--meshes", type=Path, default=Path("/work/shared/dev-meshes"))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--columns", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images" / "photo_style_vs_benchmark.png")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    ours = []
    with Renderer(image_size=TILE * 2, style="photo") as renderer:
        for i in range(args.columns):
            mesh = normalize_mesh(trimesh.load(args.meshes / MESHES[i % len(MESHES)], force="mesh"))[0]
            _, _, view = render_object(mesh, random_rotation(rng), rng, renderer, renderer.draw_session(rng))
            ours.append(Image.fromarray(view.image).resize((TILE, TILE), Image.LANCZOS))
    photos = sorted((args.bench / "images").glob("*.png"))
    picks = np.linspace(0, len(photos) - 1, args.columns).round().astype(int)
    theirs = [Image.open(photos[i]).convert("RGB").resize((TILE, TILE), Image.LANCZOS) for i in picks]
    sheet = Image.new("RGB", (args.columns * TILE, 2 * TILE), "white")
    for column, (top, bottom) in enumerate(zip(ours, theirs)):
        sheet.paste(top, (column * TILE, 0))
        sheet.paste(bottom, (column * TILE, TILE))
    sheet.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
