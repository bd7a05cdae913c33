"""The comparison panel: ground truth from files and data-set views, metrics, overlays on the viewer."""

import numpy as np
import pytest
import trimesh
from PySide6.QtCore import Qt

from svr_desktop.data.dataset import load_split
from svr_desktop.geometry.frames import normalize_mesh
from svr_desktop.geometry.mesh_io import load_mesh
from svr_desktop.geometry.metrics import MetricSettings, compare_meshes
from svr_desktop.gui import compare_panel as compare_panel_module
from svr_desktop.gui.compare_panel import (
    GT_EDGES,
    GT_SURFACE,
    RECONSTRUCTION_EDGES,
    ComparePanel,
    format_metric,
)

#: Small sample counts keep the tests quick; the panel runs the same code with the defaults.
QUICK = MetricSettings(iou_points=5000, surface_points=5000, edge_points=500, edge_surface_samples=60_000, emd_points=128)


class FakeViewer:
    """Records what the panel asks of a MeshViewer (same methods, no rendering)."""

    def __init__(self):
        self.mesh = None
        self.points = {}
        self.surfaces = {}
        self.scalars = None
        self.scalars_title = ""

    def show_mesh(self, mesh, mm_per_unit=None):
        self.mesh, self.scalars = mesh, None

    def clear(self):
        self.mesh, self.scalars = None, None
        self.points.clear()

    def set_mesh_scalars(self, scalars, title=""):
        assert self.mesh is not None, "scalars need a shown mesh"
        assert scalars is None or len(scalars) == len(self.mesh.vertices)
        self.scalars, self.scalars_title = scalars, title

    def set_points(self, name, points, color):
        self.points[name] = (np.asarray(points), color)

    def clear_points(self, name):
        self.points.pop(name, None)

    def set_surface(self, name, mesh, color):
        self.surfaces[name] = (mesh, color)

    def clear_surface(self, name):
        self.surfaces.pop(name, None)


@pytest.fixture
def viewer():
    return FakeViewer()


@pytest.fixture
def panel(qtbot, viewer):
    panel = ComparePanel(viewer)
    panel.settings = QUICK
    qtbot.addWidget(panel)
    return panel


def box(*extents) -> trimesh.Trimesh:
    return trimesh.creation.box(extents)


def table_values(panel) -> dict[str, str]:
    table = panel.metrics_table
    return {table.item(row, 0).data(Qt.ItemDataRole.UserRole): table.item(row, 1).text() for row in range(table.rowCount())}


def wait_for_result(qtbot, panel):
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60_000)
    return panel.result


def test_metrics_of_a_known_pair_match_compare_meshes_and_overlays_follow_the_toggles(qtbot, panel, viewer, tmp_path):
    reconstruction = box(1.0, 0.8, 0.6)
    viewer.show_mesh(reconstruction)
    panel.set_reconstruction(reconstruction)
    assert panel.result is None  # nothing to compare with yet

    ground_truth = box(1.0, 0.7, 0.6)
    ground_truth.apply_scale(40.0)  # a file in millimetres, somewhere else
    ground_truth.apply_translation([100.0, 5.0, -20.0])
    path = tmp_path / "part.stl"
    ground_truth.export(path)
    panel.load_ground_truth_file(path)
    assert "part.stl" in panel.gt_label.text()
    result = wait_for_result(qtbot, panel)

    direct = compare_meshes(normalize_mesh(reconstruction)[0], normalize_mesh(load_mesh(path))[0], 0, QUICK).as_dict()
    shown = table_values(panel)
    assert shown == {key: format_metric(direct[key]) for key in shown}
    assert 0.8 < direct["iou"] < 0.95 and float(shown["iou"]) == pytest.approx(direct["iou"], abs=1e-4)

    # Edge points of both meshes in two colours, where the reconstruction is shown.
    assert set(viewer.points) == {GT_EDGES, RECONSTRUCTION_EDGES}
    (gt_points, gt_colour), (rec_points, rec_colour) = viewer.points[GT_EDGES], viewer.points[RECONSTRUCTION_EDGES]
    assert gt_colour != rec_colour and len(gt_points) and len(rec_points)
    assert np.abs(rec_points).max(axis=0) == pytest.approx([0.5, 0.4, 0.3], abs=1e-6)
    assert np.abs(gt_points[:, 1]).max() == pytest.approx(0.35, abs=1e-6)

    panel.heat_map_check.setChecked(True)
    np.testing.assert_allclose(viewer.scalars, 0.05, atol=1e-9)  # every corner sticks out 0.05 in y
    assert "distance" in viewer.scalars_title
    panel.heat_map_check.setChecked(False)
    assert viewer.scalars is None
    panel.edges_check.setChecked(False)
    assert viewer.points == {}

    panel.refine_check.setChecked(True)  # measures the ICP-refined alignment too
    qtbot.waitUntil(lambda: panel.result is not None and panel.result is not result, timeout=60_000)
    assert panel.result.icp is not None and not panel.icp_label.isHidden()
    assert "ICP" in panel.icp_label.text() and f"{panel.result.icp.iou_without:.3f}" in panel.icp_label.text()

    panel.set_reconstruction(None)
    assert panel.result is None and set(table_values(panel).values()) == {"–"}


def test_a_broken_ground_truth_file_is_reported_and_changes_nothing(qtbot, panel, viewer, tmp_path):
    good = tmp_path / "good.stl"
    box(1.0, 0.5, 0.5).export(good)
    panel.load_ground_truth_file(good)
    reconstruction = box(1.0, 0.5, 0.5)
    viewer.show_mesh(reconstruction)
    panel.set_reconstruction(reconstruction)
    result = wait_for_result(qtbot, panel)
    previous, label, table = panel.ground_truth, panel.gt_label.text(), table_values(panel)

    broken = tmp_path / "broken.obj"
    broken.write_text("v 0 0 0\nv 1 0 0\nf 1 2 7\n")  # refers to a vertex that does not exist
    panel.load_ground_truth_file(broken)
    assert "broken.obj" in panel.status_label.text() and "not changed" in panel.status_label.text()
    assert panel.ground_truth is previous and panel.gt_label.text() == label
    assert panel.result is result and table_values(panel) == table
    assert set(viewer.points) == {GT_EDGES, RECONSTRUCTION_EDGES}


@pytest.mark.parametrize(
    "name,text,fragment",
    [
        ("triangle.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "encloses no volume"),
        ("degenerate.obj", "v 0 0 0\nv 1 0 0\nv 2 0 0\nv 0 1 0\nf 1 2 3\nf 1 1 4\n", "all triangles are degenerate"),
    ],
)
def test_a_ground_truth_that_is_no_solid_is_refused_not_scored(qtbot, panel, viewer, tmp_path, name, text, fragment):
    """A single triangle or only degenerate faces used to be compared, and scored IoU 0 (issue 15)."""
    reconstruction = box(1.0, 0.5, 0.5)
    viewer.show_mesh(reconstruction)
    panel.set_reconstruction(reconstruction)
    (tmp_path / name).write_text(text)
    panel.load_ground_truth_file(tmp_path / name)
    assert "not changed" in panel.status_label.text() and name in panel.status_label.text()
    assert fragment in panel.status_label.text()
    assert panel.ground_truth is None and panel.result is None


def test_a_data_set_view_gives_its_ground_truth_and_its_photo(qtbot, panel, viewer, tiny_dataset, tmp_path):
    panel.open_dataset(tmp_path)  # not a data set
    assert "manifest.json" in panel.status_label.text() and not panel.use_view_button.isEnabled()

    panel.open_dataset(tiny_dataset)
    assert [panel.split_combo.itemText(i) for i in range(panel.split_combo.count())] == ["train", "val", "test"]
    panel.split_combo.setCurrentText("test")
    panel.view_spin.setValue(1)
    record = load_split(tiny_dataset, "test")[0]
    assert panel.shape_combo.currentText() == record.shape_id
    with qtbot.waitSignal(panel.sample_chosen, timeout=5000) as chosen:
        panel.use_view_button.click()
    image, a, b, name = chosen.args
    assert image.dtype == np.uint8 and np.array_equal(image, record.images[1])
    assert (a, b) == (pytest.approx(float(record.a[1])), pytest.approx(float(record.b[1])))
    assert record.shape_id in name and "1" in name
    # The ground truth is in that view's frame: rotated, normalized, as the reconstruction will be.
    np.testing.assert_allclose(panel.ground_truth.vertices, record.to_view(record.mesh_vertices, 1), atol=1e-5)
    assert panel.ground_truth.extents.max() == pytest.approx(1.0, abs=1e-4)

    perfect = panel.ground_truth.copy()
    viewer.show_mesh(perfect)
    panel.set_reconstruction(perfect)
    result = wait_for_result(qtbot, panel)
    assert result.metrics.iou == 1.0 and np.abs(result.vertex_distance).max() < 1e-9

    reopened = ComparePanel(FakeViewer())  # the last data set comes back
    qtbot.addWidget(reopened)
    assert reopened.dataset_edit.text() == str(tiny_dataset) and reopened.use_view_button.isEnabled()


def test_overlays_on_the_real_viewer(qtbot, panel, tmp_path):
    viewer_module = pytest.importorskip("svr_desktop.gui.viewer")
    viewer = viewer_module.MeshViewer()
    qtbot.addWidget(viewer)
    viewer.show()
    panel = ComparePanel(viewer)
    panel.settings = QUICK
    qtbot.addWidget(panel)
    path = tmp_path / "gt.stl"
    box(1.0, 0.7, 0.6).export(path)
    panel.load_ground_truth_file(path)
    reconstruction = box(1.0, 0.8, 0.6).subdivide()
    viewer.show_mesh(reconstruction)
    panel.set_reconstruction(reconstruction)
    wait_for_result(qtbot, panel)
    for check in (panel.heat_map_check, panel.edges_check):
        check.toggle()
        check.toggle()
    assert "Compared" in panel.status_label.text()
    assert viewer.mesh is not None


def counting_comparisons(monkeypatch) -> list:
    """Record every comparison the panel starts (the real one still runs)."""
    calls = []
    real = compare_panel_module.compare_to_ground_truth

    def counted(*args, **kwargs):
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(compare_panel_module, "compare_to_ground_truth", counted)
    return calls


def test_display_toggles_known_size_and_icp_back_never_recompute(qtbot, panel, viewer, monkeypatch):
    calls = counting_comparisons(monkeypatch)
    reconstruction = box(1.0, 0.8, 0.6)
    viewer.show_mesh(reconstruction)
    panel.set_reconstruction(reconstruction)
    panel._set_ground_truth(box(1.0, 0.7, 0.6), "gt")
    result = wait_for_result(qtbot, panel)
    assert len(calls) == 1
    for check in (panel.edges_check, panel.heat_map_check, panel.surface_check):
        check.toggle()
        check.toggle()
    panel.set_mm_per_unit(120.0)
    panel.set_mm_per_unit(None)
    panel.set_reconstruction(reconstruction)  # the same mesh again
    assert len(calls) == 1 and panel.result is result and table_values(panel)["iou"] == format_metric(result.metrics.iou)

    panel.refine_check.setChecked(True)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60_000)
    assert len(calls) == 2 and calls[1][1]["unrefined"] is result  # only the refined alignment is measured
    panel.refine_check.setChecked(False)
    assert panel.result is result and table_values(panel)["iou"] == format_metric(result.metrics.iou)
    panel.refine_check.setChecked(True)
    assert panel.result is not None and len(calls) == 2

    panel.set_reconstruction(box(1.0, 0.9, 0.6))  # a new pair is measured again
    wait_for_result(qtbot, panel)
    assert len(calls) == 3


def test_lengths_and_heat_map_in_mm_with_a_known_size_and_the_reference_as_a_surface(qtbot, panel, viewer):
    reconstruction = box(2.0, 1.6, 1.2)  # longest side 2 units in the reconstruction's coordinates
    viewer.show_mesh(reconstruction)
    panel.set_reconstruction(reconstruction)
    panel._set_ground_truth(box(1.0, 0.7, 0.6), "gt")
    result = wait_for_result(qtbot, panel)
    normalized = table_values(panel)
    units = {panel.metrics_table.item(row, 0).data(Qt.ItemDataRole.UserRole): panel.metrics_table.item(row, 2).text()
             for row in range(panel.metrics_table.rowCount())}
    assert units["chamfer_l1"] == "normalized units" and units["iou"] == "unitless"

    panel.set_mm_per_unit(60.0)  # the longest side is 120 mm: 120 mm per shared (normalized) unit
    shown = table_values(panel)
    direct = result.metrics.as_dict()
    for key in ("chamfer_l1", "accuracy", "completeness", "edge_chamfer", "emd"):
        assert shown[key] == format_metric(direct[key] * 120.0, "mm")
    assert shown["iou"] == normalized["iou"] and shown["fscore"] == normalized["fscore"]
    assert panel.metrics_table.item(1, 2).text() == "mm" and "mm" in panel.status_label.text()
    assert "1.2 mm" in panel.metrics_table.item(5, 1).toolTip()  # F-score's tau = 0.01 normalized units
    panel.heat_map_check.setChecked(True)
    np.testing.assert_allclose(viewer.scalars, 0.05 * 120.0, atol=1e-6)  # corners stick out 6 mm
    assert "mm" in viewer.scalars_title
    panel.set_mm_per_unit(None)
    np.testing.assert_allclose(viewer.scalars, 0.05, atol=1e-9)
    assert table_values(panel) == normalized and "normalized" in viewer.scalars_title

    # The aligned ground truth, drawn translucent where it lies on the reconstruction.
    surface, colour = viewer.surfaces[GT_SURFACE]
    np.testing.assert_allclose(surface.extents, [2.0, 1.4, 1.2], atol=1e-6)
    np.testing.assert_allclose(surface.bounds.mean(axis=0), reconstruction.bounds.mean(axis=0), atol=1e-6)
    panel.surface_check.setChecked(False)
    assert GT_SURFACE not in viewer.surfaces
    panel.surface_check.setChecked(True)
    assert GT_SURFACE in viewer.surfaces
    panel.set_reconstruction(None)
    assert viewer.surfaces == {} and viewer.points == {}


def test_a_reference_of_another_part_is_warned_about_and_the_true_one_is_not(qtbot, panel, viewer):
    plate = box(1.0, 1.0, 0.1)  # seen from the front: a square
    viewer.show_mesh(plate)
    panel.set_reconstruction(plate)
    panel._set_ground_truth(box(1.0, 0.15, 0.15), "bar")  # seen from the front: a thin strip
    result = wait_for_result(qtbot, panel)
    assert result.reference.mismatch
    assert not panel.warning_label.isHidden()
    assert "may not be the reconstructed part" in panel.warning_label.text()
    assert f"{result.reference.silhouette_iou:.0%}" in panel.warning_label.text()

    panel._set_ground_truth(box(1.0, 0.95, 0.12), "the plate")
    result = wait_for_result(qtbot, panel)
    assert not result.reference.mismatch and result.reference.silhouette_iou > 0.9
    assert panel.warning_label.isHidden() and panel.warning_label.text() == ""
