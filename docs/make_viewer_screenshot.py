"""Make the 3D view's screenshots in ``docs/images``.

``viewer_heat_map.png``: reconstructs the flange sample photo with the
shipped model, gives it a known size (longest side 120 mm), turns on the
bounding box with its three dimension labels, and colours it by each
vertex's distance to the true flange (``resources/samples/flange.stl``,
aligned as the Compare dock aligns it), so that the heat-map legend shows
inside the view.

``viewer_edges_large.png`` (``--edges``): the same photo at 256^3, a mesh of
several hundred thousand faces, drawn as the application draws it (through
the lighter display copy) with Edges on: the shading stays readable.

    xvfb-run -a python docs/make_viewer_screenshot.py [--resolution 128]
    xvfb-run -a python docs/make_viewer_screenshot.py --edges
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QApplication

from svr_desktop.geometry.alignment import compare_to_ground_truth
from svr_desktop.geometry.mesh_io import load_mesh
from svr_desktop.gui.compare_panel import heat_map_title
from svr_desktop.gui.viewer import MeshViewer
from svr_desktop.inference.display import display_mesh
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.inference.settings import ReconstructionSettings
from svr_desktop.paths import default_model_path, resources_dir
from svr_desktop.progress import run_to_completion

LONGEST_SIDE_MM = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=None, help="default 128, or 256 with --edges")
    parser.add_argument("--edges", action="store_true", help="a large mesh with Edges on, instead of the heat map")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    resolution = args.resolution or (256 if args.edges else 128)
    out = args.out or Path("docs/images") / ("viewer_edges_large.png" if args.edges else "viewer_heat_map.png")
    app = QApplication.instance() or QApplication([])

    samples = resources_dir() / "samples"
    reconstructor = Reconstructor.from_checkpoint(default_model_path(), "cpu")
    mesh, _, _ = run_to_completion(
        reconstructor.reconstruct_photo(samples / "flange_studio.png", settings=ReconstructionSettings(resolution=resolution))
    )
    mm_per_unit = LONGEST_SIDE_MM / float(max(mesh.extents))

    viewer = MeshViewer()
    viewer.resize(900, 640)
    viewer.show()
    app.processEvents()
    viewer.box_action.setChecked(True)
    if args.edges:
        viewer.edges_action.setChecked(True)
        viewer.show_mesh(mesh, mm_per_unit, view="iso", display=display_mesh(mesh))
        print(f"{len(mesh.faces):,} faces, shown with {viewer.drawn_faces:,}")
    else:
        viewer.show_mesh(mesh, mm_per_unit, view="iso")
        comparison = run_to_completion(compare_to_ground_truth(mesh, load_mesh(samples / "flange.stl")))
        distance_mm = comparison.vertex_distance * comparison.mm_per_shared_unit(mm_per_unit)
        viewer.set_mesh_scalars(distance_mm, heat_map_title("mm"))
    Image.fromarray(viewer.render_image()).save(out)
    viewer.shutdown()
    print(out)


if __name__ == "__main__":
    main()
