"""Export options: units (normalized, or millimetres from a known dimension) and a face budget."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..inference.export import ExportUnits
from ..inference.postprocess import MIN_FACE_BUDGET
from .parameters_panel import SIZE_DIMENSIONS
from .settings import read_bool, read_int

DEFAULT_FACE_BUDGET = 50_000


@dataclass(frozen=True)
class ExportOptions:
    units: ExportUnits
    face_budget: int | None  # None: keep every face


class ExportDialog(QDialog):
    """Asks how to write the mesh; :meth:`options` gives the answer after ``exec()``."""

    def __init__(self, fmt: str, faces: int, units: ExportUnits, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Export as {fmt.upper()}")
        self.normalized_radio = QRadioButton("Normalized units (the part's longest side is about 1)", self)
        self.mm_radio = QRadioButton("Millimetres, where the", self)
        self.dimension_combo = QComboBox(self)
        for label, name in SIZE_DIMENSIONS:
            self.dimension_combo.addItem(label, name)
        self.mm_spin = QDoubleSpinBox(self)
        self.mm_spin.setRange(0.01, 100_000.0)
        self.mm_spin.setDecimals(2)
        self.mm_spin.setSuffix(" mm")
        self.mm_spin.setValue(100.0)
        if units.kind == "dimension":
            self.mm_radio.setChecked(True)
            self.dimension_combo.setCurrentIndex(max(self.dimension_combo.findData(units.dimension), 0))
            self.mm_spin.setValue(float(units.value))
        else:
            self.normalized_radio.setChecked(True)
        self.mm_radio.toggled.connect(self._update_enabled)

        settings = QSettings()
        self.budget_check = QCheckBox("Reduce to at most", self)
        self.budget_check.setChecked(read_bool(settings, "export/use_face_budget", False))
        self.budget_spin = QSpinBox(self)
        self.budget_spin.setRange(MIN_FACE_BUDGET, 10_000_000)
        self.budget_spin.setSingleStep(1000)
        self.budget_spin.setValue(read_int(settings, "export/face_budget", DEFAULT_FACE_BUDGET))
        self.budget_spin.setSuffix(" faces")
        self.budget_check.toggled.connect(self._update_enabled)

        mm_row = QHBoxLayout()
        for widget in (self.mm_radio, self.dimension_combo, QLabel("measures"), self.mm_spin):
            mm_row.addWidget(widget)
        budget_row = QHBoxLayout()
        budget_row.addWidget(self.budget_check)
        budget_row.addWidget(self.budget_spin)
        form = QFormLayout()
        form.addRow(QLabel(f"The mesh has {faces:,} faces."))
        form.addRow(self.normalized_radio)
        form.addRow(mm_row)
        form.addRow(budget_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self._update_enabled()

    def _update_enabled(self) -> None:
        mm = self.mm_radio.isChecked()
        self.dimension_combo.setEnabled(mm)
        self.mm_spin.setEnabled(mm)
        self.budget_spin.setEnabled(self.budget_check.isChecked())

    def options(self) -> ExportOptions:
        """The chosen options (the face-budget choice is remembered for next time)."""
        settings = QSettings()
        settings.setValue("export/use_face_budget", self.budget_check.isChecked())
        settings.setValue("export/face_budget", self.budget_spin.value())
        if self.mm_radio.isChecked():
            units = ExportUnits.from_dimension(self.dimension_combo.currentData(), self.mm_spin.value())
        else:
            units = ExportUnits.normalized()
        return ExportOptions(units, self.budget_spin.value() if self.budget_check.isChecked() else None)


def ask_export_options(parent: QWidget, fmt: str, faces: int, units: ExportUnits) -> ExportOptions | None:
    """Show the options dialog; ``None`` if the user cancelled."""
    dialog = ExportDialog(fmt, faces, units, parent)
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
