"""Make ``docs/images/compare_panel.png``: the Compare dock with a real reconstruction, in millimetres.

Renders one view of a dev mesh as the data-set builder does, reconstructs it
with the shipped model, and shows the Compare dock next to the 3D viewer
with that mesh as the ground truth and a known size (longest side 120 mm):
the metrics in mm, the ground truth as a translucent surface, edge points,
and the ICP finding; then a second image with an unrelated reference, where
the dock warns that it may not be the reconstructed part.

    xvfb-run -a python docs/make_compare_screenshot.py [--meshes /work/shared/dev-meshes] [--mesh 1] [--wrong 8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication, QMainWindow

from svr_desktop.evaluation.views import render_mesh_folder
from svr_desktop.gui.compare_panel import ComparePanel
from svr_desktop.gui.script import grab_window
from svr_desktop.gui.viewer import MeshViewer
from svr_desktop.inference.export import ExportUnits
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.inference.settings import ReconstructionSettings
from svr_desktop.paths import default_model_path
from svr_desktop.progress import run_to_completion

IMAGES = Path(__file__).parent / "images"


def wait_for_result(app: QApplication, panel: ComparePanel) -> None:
    while panel.result is None:
        app.processEvents()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meshes", type=Path, default=Path("/work/shared/dev-meshes"))
    parser.add_argument("--mesh", type=int, default=1, help="index of the reconstructed mesh in the folder")
    parser.add_argument("--wrong", type=int, default=8, help="index of the unrelated reference")
    parser.add_argument("--resolution", type=int, default=128)
    args = parser.parse_args()

    app = QApplication(sys.argv)
    QCoreApplication.setOrganizationName("SVR Desktop docs")
    views = run_to_completion(render_mesh_folder(args.meshes, shapes=max(args.mesh, args.wrong) + 1)).views
    view, wrong = views[args.mesh], views[args.wrong]
    reconstructor = Reconstructor.from_checkpoint(default_model_path(), "cpu")
    settings = ReconstructionSettings(resolution=args.resolution)
    mesh, _ = run_to_completion(reconstructor.reconstruct_input(view.image, view.a, view.b, settings))

    window = QMainWindow()
    viewer = MeshViewer()
    window.setCentralWidget(viewer)
    panel = ComparePanel(viewer)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, panel)
    window.resize(1400, 820)
    window.show()
    mm_per_unit = ExportUnits.from_dimension("longest", 120.0).scale_for(mesh)
    viewer.show_mesh(mesh, mm_per_unit)
    panel.set_mm_per_unit(mm_per_unit)
    panel._set_ground_truth(view.ground_truth, f"{Path(view.shape).name} (this view)")
    panel.set_reconstruction(mesh)
    wait_for_result(app, panel)
    panel.refine_check.setChecked(True)
    wait_for_result(app, panel)
    grab_window(window).save(str(IMAGES / "compare_panel.png"))

    panel._set_ground_truth(wrong.ground_truth, f"{Path(wrong.shape).name} (another part)")
    wait_for_result(app, panel)
    grab_window(window).save(str(IMAGES / "compare_panel_mismatch.png"))
    viewer.shutdown()


if __name__ == "__main__":
    main()
