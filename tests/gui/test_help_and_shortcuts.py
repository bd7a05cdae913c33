"""Issue 15 part 2, "Help" and "Viewer": the user guide behind Help (F1), a shortcut for export, and
the camera looking from the photo's viewpoint after a reconstruction.  Runs on the shipped model."""

import re

import numpy as np
import pytest
import trimesh
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QTextBrowser

from svr_desktop.gui.main_window import EXPORT_SHORTCUT, user_guide_path
from svr_desktop.paths import default_model_path

from .window_helpers import SAMPLE_PHOTO, new_window, open_and_wait, reconstruct_and_wait


@pytest.fixture
def window(qtbot):
    if not default_model_path().exists():
        pytest.skip("the shipped model is not there")
    window = new_window(qtbot, default_model_path())
    window.parameters.set_resolution(64)
    return window


def test_help_shows_the_user_guide_with_the_workflow_shortcuts_a_b_and_the_models_limits(qtbot, window):
    assert window.guide_action.shortcut().toString() == "F1"
    window.guide_action.trigger()
    browser = window.findChild(QTextBrowser)
    assert browser is not None and browser.window().isVisible()
    text = browser.toPlainText()
    for heading in ("Workflow", "Shortcuts", "What a and b do", "What the model can and cannot do"):
        assert heading in text
    # Every shortcut the guide lists is the one the window has.
    guide = user_guide_path().read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| (Ctrl\+\w|F1|Esc) \| (.+?) \|$", guide, flags=re.M))
    actions = {
        "Ctrl+O": None,  # QKeySequence.Open
        "Ctrl+R": window.reconstruct_action,
        "Ctrl+E": window.export_action,
        "F1": window.guide_action,
        "Esc": window.cancel_action,
    }
    assert set(actions) <= set(listed)
    for keys, action in actions.items():
        if action is not None:
            assert action.shortcut().toString() == keys, keys
    window.guide_action.trigger()  # a second time: the same dialog, not another
    assert len(window.findChildren(QTextBrowser)) == 1


def test_export_has_a_shortcut_and_uses_the_format_written_last(window, monkeypatch):
    asked = []
    monkeypatch.setattr(window, "export_as", asked.append)
    assert window.export_action.shortcut().toString() == EXPORT_SHORTCUT == "Ctrl+E"
    assert not window.export_action.isEnabled()  # nothing to export yet
    window.mesh = trimesh.creation.box((1.0, 0.5, 0.25))
    window._update_actions()
    assert window.export_action.isEnabled()
    window.export_action.trigger()
    QSettings().setValue("export/format", "obj")
    window.export_action.trigger()
    window.mesh = trimesh.PointCloud(np.random.default_rng(0).uniform(size=(50, 3)))
    window.export_action.trigger()
    assert asked == ["stl", "obj", "ply"]


def test_after_a_reconstruction_the_camera_looks_from_the_photos_viewpoint(qtbot, window):
    open_and_wait(qtbot, window, SAMPLE_PHOTO)
    reconstruct_and_wait(qtbot, window)
    camera = window.viewer.plotter.camera
    direction = np.subtract(camera.position, camera.focal_point)
    assert direction / np.linalg.norm(direction) == pytest.approx((0.0, 0.0, 1.0), abs=1e-6)  # down -z, as the photo
    assert camera.up == pytest.approx((0.0, 1.0, 0.0), abs=1e-6)
    window.viewer.set_view("iso")  # the presets still turn it
    assert np.subtract(camera.position, camera.focal_point) @ np.ones(3) > 0
