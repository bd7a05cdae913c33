"""Render the part-family contact sheet ``docs/images/parts_contact_sheet.png``.

Every family gets a strip of random samples (seeds 0..k-1, each a fresh
``np.random.default_rng(seed)``), rendered off-screen with pyvista and
labelled with the family name; strips are laid out ``--per-row`` to a row.
Run from the repository root:

    .venv/bin/python docs/make_parts_contact_sheet.py [--samples 4] [--per-row 2] \
        [--families flange spur_gear] [--out path.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyvista as pv
from PIL import Image, ImageDraw, ImageFont

from svr_desktop.data.parts import family_names, generate_part

pv.OFF_SCREEN = True

CELL = 220
LABEL = 20
DEFAULT_OUT = Path(__file__).parent / "images" / "parts_contact_sheet.png"


def render_cell(plotter: pv.Plotter, mesh) -> Image.Image:
    """Render one mesh from an isometric viewpoint into a CELL x CELL image."""
    plotter.clear_actors()
    plotter.add_mesh(pv.wrap(mesh), color="#b8c4cf", smooth_shading=False,
                     specular=0.3, show_edges=False)
    plotter.view_vector((1.0, -1.3, 0.9), viewup=(0.0, 0.0, 1.0))
    plotter.reset_camera()
    plotter.camera.zoom(1.05)
    return Image.fromarray(plotter.screenshot(return_img=True))


def make_sheet(families: list[str], samples: int, per_row: int, out: Path) -> None:
    """Render ``samples`` parts of each family into a labelled grid saved to ``out``."""
    plotter = pv.Plotter(off_screen=True, window_size=(CELL, CELL))
    plotter.set_background("white")
    rows = -(-len(families) // per_row)
    sheet = Image.new("RGB", (per_row * samples * CELL, rows * (CELL + LABEL)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=16)
    for index, name in enumerate(families):
        x0 = (index % per_row) * samples * CELL
        y0 = (index // per_row) * (CELL + LABEL)
        draw.text((x0 + 6, y0 + 2), name, fill="black", font=font)
        for seed in range(samples):
            part = generate_part(name, np.random.default_rng(seed))
            sheet.paste(render_cell(plotter, part.mesh), (x0 + seed * CELL, y0 + LABEL))
    plotter.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4, help="samples per family")
    parser.add_argument("--per-row", type=int, default=2, help="families per row")
    parser.add_argument("--families", nargs="*", default=None, help="default: all")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    make_sheet(args.families or family_names(), args.samples, args.per_row, args.out)


if __name__ == "__main__":
    main()
