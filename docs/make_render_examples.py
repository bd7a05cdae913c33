"""Make ``docs/images/render_examples.png``: a grid of renderer outputs.

Renders random views of a few development meshes (``/work/shared/dev-meshes``
by default) with :class:`svr_desktop.data.render.Renderer`, to show the
camera framing and the range of materials, lights and backgrounds.  Every
part gets its own photo session (environment map), as in a data-set build.

    python docs/make_render_examples.py [--style studio|photo] [--meshes DIR] [--out PATH] [--seed N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

from svr_desktop.data.build_settings import STYLES
from svr_desktop.data.render import Renderer, render_object
from svr_desktop.geometry.frames import normalize_mesh, random_rotation

MESHES = (
    "igym__industreal_gear_large.ply",
    "trimesh__featuretype.STL",
    "kuka__kr10r900_2_link_5.stl",
    "trimesh__plate_holes.STL",
    "igym__allegro_mount.stl",
    "trimesh__idler_riser.STL",
    "kuka__kr3r540_link_5.stl",
    "trimesh__octagonal_pocket.stl",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meshes", type=Path, default=Path("/work/shared/dev-meshes"))
    parser.add_argument("--style", choices=STYLES, default="studio")
    parser.add_argument("--out", type=Path, default=None, help="default: images/render_examples[_photo].png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--columns", type=int, default=4)
    parser.add_argument("--rows", type=int, default=3)
    args = parser.parse_args()
    suffix = "" if args.style == "studio" else f"_{args.style}"
    out = args.out or Path(__file__).parent / "images" / f"render_examples{suffix}.png"

    rng = np.random.default_rng(args.seed)
    tiles, seconds = [], []
    with Renderer(style=args.style) as renderer:
        for i in range(args.columns * args.rows):
            mesh = trimesh.load(args.meshes / MESHES[i % len(MESHES)], force="mesh")
            mesh, _ = normalize_mesh(mesh)
            start = time.perf_counter()
            environment = renderer.draw_session(rng)
            _, _, view = render_object(mesh, random_rotation(rng), rng, renderer, environment)
            seconds.append(time.perf_counter() - start)
            tiles.append(view.image)
    size = tiles[0].shape[0]
    grid = np.zeros((args.rows * size, args.columns * size, 3), dtype=np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, args.columns)
        grid[r * size : (r + 1) * size, c * size : (c + 1) * size] = tile
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(out)
    print(f"wrote {out}; {np.mean(seconds[1:]) * 1000:.0f} ms per view after the first")


if __name__ == "__main__":
    main()
