"""Make ``docs/images/viewer_heat_map.png``: the 3D view with the bounding box in mm and a heat map.

Reconstructs the flange sample photo with the shipped model, gives it a known
size (longest side 120 mm), turns on the bounding box with its three
dimension labels, and colours it by each vertex's distance to the true
flange (``resources/samples/flange.stl``, aligned as the Compare dock
aligns it), so that the heat-map legend shows inside the view.

    xvfb-run -a python docs/make_viewer_screenshot.py [--resolution 128]
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
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.inference.settings import ReconstructionSettings
from svr_desktop.paths import default_model_path, resources_dir
from svr_desktop.progress import run_to_completion

LONGEST_SIDE_MM = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--out", type=Path, default=Path("docs/images/viewer_heat_map.png"))
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])

    samples = resources_dir() / "samples"
    reconstructor = Reconstructor.from_checkpoint(default_model_path(), "cpu")
    mesh, _, _ = run_to_completion(
        reconstructor.reconstruct_photo(samples / "flange_studio.png", settings=ReconstructionSettings(resolution=args.resolution))
    )
    comparison = run_to_completion(compare_to_ground_truth(mesh, load_mesh(samples / "flange.stl")))
    mm_per_unit = LONGEST_SIDE_MM / float(max(mesh.extents))

    viewer = MeshViewer()
    viewer.resize(900, 640)
    viewer.show()
    app.processEvents()
    viewer.box_action.setChecked(True)
    viewer.show_mesh(mesh, mm_per_unit, view="iso")
    distance_mm = comparison.vertex_distance * comparison.mm_per_shared_unit(mm_per_unit)
    viewer.set_mesh_scalars(distance_mm, heat_map_title("mm"))
    Image.fromarray(viewer.render_image()).save(args.out)
    viewer.shutdown()
    print(args.out)


if __name__ == "__main__":
    main()
