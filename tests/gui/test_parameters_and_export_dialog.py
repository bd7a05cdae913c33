"""The parameters panel and the export options dialog, on their own."""

import os
from pathlib import Path

import pytest
import torch
import trimesh
from PySide6.QtWidgets import QDialogButtonBox

from svr_desktop.gui.export_dialog import ExportDialog
from svr_desktop.gui.parameters_panel import ParametersPanel
from svr_desktop.inference.export import ExportUnits
from svr_desktop.inference.simplify import FaceTarget, SimplifyReport
from svr_desktop.inference.turns import DEFAULT_TURNS, MAX_TURNS


@pytest.fixture
def panel(qtbot):
    panel = ParametersPanel()
    qtbot.addWidget(panel)
    return panel


def test_a_and_b_follow_the_silhouette_until_set_by_hand(panel):
    assert panel.follows_silhouette() and not panel.a_spin.isEnabled()
    assert panel.parameters().a is None and panel.parameters().b is None
    panel.show_silhouette_ab(1.6, 1.6)
    assert panel.a_spin.value() == pytest.approx(1.6)

    panel.auto_ab_button.setChecked(False)
    assert panel.a_spin.isEnabled() and panel.parameters().a == pytest.approx(1.6)
    panel.show_silhouette_ab(1.2, 1.2)  # ignored: the user tunes a and b now
    assert panel.a_spin.value() == pytest.approx(1.6)

    panel.a_spin.setValue(2.0)  # linked: b follows
    assert panel.b_spin.value() == pytest.approx(2.0)
    panel.link_button.setChecked(False)
    panel.a_spin.setValue(1.5)
    assert (panel.parameters().a, panel.parameters().b) == pytest.approx((1.5, 2.0))

    panel.auto_ab_button.setChecked(True)
    panel.set_manual_ab(1.7, 1.9)
    assert not panel.follows_silhouette()
    assert (panel.parameters().a, panel.parameters().b) == pytest.approx((1.7, 1.9))


def test_resolution_threshold_and_device(panel):
    assert panel.parameters().settings.resolution == 256
    panel.set_resolution(64)
    assert panel.parameters().settings.resolution == 64
    with pytest.raises(ValueError, match="64, 128, 256, 512"):
        panel.set_resolution(100)

    assert panel.parameters().settings.threshold == pytest.approx(0.5)
    panel.set_threshold_kind("occupancy", 0.55)  # a calibrated model: an untouched threshold follows its level
    assert panel.parameters().settings.threshold == pytest.approx(0.55) and "0.55" in panel.threshold_spin.toolTip()
    panel.set_threshold_kind("occupancy", 0.575)  # a level on calibrate's 0.025 grid is held exactly, not rounded
    assert panel.parameters().settings.threshold == pytest.approx(0.575, abs=1e-9)
    assert panel.threshold_spin.text() == "0.575"
    panel.threshold_spin.setValue(0.3)
    panel.set_threshold_kind("occupancy", 0.5)  # same kind of model: the user's value stays
    assert panel.parameters().settings.threshold == pytest.approx(0.3)
    panel.set_threshold_kind("sdf", 0.0)  # a signed-distance model: its own iso-level
    assert panel.parameters().settings.threshold == 0.0 and panel.threshold_spin.maximum() < 0.5

    gpu = panel.device_combo.model().item(panel.device_combo.findData("cuda"))
    assert gpu.isEnabled() == torch.cuda.is_available()
    if not torch.cuda.is_available():
        assert "CUDA" in gpu.toolTip()


def test_turned_copies_default_to_the_reconstructions_and_are_off_for_models_without_depth(panel):
    assert panel.parameters().settings.turns == DEFAULT_TURNS and panel.turns_spin.maximum() == MAX_TURNS
    panel.turns_spin.setValue(1)
    assert panel.parameters().settings.turns == 1
    panel.set_turns_available(False)
    assert not panel.turns_spin.isEnabled() and "depth" in panel.turns_spin.toolTip()
    panel.set_turns_available(True)
    assert panel.turns_spin.isEnabled() and "averaged" in panel.turns_spin.toolTip()
    assert panel.parameters().settings.turns == 1  # the user's count outlives a model without depth


def test_known_size_gives_millimetres(panel):
    block = trimesh.creation.box(extents=(0.5, 0.25, 0.1))
    assert panel.known_size_units().unit == "normalized" and panel.mm_per_unit(block) is None
    panel.size_check.setChecked(True)
    panel.size_dimension.setCurrentIndex(panel.size_dimension.findData("y"))
    panel.size_mm.setValue(50.0)
    assert panel.mm_per_unit(block) == pytest.approx(200.0)


def test_a_known_size_is_cleared_for_a_new_part_and_can_come_from_the_export_dialog(panel):
    panel.size_check.setChecked(True)
    panel.size_dimension.setCurrentIndex(panel.size_dimension.findData("longest"))
    panel.size_mm.setValue(120.0)
    assert panel.known_size_text() == "longest side 120 mm"
    assert panel.clear_known_size() == "longest side 120 mm"
    assert panel.known_size_units().unit == "normalized" and panel.clear_known_size() == ""
    assert panel.size_mm.value() == 120.0  # kept in the box as a suggestion

    panel.set_known_size(ExportUnits.from_dimension("y", 45.0))
    assert panel.known_size_units() == ExportUnits.from_dimension("y", 45.0)
    panel.set_known_size(ExportUnits.normalized())  # no size given: the panel keeps its own
    assert panel.known_size_units() == ExportUnits.from_dimension("y", 45.0)


def simplified_report(faces=61_234, vertices=30_619):
    return SimplifyReport(
        faces_before=536_496, faces_after=faces, vertices_after=vertices, tolerance=0.002,
        deviation=0.0017, max_deviation=0.006,
    )


EXTENTS = (0.64, 0.99, 0.98)


def make_dialog(qtbot, units=ExportUnits.normalized(), simplified=None, fmt="stl"):
    dialog = ExportDialog(fmt, 536_496, EXTENTS, units, simplified)
    qtbot.addWidget(dialog)
    return dialog


def ok_button(dialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_export_dialog_asks_for_the_real_size_and_shows_all_three_dimensions(qtbot):
    dialog = make_dialog(qtbot)  # no known size: millimetres asked for, OK waits for a size
    assert dialog.mm_radio.isChecked() and dialog.mm_spin.text() == "enter the size"
    assert not ok_button(dialog).isEnabled() and "real size" in ok_button(dialog).toolTip()
    dialog.set_simplified(simplified_report())
    dialog.dimension_combo.setCurrentIndex(dialog.dimension_combo.findData("y"))
    dialog.mm_spin.setValue(99.0)
    assert ok_button(dialog).isEnabled()
    assert dialog.dimensions_label.text() == "Bounding box: 64.0 × 99.0 × 98.0 mm (x × y × z)"
    assert dialog.options().units == ExportUnits.from_dimension("y", 99.0)

    dialog.normalized_radio.setChecked(True)  # no real size is a choice too, and it is remembered
    assert ok_button(dialog).isEnabled() and "0.640 × 0.990 × 0.980 normalized" in dialog.dimensions_label.text()
    assert dialog.options().units == ExportUnits.normalized()
    assert make_dialog(qtbot).normalized_radio.isChecked()

    known = make_dialog(qtbot, ExportUnits.from_dimension("x", 42.0))  # a known size fills it in
    assert known.mm_radio.isChecked() and known.mm_spin.value() == 42.0
    assert known.dimension_combo.currentData() == "x" and "42.0 × 65.0 × 64.3 mm" in known.dimensions_label.text()


def test_export_dialog_shows_faces_and_file_size_before_writing(qtbot):
    dialog = make_dialog(qtbot, ExportUnits.from_dimension("longest", 120.0))
    assert dialog.auto_radio.isChecked()  # the default: simplified within the tolerance
    assert "measuring" in dialog.auto_label.text() and dialog.planned_faces() is None
    assert "once measured" in dialog.summary_label.text() and ok_button(dialog).isEnabled()

    dialog.set_simplified(simplified_report())
    assert "61,234 faces" in dialog.auto_label.text() and "0.17 %" in dialog.auto_label.text()
    stl_bytes = 84 + 50 * 61_234
    assert dialog.summary_label.text() == f"Will write 61,234 faces, about {stl_bytes / 1e6:.1f} MB (STL)."
    assert dialog.options().faces == FaceTarget()

    dialog.full_radio.setChecked(True)
    assert "536,496 faces" in dialog.full_radio.text() and "26.8 MB" in dialog.summary_label.text()
    assert dialog.options().faces == FaceTarget("full")

    dialog.budget_radio.setChecked(True)
    dialog.budget_spin.setValue(3000)
    assert "3,000 faces, about 150 kB" in dialog.summary_label.text()
    assert dialog.options().faces == FaceTarget("budget", 3000)
    again = make_dialog(qtbot, fmt="obj")  # the face choice is remembered
    assert again.budget_radio.isChecked() and again.budget_spin.value() == 3000

    failed = make_dialog(qtbot, ExportUnits.from_dimension("longest", 120.0))
    failed.auto_radio.setChecked(True)
    failed.set_simplified(None, "the mesh is not a closed manifold")
    assert "not available" in failed.auto_label.text() and not ok_button(failed).isEnabled()
    failed.full_radio.setChecked(True)
    assert ok_button(failed).isEnabled()


def test_export_dialog_screenshot_for_the_docs(qtbot):
    """Renders the dialog as users see it after the measurement (docs/images/export_dialog.png)."""
    dialog = make_dialog(qtbot, ExportUnits.from_dimension("longest", 120.0), simplified_report())
    dialog.show()
    qtbot.waitExposed(dialog)
    image = dialog.grab()
    assert image.width() > 300 and image.height() > 200
    target = os.environ.get("SVR_DESKTOP_DOC_IMAGES")
    if target:
        image.save(str(Path(target) / "export_dialog.png"))
