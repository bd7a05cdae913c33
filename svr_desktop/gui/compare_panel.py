"""The comparison panel: a reconstruction against its ground truth, in numbers and on the model.

The ground truth comes from a mesh file, or from a view of a data set: then
it is the shape's mesh in that view's frame, and the view's image with its
``a, b`` is offered to the main window (``sample_chosen``) so that the user
can reconstruct exactly that view.  Whenever both meshes are there, the core
(:func:`~svr_desktop.geometry.alignment.compare_to_ground_truth`) aligns
them, with optional ICP refinement, and measures them on a worker thread;
the panel shows the metrics in a table and draws on the viewer: the aligned
ground truth as a translucent surface, edge points of both meshes in two
colours and, on request, a heat map of each reconstruction vertex's
distance to the ground truth.

A comparison takes tens of seconds, so each one is computed once per pair
of meshes and alignment and kept: the display toggles, the real size and
switching ICP back only redraw from the kept results.  Lengths are shown in
millimetres once the main window knows the part's real size
(:meth:`ComparePanel.set_mm_per_unit`), in normalized units otherwise.
Two findings of the core are stated beside the table: a ground truth that
does not look like the reconstructed part (a warning), and what ICP did to
the fit (it is applied only where it raised the IoU).

A point-cloud reconstruction (the ``pointcloud`` method) is compared as
``svr-desktop evaluate`` scores it
(:func:`~svr_desktop.geometry.alignment.compare_points_to_ground_truth`):
Chamfer-L1, F-score and EMD, with IoU, normal consistency and ECD "n/a"
(they need a surface), the ground truth's surface and edge points drawn over
the points; ICP and the heat map need a surface and are off.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import trimesh
from PySide6.QtCore import QCoreApplication, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..data.dataset_views import DatasetContents, dataset_contents, load_dataset_view
from ..geometry.alignment import GroundTruthComparison, compare_points_to_ground_truth, compare_to_ground_truth
from ..geometry.mesh_io import MESH_EXTENSIONS, MeshLoadError, load_solid_mesh
from ..geometry.metrics import NEEDS_SURFACE, MetricSettings
from .status_label import ERROR_STYLE, StatusLabel
from .worker import WorkerThread, start_work

GT_EDGES, RECONSTRUCTION_EDGES = "ground-truth edges", "reconstruction edges"
GT_COLOUR, RECONSTRUCTION_COLOUR = "#1a9850", "#d73027"  # green, red
#: The aligned ground truth drawn over the reconstruction (a viewer surface overlay).
GT_SURFACE = "ground truth"
NORMALIZED, MM = "normalized units", "mm"

#: Table rows: metric key (as in MeshComparison.as_dict), label, and whether it is a length.
METRIC_ROWS = (
    ("iou", "IoU", False),
    ("chamfer_l1", "Chamfer-L1", True),
    ("accuracy", "   accuracy (rec → GT)", True),
    ("completeness", "   completeness (GT → rec)", True),
    ("edge_chamfer", "Edge Chamfer (ECD)", True),
    ("fscore", "F-score", False),
    ("precision", "   precision", False),
    ("recall", "   recall", False),
    ("normal_consistency", "Normal consistency", False),
    ("emd", "EMD", True),
)


#: Why ICP and the heat map are off while the reconstruction is a point cloud.
NEEDS_A_SURFACE = "needs a reconstructed surface; a point cloud has none"


def format_metric(value: float, unit: str = NORMALIZED) -> str:
    """Four decimals, two for a length in mm (a hundredth of a millimetre); infinite (an empty
    mesh) and undefined (no edge points) in words."""
    if math.isnan(value):
        return "undefined"
    if math.isinf(value):
        return "∞"
    return f"{value:.2f}" if unit == MM else f"{value:.4f}"


def heat_map_title(unit: str) -> str:
    """The heat map's colour-bar title in the unit its values are in."""
    return f"distance to ground truth ({unit})"


class ComparePanel(QDockWidget):
    """Ground truth in (file or data-set view), metrics and overlays out."""

    sample_chosen = Signal(object, float, float, str)  # (S, S, 3) uint8 image of a data-set view, a, b, a name

    def __init__(self, viewer, parent: QWidget | None = None):
        super().__init__("Compare", parent)
        self.setObjectName("ComparePanel")
        self._viewer = viewer
        self.settings = MetricSettings()  # sample counts of the metrics (DESIGN.md section 3 by default)
        self._reconstruction: trimesh.Trimesh | trimesh.PointCloud | None = None
        self._ground_truth: trimesh.Trimesh | None = None
        self._contents: DatasetContents | None = None
        self._results: dict[bool, GroundTruthComparison] = {}  # per "ICP requested": computed for the current pair
        self._mm_per_unit: float | None = None  # mm per reconstruction unit, None without a known size
        self._heat_map_shown = False
        self._works: list[WorkerThread] = []  # kept until their threads end
        self._generation = 0  # only the latest comparison's result is shown
        self._build_ui()
        self._restore_settings()
        QCoreApplication.instance().aboutToQuit.connect(self._finish_work)

    # ------------------------------------------------------------ layout

    def _build_ui(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)

        gt_box = QGroupBox("Ground truth")
        gt_form = QFormLayout(gt_box)
        load_button = QPushButton("Load mesh file…")
        load_button.clicked.connect(self._choose_mesh_file)
        gt_form.addRow(load_button)
        self.dataset_edit = QLineEdit()
        self.dataset_edit.setReadOnly(True)
        self.dataset_edit.setPlaceholderText("or pick a view of a data set")
        browse = QPushButton("Data set…")
        browse.clicked.connect(self._choose_dataset)
        row = QHBoxLayout()
        row.addWidget(self.dataset_edit, stretch=1)
        row.addWidget(browse)
        gt_form.addRow("Data set", row)
        self.split_combo = QComboBox()
        self.split_combo.currentTextChanged.connect(self._fill_shapes)
        self.shape_combo = QComboBox()
        self.view_spin = QSpinBox()
        self.use_view_button = QPushButton("Use this view")
        self.use_view_button.setToolTip("Take this view's ground truth and load its image as the photo")
        self.use_view_button.clicked.connect(self.use_dataset_view)
        pick = QHBoxLayout()
        for widget in (self.split_combo, self.shape_combo, QLabel("view"), self.view_spin, self.use_view_button):
            pick.addWidget(widget)
        gt_form.addRow("", pick)
        self.gt_label = QLabel("No ground truth loaded.")
        gt_form.addRow(self.gt_label)
        layout.addWidget(gt_box)

        compare_box = QGroupBox("Comparison")
        compare_layout = QVBoxLayout(compare_box)
        self.refine_check = QCheckBox("Refine alignment (ICP)")
        self.refine_check.setToolTip(
            "After normalizing both meshes, try fitting the ground truth onto the reconstruction; "
            "the fit is kept only if it raises the IoU"
        )
        self.refine_check.toggled.connect(self._compare)
        self.surface_check = QCheckBox("Ground truth as a translucent surface")
        self.surface_check.setChecked(True)
        self.surface_check.toggled.connect(self._show_overlays)
        self.edges_check = QCheckBox("Edge points (green: ground truth, red: reconstruction)")
        self.edges_check.setChecked(True)
        self.edges_check.toggled.connect(self._show_overlays)
        self.heat_map_check = QCheckBox("Distance heat map on the reconstruction")
        self.heat_map_check.setToolTip("Colour the reconstruction by each vertex's distance to the ground truth")
        self.heat_map_check.toggled.connect(self._show_overlays)
        for check in (self.refine_check, self.heat_map_check):  # restored when a mesh follows a point cloud
            check.setProperty("surface tip", check.toolTip())
        for widget in (self.refine_check, self.surface_check, self.edges_check, self.heat_map_check):
            compare_layout.addWidget(widget)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        compare_layout.addWidget(self.progress)
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet(ERROR_STYLE + " font-weight: bold;")
        self.warning_label.setVisible(False)
        compare_layout.addWidget(self.warning_label)
        self.icp_label = QLabel()
        self.icp_label.setWordWrap(True)
        self.icp_label.setVisible(False)
        compare_layout.addWidget(self.icp_label)
        self.metrics_table = QTableWidget(len(METRIC_ROWS), 3)
        self.metrics_table.setHorizontalHeaderLabels(["Metric", "Value", "Units"])
        self.metrics_table.verticalHeader().setVisible(False)
        self.metrics_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.metrics_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.metrics_table.horizontalHeader().setStretchLastSection(True)
        for row, (key, label, _) in enumerate(METRIC_ROWS):
            name = QTableWidgetItem(label)
            name.setData(Qt.ItemDataRole.UserRole, key)
            self.metrics_table.setItem(row, 0, name)
            self.metrics_table.setItem(row, 1, QTableWidgetItem("–"))
            self.metrics_table.setItem(row, 2, QTableWidgetItem(""))
        self._fill_units()
        compare_layout.addWidget(self.metrics_table)
        layout.addWidget(compare_box, stretch=1)

        self.status_label = StatusLabel("Load a ground truth; metrics appear once a reconstruction is there too.")
        layout.addWidget(self.status_label)
        self.setWidget(body)
        self._update_dataset_controls()

    # ------------------------------------------------------------ public API

    def set_reconstruction(self, mesh: trimesh.Trimesh | trimesh.PointCloud | None) -> None:
        """The main window's latest reconstruction, a mesh or a point cloud (None: cleared); compares
        at once if a ground truth is loaded.

        The same mesh again keeps the comparisons already computed for it."""
        if mesh is self._reconstruction:
            return
        self._reconstruction = mesh
        self._heat_map_shown = False  # a new mesh is shown without scalars
        self._forget_results()
        points = self.compares_points
        for check in (self.refine_check, self.heat_map_check):
            check.setEnabled(not points)
            check.setToolTip(check.property("surface tip") if not points else f"{check.text()}: {NEEDS_A_SURFACE}")
        if mesh is not None:
            self._compare()

    @property
    def compares_points(self) -> bool:
        """Whether the reconstruction compared is a point cloud."""
        return isinstance(self._reconstruction, trimesh.PointCloud)

    @property
    def _refine(self) -> bool:
        """Whether the comparison shown uses ICP: asked for, and possible (not for a point cloud)."""
        return self.refine_check.isChecked() and not self.compares_points

    def set_mm_per_unit(self, mm_per_unit: float | None) -> None:
        """Millimetres per unit of the reconstruction's coordinates (the main window's known size), or
        ``None`` for normalized units; the shown metrics and heat map change unit, nothing is recomputed."""
        self._mm_per_unit = mm_per_unit
        self._fill_units()
        if self.result is not None:
            self._show_result()

    @property
    def unit(self) -> str:
        """The unit lengths are shown in: ``mm`` with a known size, else ``normalized units``."""
        return MM if self._mm_per_unit else NORMALIZED

    @property
    def ground_truth(self) -> trimesh.Trimesh | None:
        return self._ground_truth

    @property
    def result(self) -> GroundTruthComparison | None:
        """The comparison shown: the current pair's, for the ICP choice made (None while there is none)."""
        return self._results.get(self._refine)

    def shown_values(self) -> dict[str, float]:
        """The metrics as the table shows them: lengths in :attr:`unit` (empty without a result)."""
        result = self.result
        if result is None:
            return {}
        scale = result.mm_per_shared_unit(self._mm_per_unit) if self._mm_per_unit else None
        return result.metrics.as_dict(scale)

    def load_ground_truth_file(self, path: str | Path) -> None:
        """Use a mesh file as the ground truth; a broken file leaves the current one in place."""
        try:
            mesh = load_solid_mesh(path)
        except MeshLoadError as exc:
            self.status_label.show_error(f"Ground truth not changed: {exc}")
            return
        QSettings().setValue("compare/mesh_dir", str(Path(path).parent))
        self._set_ground_truth(mesh, Path(path).name)

    def open_dataset(self, folder: str | Path) -> None:
        """List the splits, shapes and views of a data set to pick a ground truth from."""
        try:
            contents = dataset_contents(folder)
        except ValueError as exc:
            self.status_label.show_error(str(exc))
            return
        self._contents = contents
        self.dataset_edit.setText(str(folder))
        QSettings().setValue("compare/dataset_dir", str(folder))
        self.split_combo.blockSignals(True)
        self.split_combo.clear()
        self.split_combo.addItems([split for split, ids in contents.splits.items() if ids])
        self.split_combo.blockSignals(False)
        self._fill_shapes(self.split_combo.currentText())
        self.view_spin.setRange(0, contents.views - 1)
        self._update_dataset_controls()

    def use_dataset_view(self) -> None:
        """Take the chosen view's ground truth and offer its image, a and b to the main window."""
        if self._contents is None or not self.shape_combo.currentText():
            self.status_label.show_error("Open a data set and pick a shape first.")
            return
        try:
            view = load_dataset_view(self.dataset_edit.text(), self.shape_combo.currentText(), self.view_spin.value())
        except ValueError as exc:
            self.status_label.show_error(f"Ground truth not changed: {exc}")
            return
        self._set_ground_truth(view.mesh, view.name)
        self.sample_chosen.emit(view.image, view.a, view.b, view.name)

    # ------------------------------------------------------------ comparison

    def _set_ground_truth(self, mesh: trimesh.Trimesh, name: str) -> None:
        self._ground_truth = mesh
        self.gt_label.setText(f"Ground truth: {name} ({len(mesh.faces):,} triangles)")
        self._forget_results()
        if self._reconstruction is None:
            self.status_label.show_status("Ground truth loaded; metrics appear once there is a reconstruction.")
        else:
            self._compare()

    def _compare(self) -> None:
        """Show the current pair's comparison, computing it on a worker thread only if it is not kept yet.

        A running comparison is superseded.  With ICP asked for, a kept plain
        comparison is reused, so only the refined alignment is measured.
        """
        if self._reconstruction is None or self._ground_truth is None:
            return
        self._clear_overlays()
        refine = self._refine
        if refine in self._results:
            self._show_result()
            return
        for work in self._works:
            work.cancel()
        self._works = [work for work in self._works if work.is_running()]
        self._generation += 1
        generation = self._generation
        reconstruction, ground_truth = self._reconstruction.copy(), self._ground_truth.copy()
        settings, unrefined = self.settings, self._results.get(False)
        self._clear_table()
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status_label.show_status("Comparing…")
        if self.compares_points:
            def work():
                return compare_points_to_ground_truth(reconstruction, ground_truth, settings)
        else:
            def work():
                return compare_to_ground_truth(reconstruction, ground_truth, refine, settings, unrefined=unrefined)
        self._works.append(
            start_work(
                work,
                on_finished=lambda result: self._on_compared(generation, refine, result),
                on_failed=lambda message: self._on_failed(generation, message),
                on_progress=lambda event: self._on_progress(generation, event),
            )
        )

    def _on_progress(self, generation: int, event) -> None:
        if generation == self._generation:
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)
            self.progress.setFormat(f"{event.stage}…")

    def _on_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.progress.setVisible(False)
            self.status_label.show_error(f"Comparison failed: {message}")

    def _on_compared(self, generation: int, refine: bool, result: GroundTruthComparison) -> None:
        if generation != self._generation:
            return
        self.progress.setVisible(False)
        self._results[refine] = result
        if refine and not result.icp.applied:  # the plain comparison won: keep it for "ICP off" too
            self._results.setdefault(False, replace(result, icp=None))
        if refine == self._refine:
            self._show_result()

    def _show_result(self) -> None:
        """Fill the table, the findings and the overlays from the kept result (no computation)."""
        result = self.result
        if result is None:
            return
        scale = result.mm_per_shared_unit(self._mm_per_unit) if self._mm_per_unit else None
        descriptions = self.settings.describe(scale)
        values = self.shown_values()
        for row, (key, _, is_length) in enumerate(METRIC_ROWS):
            item = self.metrics_table.item(row, 1)
            if self.compares_points and key in NEEDS_SURFACE:
                item.setText("n/a")
                item.setToolTip(f"{descriptions[key]}; {NEEDS_A_SURFACE}")
                continue
            item.setText(format_metric(values[key], self.unit if is_length else NORMALIZED))
            item.setToolTip(descriptions[key])
        warning = "" if result.reference is None else result.reference.warning()
        self.warning_label.setText(warning)
        self.warning_label.setVisible(bool(warning))
        self.icp_label.setText("" if result.icp is None else result.icp.describe())
        self.icp_label.setVisible(result.icp is not None)
        if scale is None:
            status = "Compared in the shared normalized frame (longest bounding-box edge = 1)."
        else:
            status = f"Compared in the shared frame; lengths in mm ({scale:.4g} mm per normalized unit, from the known size)."
        if result.alignment.icp_rms is not None:
            status += f" ICP residual (RMS): {result.alignment.icp_rms:.4f}."
        if self.compares_points:
            status += " The points are scored as svr-desktop evaluate scores them; IoU, NC and ECD need a surface."
        elif not result.metrics.edge_chamfer_defined:
            status += f" ECD undefined: edge points on reconstruction {result.metrics.pred_edge_points}, ground truth {result.metrics.gt_edge_points}."
        self.status_label.show_status(status)
        self._show_overlays()

    def _show_overlays(self) -> None:
        """Draw (or remove) the surface, edge points and heat map as the check boxes say."""
        result = self.result
        if result is None:
            return
        if self.surface_check.isChecked():
            self._viewer.set_surface(GT_SURFACE, result.reference_surface, GT_COLOUR)
        else:
            self._viewer.clear_surface(GT_SURFACE)
        for name, points, colour in (
            (GT_EDGES, result.gt_edges, GT_COLOUR),
            (RECONSTRUCTION_EDGES, result.reconstruction_edges, RECONSTRUCTION_COLOUR),
        ):
            if self.edges_check.isChecked() and len(points):
                self._viewer.set_points(name, points, colour)
            else:
                self._viewer.clear_points(name)
        shown = self._viewer.mesh
        if self.heat_map_check.isChecked() and not self.compares_points:
            if shown is None or len(shown.vertices) != len(result.vertex_distance):
                self.status_label.show_error("The heat map needs the compared reconstruction in the viewer.")
                return
            scale = result.mm_per_shared_unit(self._mm_per_unit) if self._mm_per_unit else 1.0
            self._viewer.set_mesh_scalars(result.vertex_distance * scale, heat_map_title(self.unit))
            self._heat_map_shown = True
        elif self._heat_map_shown and shown is not None:
            self._viewer.set_mesh_scalars(None)
            self._heat_map_shown = False

    def _clear_overlays(self) -> None:
        """Remove what the panel drew on the viewer."""
        self._viewer.clear_surface(GT_SURFACE)
        self._viewer.clear_points(GT_EDGES)
        self._viewer.clear_points(RECONSTRUCTION_EDGES)
        if self._heat_map_shown and self._viewer.mesh is not None:
            self._viewer.set_mesh_scalars(None)
        self._heat_map_shown = False

    def _clear_table(self) -> None:
        for row in range(len(METRIC_ROWS)):
            self.metrics_table.item(row, 1).setText("–")
        self.warning_label.setVisible(False)
        self.icp_label.setVisible(False)

    def _forget_results(self) -> None:
        """The pair changed: drop the kept comparisons, the table and the overlays."""
        self._clear_overlays()
        self._results.clear()
        self._generation += 1  # a comparison still running is for the old pair
        self.progress.setVisible(False)
        self._clear_table()

    def _fill_units(self) -> None:
        for row, (_, _, is_length) in enumerate(METRIC_ROWS):
            self.metrics_table.item(row, 2).setText(self.unit if is_length else "unitless")

    def _finish_work(self) -> None:
        """On quit: stop comparisons at their next stage and wait for their threads."""
        for work in self._works:
            work.cancel()
        for work in self._works:
            work.wait()
        self._works.clear()

    # ------------------------------------------------------------ helpers

    def _fill_shapes(self, split: str) -> None:
        self.shape_combo.clear()
        if self._contents is not None and split:
            self.shape_combo.addItems(self._contents.splits.get(split, []))
        self._update_dataset_controls()

    def _update_dataset_controls(self) -> None:
        ready = self._contents is not None and self.shape_combo.count() > 0
        for widget in (self.split_combo, self.shape_combo, self.view_spin, self.use_view_button):
            widget.setEnabled(ready)

    def _choose_mesh_file(self) -> None:
        patterns = " ".join(f"*.{ext}" for ext in MESH_EXTENSIONS)
        start = str(QSettings().value("compare/mesh_dir", ""))
        path, _ = QFileDialog.getOpenFileName(self, "Ground-truth mesh", start, f"Meshes ({patterns})")
        if path:
            self.load_ground_truth_file(path)

    def _choose_dataset(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data-set folder", self.dataset_edit.text())
        if folder:
            self.open_dataset(folder)

    def _restore_settings(self) -> None:
        folder = str(QSettings().value("compare/dataset_dir", ""))
        if folder and (Path(folder) / "manifest.json").exists():
            self.open_dataset(folder)
