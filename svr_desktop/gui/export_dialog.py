"""Export options: the part's real size (or normalized units) and how many faces to write.

The dialog asks for the real size, because that is where it matters: with
no known size it starts on millimetres with an empty size (unless the user
chose normalized units last time), and OK waits until the user gives one or
chooses normalized units.  It shows the part's
three dimensions in the chosen units, and for each face choice the face
count and the file size about to be written.  The error-bounded
simplification is measured by the window on a worker thread
(:func:`~svr_desktop.inference.simplify.simplify_for_export`) and arrives
through :meth:`ExportDialog.set_simplified`; the dialog holds no geometry
code.

A point cloud (from a ``pointcloud`` checkpoint) is written as PLY points:
the dialog then asks only for the real size and says in one line why the
face choices are gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..inference.export import ExportUnits, estimated_bytes, format_bytes
from ..inference.postprocess import MIN_FACE_BUDGET
from ..inference.simplify import DEFAULT_TOLERANCE, FaceTarget, SimplifyReport, percent
from .parameters_panel import SIZE_DIMENSIONS
from .settings import read_int, read_str

DEFAULT_FACE_BUDGET = 50_000
#: Why a point cloud's export has no face choices (and only PLY: the window refuses mesh formats).
POINTS_NOTE = "A point cloud has no faces: it is written as PLY points, so simplification does not apply."
#: Largest real size offered (a kilometre, as the command line's --size-mm).
MAX_SIZE_MM = 1e6


@dataclass(frozen=True)
class ExportOptions:
    units: ExportUnits
    faces: FaceTarget


class ExportDialog(QDialog):
    """Asks how to write the mesh; :meth:`options` gives the answer after ``exec()``.

    ``faces`` and ``extents`` (x, y, z in normalized units) describe the
    full mesh; ``units`` is the known size, if any; ``simplified`` the
    error-bounded result when it is known already.  ``points`` (a point
    cloud's count, ``faces`` then 0) hides the face choices.
    """

    def __init__(
        self,
        fmt: str,
        faces: int,
        extents: tuple[float, float, float],
        units: ExportUnits,
        simplified: SimplifyReport | None = None,
        parent: QWidget | None = None,
        *,
        points: int | None = None,
    ):
        super().__init__(parent)
        self.setWindowTitle(f"Export as {fmt.upper()}")
        self._fmt, self._faces, self._extents = fmt, faces, extents
        self._points = points
        self._simplified: SimplifyReport | None = None
        self._simplify_problem = ""
        settings = QSettings()
        self._build_units(units, read_str(settings, "export/units", "mm"))
        self._build_faces(settings)
        self.summary_label = QLabel(self)
        self.points_label = QLabel(POINTS_NOTE, self)
        self.points_label.setVisible(points is not None)
        self.faces_box.setVisible(points is None)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.units_box)
        layout.addWidget(self.faces_box)
        layout.addWidget(self.points_label)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.buttons)
        self.set_simplified(simplified)

    # --- construction --------------------------------------------------------

    def _build_units(self, units: ExportUnits, last_choice: str) -> None:
        self.units_box = QGroupBox("Real size", self)
        self.mm_radio = QRadioButton("Millimetres: the", self.units_box)
        self.dimension_combo = QComboBox(self.units_box)
        for label, name in SIZE_DIMENSIONS:
            self.dimension_combo.addItem(label, name)
        self.mm_spin = QDoubleSpinBox(self.units_box)
        self.mm_spin.setRange(0.0, MAX_SIZE_MM)
        self.mm_spin.setDecimals(2)
        self.mm_spin.setSuffix(" mm")
        self.mm_spin.setSpecialValueText("enter the size")  # shown at 0: no size yet
        self.normalized_radio = QRadioButton(
            "Normalized units (no real size: CAD tools read them as millimetres, a part about 1 mm long)",
            self.units_box,
        )
        self.dimensions_label = QLabel(self.units_box)
        if units.kind == "dimension":
            self.mm_radio.setChecked(True)
            self.dimension_combo.setCurrentIndex(max(self.dimension_combo.findData(units.dimension), 0))
            self.mm_spin.setValue(float(units.value))
        else:  # no known size: ask for one, unless the user chose normalized units last time
            (self.normalized_radio if last_choice == "normalized" else self.mm_radio).setChecked(True)
        mm_row = QHBoxLayout()
        for widget in (self.mm_radio, self.dimension_combo, QLabel("measures", self.units_box), self.mm_spin):
            mm_row.addWidget(widget)
        mm_row.addStretch(1)
        column = QVBoxLayout(self.units_box)
        column.addLayout(mm_row)
        column.addWidget(self.normalized_radio)
        column.addWidget(self.dimensions_label)
        for signal in (self.mm_radio.toggled, self.dimension_combo.currentIndexChanged, self.mm_spin.valueChanged):
            signal.connect(self._update)

    def _build_faces(self, settings: QSettings) -> None:
        self.faces_box = QGroupBox("Faces", self)
        self.auto_radio = QRadioButton(
            f"Simplified for CAD: 99.9 % of the surface within {percent(DEFAULT_TOLERANCE)} of the part size",
            self.faces_box,
        )
        self.auto_label = QLabel(self.faces_box)
        self.auto_label.setIndent(24)  # under the radio button's text
        self.full_radio = QRadioButton(f"Full resolution: {self._faces:,} faces", self.faces_box)
        self.budget_radio = QRadioButton("At most", self.faces_box)
        self.budget_spin = QSpinBox(self.faces_box)
        self.budget_spin.setRange(MIN_FACE_BUDGET, 10_000_000)
        self.budget_spin.setSingleStep(1000)
        self.budget_spin.setValue(read_int(settings, "export/face_budget", DEFAULT_FACE_BUDGET))
        self.budget_spin.setSuffix(" faces")
        self.face_group = QButtonGroup(self)
        for radio in (self.auto_radio, self.full_radio, self.budget_radio):
            self.face_group.addButton(radio)
        choice = read_str(settings, "export/faces", "auto")
        {"full": self.full_radio, "budget": self.budget_radio}.get(choice, self.auto_radio).setChecked(True)
        budget_row = QHBoxLayout()
        budget_row.addWidget(self.budget_radio)
        budget_row.addWidget(self.budget_spin)
        budget_row.addStretch(1)
        column = QVBoxLayout(self.faces_box)
        for widget in (self.auto_radio, self.auto_label, self.full_radio):
            column.addWidget(widget)
        column.addLayout(budget_row)
        self.face_group.buttonToggled.connect(lambda *_: self._update())
        self.budget_spin.valueChanged.connect(self._update)

    # --- state -----------------------------------------------------------------

    def set_simplified(self, report: SimplifyReport | None, problem: str = "") -> None:
        """The error-bounded result (``None``: still measuring, or ``problem`` says why there is none)."""
        self._simplified, self._simplify_problem = report, problem
        if report is not None:
            self.auto_label.setText(
                f"{report.faces_after:,} faces: 99.9 % within {percent(report.deviation)} of the part size "
                f"(largest deviation {percent(report.max_deviation)})"
            )
        elif problem:
            self.auto_label.setText(f"not available: {problem}")
        else:
            self.auto_label.setText("measuring the deviation of simplified meshes…")
        self._update()

    def planned_faces(self) -> tuple[int, int | None] | None:
        """Faces and vertices about to be written (vertices ``None``: estimated later); ``None`` while unknown."""
        if self.full_radio.isChecked():
            return self._faces, None
        if self.budget_radio.isChecked():
            return min(self.budget_spin.value(), self._faces), None
        if self._simplified is None:
            return None
        return self._simplified.faces_after, self._simplified.vertices_after

    def _update(self) -> None:
        mm = self.mm_radio.isChecked()
        self.dimension_combo.setEnabled(mm)
        self.mm_spin.setEnabled(mm)
        self.budget_spin.setEnabled(self.budget_radio.isChecked())
        self.dimensions_label.setText(self._dimensions_text())
        self.summary_label.setText(self._summary_text())
        missing = self._missing()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(not missing)
        ok.setToolTip(missing)

    def _missing(self) -> str:
        """Why OK cannot be pressed yet ("" when it can)."""
        if self.mm_radio.isChecked() and self.mm_spin.value() <= 0:
            return "Enter the part's real size, or choose normalized units"
        if self._points is None and self.auto_radio.isChecked() and self._simplified is None and self._simplify_problem:
            return "The simplified mesh is not available: choose full resolution or a face count"
        return ""

    def _mm_per_unit(self) -> float | None:
        """Millimetres per normalized unit from the size entered (``None``: normalized or no size yet)."""
        if not self.mm_radio.isChecked() or self.mm_spin.value() <= 0:
            return None
        name = self.dimension_combo.currentData()
        edge = max(self._extents) if name == "longest" else self._extents["xyz".index(name)]
        return self.mm_spin.value() / edge if edge > 0 else None

    def _dimensions_text(self) -> str:
        scale = self._mm_per_unit()
        if scale is not None:
            return "Bounding box: " + " × ".join(f"{edge * scale:.1f}" for edge in self._extents) + " mm (x × y × z)"
        if self.mm_radio.isChecked():
            return "Bounding box: enter a size to see it in millimetres"
        return "Bounding box: " + " × ".join(f"{edge:.3f}" for edge in self._extents) + " normalized units (x × y × z)"

    def _summary_text(self) -> str:
        if self._points is not None:
            size = format_bytes(estimated_bytes(self._fmt, 0, self._points))
            return f"Will write {self._points:,} points, about {size} ({self._fmt.upper()})."
        planned = self.planned_faces()
        if planned is None:
            return f"Will write a simplified {self._fmt.upper()} file (face count and size once measured)."
        faces, vertices = planned
        size = format_bytes(estimated_bytes(self._fmt, faces, vertices))
        return f"Will write {faces:,} faces, about {size} ({self._fmt.upper()})."

    def options(self) -> ExportOptions:
        """The chosen options (the unit kind and the face choice are remembered for next time)."""
        settings = QSettings()
        settings.setValue("export/units", "mm" if self.mm_radio.isChecked() else "normalized")
        if self.mm_radio.isChecked():
            units = ExportUnits.from_dimension(self.dimension_combo.currentData(), self.mm_spin.value())
        else:
            units = ExportUnits.normalized()
        if self._points is not None:  # nothing to simplify: the face choices stay as they were
            return ExportOptions(units, FaceTarget("full"))
        choice = "full" if self.full_radio.isChecked() else "budget" if self.budget_radio.isChecked() else "auto"
        settings.setValue("export/faces", choice)
        settings.setValue("export/face_budget", self.budget_spin.value())
        faces = FaceTarget("budget", self.budget_spin.value()) if choice == "budget" else FaceTarget(choice)
        return ExportOptions(units, faces)


def ask_export_options(dialog: ExportDialog) -> ExportOptions | None:
    """Show the options dialog and wait; ``None`` if the user cancelled."""
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.options()


def ask_export_path(parent: QWidget, fmt: str, suggested: Path) -> Path | None:
    """Ask where to write a ``fmt`` file; ``None`` if the user cancelled.

    The dialog adds the extension when the name lacks it and asks before
    replacing an existing file, so the caller may overwrite what it returns.
    """
    dialog = QFileDialog(parent, f"Export as {fmt.upper()}", str(suggested), f"{fmt.upper()} mesh (*.{fmt})")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix(fmt)
    if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.selectedFiles():
        return None
    return Path(dialog.selectedFiles()[0])
