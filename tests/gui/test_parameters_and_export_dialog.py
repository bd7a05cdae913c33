"""The parameters panel and the export options dialog, on their own."""

import pytest
import torch
import trimesh

from svr_desktop.gui.export_dialog import ExportDialog
from svr_desktop.gui.parameters_panel import ParametersPanel
from svr_desktop.inference.export import ExportUnits


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
    panel.threshold_spin.setValue(0.3)
    panel.set_threshold_kind("occupancy", 0.5)  # same kind of model: the user's value stays
    assert panel.parameters().settings.threshold == pytest.approx(0.3)
    panel.set_threshold_kind("sdf", 0.0)  # a signed-distance model: its own iso-level
    assert panel.parameters().settings.threshold == 0.0 and panel.threshold_spin.maximum() < 0.5

    gpu = panel.device_combo.model().item(panel.device_combo.findData("cuda"))
    assert gpu.isEnabled() == torch.cuda.is_available()
    if not torch.cuda.is_available():
        assert "CUDA" in gpu.toolTip()


def test_known_size_gives_millimetres(panel):
    block = trimesh.creation.box(extents=(0.5, 0.25, 0.1))
    assert panel.known_size_units().unit == "normalized" and panel.mm_per_unit(block) is None
    panel.size_check.setChecked(True)
    panel.size_dimension.setCurrentIndex(panel.size_dimension.findData("y"))
    panel.size_mm.setValue(50.0)
    assert panel.mm_per_unit(block) == pytest.approx(200.0)


def test_export_dialog_options(qtbot):
    dialog = ExportDialog("stl", 12_345, ExportUnits.from_dimension("x", 42.0))
    qtbot.addWidget(dialog)
    assert dialog.mm_radio.isChecked() and dialog.mm_spin.value() == 42.0
    options = dialog.options()
    assert (options.units.dimension, options.units.value, options.face_budget) == ("x", 42.0, None)

    dialog.normalized_radio.setChecked(True)
    dialog.budget_check.setChecked(True)
    dialog.budget_spin.setValue(3000)
    options = dialog.options()
    assert options.units == ExportUnits.normalized() and options.face_budget == 3000

    again = ExportDialog("obj", 100, ExportUnits.normalized())  # the budget choice is remembered
    qtbot.addWidget(again)
    assert again.normalized_radio.isChecked()
    assert again.budget_check.isChecked() and again.budget_spin.value() == 3000
