"""The GUI with a point-cloud checkpoint (issue 16) and the method picker.

A ``pointcloud`` checkpoint reconstructs points: the viewer shows them with
the size line and dimension labels, the threshold is off, File > Export
writes PLY and refuses mesh formats in one line, and the Compare dock scores
the points (CD-L1, F-score, EMD; IoU, NC and ECD n/a).  The picker beside the checkpoint shows
the loaded model's method, offers the methods with a checkpoint in the
models folder and loads the one picked.  The checkpoints are tiny untrained
networks saved in the tests' models folder: nothing here needs training.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from PySide6.QtCore import Qt

from svr_desktop.gui import export_dialog
from svr_desktop.gui.compare_panel import NEEDS_A_SURFACE
from svr_desktop.gui.export_dialog import POINTS_NOTE, ExportOptions
from svr_desktop.gui.main_window import POINTS_NEED_PLY
from svr_desktop.gui.parameters_panel import NO_THRESHOLD_FOR_POINTS
from svr_desktop.inference.export import ExportUnits
from svr_desktop.inference.simplify import FaceTarget
from svr_desktop.model import get_model
from svr_desktop.model.catalog import method_checkpoints
from svr_desktop.training.checkpoint import save_checkpoint
from svr_desktop.training.config import load_config

from .window_helpers import LOAD_TIMEOUT_MS, SAMPLE_PHOTO, new_window, open_and_wait, reconstruct_and_wait

#: Each method shrunk to a checkpoint of a few hundred kB (preset, overrides).
SMALL = {
    "pointcloud": (
        "pointcloud",
        ["model.image_size=64", "model.pointcloud_width=4", "model.pointcloud_features=64",
         "model.pointcloud_latent=16", "model.pointcloud_hidden=[64, 128]", "model.pointcloud_points=256"],
    ),
    "occnet": (
        "occnet",
        ["model.image_size=64", "model.width=8", "model.global_features=32", "model.occnet_hidden=32",
         "model.occnet_blocks=2"],
    ),
}
POINTS = 256


def save_small(path: Path, method: str) -> Path:
    preset, overrides = SMALL[method]
    config = load_config(preset, overrides)
    torch.manual_seed(0)
    save_checkpoint(path, get_model(config.model), config, {"step": 0})
    return path


@pytest.fixture
def models(tmp_path, monkeypatch):
    """A models folder: an occnet default model and ``pointcloud.safetensors``."""
    folder = tmp_path / "models"
    folder.mkdir()
    default = save_small(folder / "default.safetensors", "occnet")
    points = save_small(folder / "pointcloud.safetensors", "pointcloud")
    monkeypatch.setenv("SVR_DESKTOP_MODEL", str(default))
    return {"default": default, "pointcloud": points}


def test_the_model_line_states_the_checkpoints_validation_iou(qtbot, tmp_path):
    """The method comparison's weak checkpoints sit beside the default model: the model line says
    how each did in its own validation, and says nothing for a checkpoint that records none."""
    preset, overrides = SMALL["occnet"]
    config = load_config(preset, overrides)
    scored = tmp_path / "occnet.safetensors"
    save_checkpoint(scored, get_model(config.model), config, {"step": 9, "best_val_iou": 0.0402})
    window = new_window(qtbot, scored)
    assert "validation IoU 0.040" in window.parameters.checkpoint_label.text()
    unscored = save_small(tmp_path / "pointcloud.safetensors", "pointcloud")
    with qtbot.waitSignal(window.model_ready, timeout=LOAD_TIMEOUT_MS):
        window.set_checkpoint(unscored)
    assert "validation" not in window.parameters.checkpoint_label.text()


def test_the_catalog_finds_each_methods_checkpoint(models, tmp_path):
    assert method_checkpoints(models["default"]) == {"occnet": models["default"], "pointcloud": models["pointcloud"]}
    # A file named after a method but holding another is not that method's.
    save_small(models["default"].parent / "disn.safetensors", "occnet")
    (models["default"].parent / "jin2022.safetensors").write_bytes(b"not a checkpoint")
    assert set(method_checkpoints(models["default"])) == {"occnet", "pointcloud"}


def test_a_point_checkpoint_reconstructs_points_shown_and_exported_as_ply_only(qtbot, models, tmp_path, monkeypatch):
    window = new_window(qtbot, models["pointcloud"])
    assert window.reconstructor.output_kind == "points"
    assert window.parameters.method() == "pointcloud"
    assert not window.parameters.threshold_spin.isEnabled()
    assert window.parameters.threshold_spin.toolTip() == NO_THRESHOLD_FOR_POINTS
    assert window.parameters.parameters().settings.threshold is None
    assert "point cloud" in window.parameters.checkpoint_label.text()

    open_and_wait(qtbot, window, SAMPLE_PHOTO)
    reconstruct_and_wait(qtbot, window)
    cloud = window.mesh
    assert isinstance(cloud, trimesh.PointCloud) and len(cloud.vertices) == POINTS
    assert window.viewer.mesh is cloud and window.viewer.shows_points
    shown = window.viewer.plotter.actors["mesh"].mapper.dataset
    assert shown.n_points == POINTS and np.allclose(np.asarray(shown.points), cloud.vertices)
    assert window.viewer.dimension_labels() == [f"{axis} {size:.3f}" for axis, size in zip("xyz", cloud.extents)]
    assert window.viewer.size_text().startswith("Size ")
    assert window.viewer.box_action.isEnabled()
    viewer = window.viewer
    assert not any(action.isEnabled() for action in (viewer.edges_action, viewer.wireframe_action, viewer.normals_action))
    assert f"{POINTS} points" in window.summary_label.text()
    # The Compare dock scores the points against a ground truth, as evaluate does.
    panel = window.compare_panel
    assert panel.compares_points and not panel.refine_check.isEnabled() and not panel.heat_map_check.isEnabled()
    assert NEEDS_A_SURFACE in panel.refine_check.toolTip()
    panel.load_ground_truth_file(SAMPLE_PHOTO.with_name("flange.stl"))
    qtbot.waitUntil(lambda: panel.result is not None, timeout=LOAD_TIMEOUT_MS)
    table = panel.metrics_table
    shown = {table.item(row, 0).data(Qt.ItemDataRole.UserRole): table.item(row, 1).text() for row in range(table.rowCount())}
    assert shown["iou"] == shown["normal_consistency"] == shown["edge_chamfer"] == "n/a"
    for key in ("chamfer_l1", "fscore", "emd"):
        assert float(shown[key]) == pytest.approx(panel.result.metrics.as_dict()[key], abs=1e-4)
        assert 0 < panel.result.metrics.as_dict()[key] < float("inf")
    assert panel.result.vertex_distance.shape == (POINTS,)
    assert any(name.startswith("surface: ") for name in viewer.plotter.actors)  # the ground truth over the points

    # Mesh formats are off in the menu, and asked for anyway they are refused in one line, writing nothing.
    for fmt in ("stl", "obj", "glb"):
        assert not window.export_actions[fmt].isEnabled()
        assert window.export_actions[fmt].toolTip() == POINTS_NEED_PLY
    assert window.export_actions["ply"].isEnabled()
    monkeypatch.setattr(export_dialog, "ask_export_path", lambda *args: pytest.fail("no file may be asked for"))
    with qtbot.waitSignal(window.error_reported, timeout=1000) as refused:
        window.export_as("stl")
    assert POINTS_NEED_PLY in refused.args[0] and "\n" not in refused.args[0]

    # PLY: the dialog asks only for the size and says why; the file holds the points in mm.
    seen = []

    def answer(dialog):  # the dialog is deleted after the answer: look at it now
        seen.append((dialog.faces_box.isHidden(), dialog.points_label.isHidden(), dialog.points_label.text(),
                     dialog.summary_label.text()))
        return ExportOptions(ExportUnits.from_dimension("longest", 100.0), FaceTarget("auto"))

    target = tmp_path / "part.ply"
    monkeypatch.setattr(export_dialog, "ask_export_options", answer)
    monkeypatch.setattr(export_dialog, "ask_export_path", lambda *args: target)
    with qtbot.waitSignal(window.export_finished, timeout=LOAD_TIMEOUT_MS) as exported:
        window.export_actions["ply"].trigger()
    faces_hidden, note_hidden, note, summary = seen[0]
    assert faces_hidden and not note_hidden and note == POINTS_NOTE
    assert f"{POINTS} points" in summary
    report = exported.args[0]
    assert report.path == target and report.points == POINTS and report.faces == 0
    written = trimesh.load(target)
    assert isinstance(written, trimesh.PointCloud) and len(written.vertices) == POINTS
    assert max(written.extents) == pytest.approx(100.0, rel=1e-4)
    assert f"{POINTS} points" in window.statusBar().currentMessage()


def test_the_method_picker_lists_the_methods_with_a_checkpoint_and_loads_the_one_picked(qtbot, models):
    window = new_window(qtbot, None)  # the default model: occnet
    parameters = window.parameters
    combo = parameters.method_combo
    assert window.checkpoint == models["default"] and parameters.method() == "occnet"
    items = {combo.itemData(row): combo.model().item(row) for row in range(combo.count())}
    assert set(items) == {"jin2022", "occnet", "disn", "pointcloud", "d-occnet"}
    assert items["occnet"].isEnabled() and items["pointcloud"].isEnabled()
    for missing in ("jin2022", "disn", "d-occnet"):
        assert not items[missing].isEnabled()
        assert f"svr-desktop train --method {missing}" in items[missing].toolTip()

    with qtbot.waitSignal(window.model_ready, timeout=LOAD_TIMEOUT_MS) as loaded:
        combo.activated.emit(combo.findData("pointcloud"))
    assert Path(loaded.args[0]) == models["pointcloud"]
    assert window.reconstructor.output_kind == "points" and parameters.method() == "pointcloud"
    assert not parameters.threshold_spin.isEnabled()

    with qtbot.waitSignal(window.model_ready, timeout=LOAD_TIMEOUT_MS) as loaded:
        combo.activated.emit(combo.findData("occnet"))
    assert Path(loaded.args[0]) == models["default"]
    assert window.reconstructor.output_kind == "occupancy" and parameters.method() == "occnet"
    assert parameters.threshold_spin.isEnabled() and parameters.threshold_spin.value() == pytest.approx(0.5)

    # Picking the loaded model's method again loads nothing.
    with qtbot.assertNotEmitted(window.model_ready, wait=300):
        combo.activated.emit(combo.findData("occnet"))
    assert not window.is_loading_model()
