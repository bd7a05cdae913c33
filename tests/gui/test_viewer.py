"""The 3D viewer: meshes, display toggles, view presets, heat maps, point overlays, screenshots."""

import gc

import numpy as np
import pytest
import trimesh
from PIL import Image
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtGui import QSurface
from PySide6.QtWidgets import QMainWindow

from svr_desktop.gui.viewer import LEGEND_MIN_PIXELS, MeshViewer
from svr_desktop.inference.display import DISPLAY_FACES, DISPLAY_THRESHOLD, display_mesh


@pytest.fixture
def viewer(qtbot):
    viewer = MeshViewer()
    qtbot.addWidget(viewer)
    viewer.resize(480, 360)
    viewer.show()
    qtbot.waitExposed(viewer)
    yield viewer
    viewer.shutdown()


@pytest.fixture
def block():
    """A 0.8 x 0.4 x 0.2 block in the view frame."""
    return trimesh.creation.box(extents=(0.8, 0.4, 0.2))


def camera_direction(viewer):
    camera = viewer.plotter.camera
    direction = np.subtract(camera.position, camera.focal_point)
    return direction / np.linalg.norm(direction)


def test_a_mesh_is_shown_and_fills_the_view(viewer, block):
    background = viewer.render_image()
    viewer.show_mesh(block)
    assert viewer.mesh is block
    assert "mesh" in viewer.plotter.actors
    image = viewer.render_image()
    changed = np.abs(image.astype(int) - background.astype(int)).sum(axis=2) > 30
    assert 0.05 < changed.mean() < 0.95  # the block is drawn, and fitted inside the view

    with pytest.raises(ValueError, match="no faces"):
        viewer.show_mesh(trimesh.Trimesh())
    assert viewer.mesh is block


def test_display_toggles(viewer, block):
    assert not viewer.edges_action.isEnabled()  # nothing to show them on yet
    viewer.show_mesh(block, mm_per_unit=150.0)
    prop = viewer.plotter.actors["mesh"].prop
    assert not prop.show_edges
    viewer.edges_action.setChecked(True)
    assert viewer.plotter.actors["mesh"].prop.show_edges
    viewer.wireframe_action.setChecked(True)
    assert viewer.plotter.actors["mesh"].prop.style == "Wireframe"
    viewer.normals_action.setChecked(True)
    assert "normals" in viewer.plotter.actors
    viewer.box_action.setChecked(True)
    assert "bounding box" in viewer.plotter.actors
    assert viewer.dimension_labels() == ["x 120.0 mm", "y 60.0 mm", "z 30.0 mm"]
    viewer.set_mm_per_unit(None)
    assert viewer.dimension_labels() == ["x 0.800", "y 0.400", "z 0.200"]
    viewer.normals_action.setChecked(False)
    viewer.box_action.setChecked(False)
    assert not {"normals", "bounding box"} & set(viewer.plotter.actors)


def test_all_three_dimensions_are_shown_in_millimetres(viewer, block):
    viewer.show_mesh(block, mm_per_unit=150.0)
    assert "size" in viewer.plotter.actors  # in a corner, whatever the toggles and the camera
    assert viewer.size_text() == "Size 120.0 × 60.0 × 30.0 mm (x × y × z)"
    viewer.set_mm_per_unit(None)
    assert viewer.size_text() == "Size 0.800 × 0.400 × 0.200 normalized (set a known size for mm)"

    viewer.box_action.setChecked(True)
    assert "bounding box labels-labels" in viewer.plotter.actors
    iso = np.ones(3) / np.sqrt(3)
    for axis, anchor in enumerate(viewer.dimension_anchors()):
        others = [k for k in range(3) if k != axis]
        assert anchor[axis] == pytest.approx((block.bounds[0][axis] + block.bounds[1][axis]) / 2)
        # On an edge of the box along the axis, bordering a face that the iso camera sees.
        on_faces = [np.sign(anchor[k] - block.bounds.mean(axis=0)[k]) * np.eye(3)[k] for k in others]
        assert any(face @ iso > 0 for face in on_faces), (axis, anchor)
    viewer.box_action.setChecked(False)  # the labels go with the box
    assert not [name for name in viewer.plotter.actors if name.startswith("bounding box")]
    viewer.clear()
    assert viewer.size_text() == "" and len(viewer.dimension_anchors()) == 0


@pytest.mark.parametrize(
    "preset, direction, up",
    [("front", (0, 0, 1), (0, 1, 0)), ("top", (0, 1, 0), (0, 0, -1)), ("side", (1, 0, 0), (0, 1, 0))],
)
def test_view_presets_look_along_the_view_frame_axes(viewer, block, preset, direction, up):
    viewer.show_mesh(block)
    viewer.set_view(preset)
    assert camera_direction(viewer) == pytest.approx(direction, abs=1e-6)
    assert viewer.plotter.camera.up == pytest.approx(up, abs=1e-6)


def test_a_mesh_can_be_shown_from_a_preset_such_as_the_photos_viewpoint(viewer, block):
    viewer.show_mesh(block, view="front")
    assert camera_direction(viewer) == pytest.approx((0, 0, 1), abs=1e-6)


def test_iso_view_and_reset_camera(viewer, block):
    viewer.show_mesh(block)
    assert camera_direction(viewer) == pytest.approx(np.ones(3) / np.sqrt(3), abs=1e-6)
    viewer.plotter.camera.zoom(5.0)
    zoomed = viewer.plotter.camera.parallel_scale, viewer.plotter.camera.view_angle, viewer.plotter.camera.distance
    viewer.reset_camera()
    assert (viewer.plotter.camera.parallel_scale, viewer.plotter.camera.view_angle, viewer.plotter.camera.distance) != zoomed


def test_heat_map_and_plain_colour(viewer, block):
    viewer.show_mesh(block)
    with pytest.raises(ValueError, match="one value per vertex"):
        viewer.set_mesh_scalars(np.zeros(3))
    viewer.set_mesh_scalars(np.linspace(0, 1, len(block.vertices)), "distance")
    assert "distance" in viewer.plotter.scalar_bars
    assert viewer.plotter.actors["mesh"].mapper.scalar_visibility
    viewer.set_mesh_scalars(None)
    assert len(viewer.plotter.scalar_bars) == 0
    assert not viewer.plotter.actors["mesh"].mapper.scalar_visibility


def test_the_heat_map_legend_stays_inside_the_view_clear_of_the_size_line(viewer, block):
    """Issue 15: the colour bar stood at the right edge, its title cut off by it."""
    viewer.show_mesh(block, mm_per_unit=100.0)
    viewer.set_mesh_scalars(np.linspace(0, 1, len(block.vertices)), "distance to ground truth (mm)")
    bar = viewer.plotter.scalar_bars["distance to ground truth (mm)"]
    x, y = bar.GetPosition()
    width, height = bar.GetPosition2()  # relative to the position
    assert bar.GetOrientation() == 0  # horizontal: the title runs along the bar, not past the edge
    assert 0.5 <= x and x + width <= 0.97 and 0 < y and y + height < 0.4  # lower right; the size line is lower left
    assert height * viewer.plotter.height() >= LEGEND_MIN_PIXELS - 1  # title, labels and bar do not overlap
    assert bar.GetNumberOfLabels() == 2  # the ends only: a middle label would run into the centred title


def test_point_overlays_by_name(viewer, block):
    viewer.show_mesh(block)
    viewer.set_points("edges", np.random.default_rng(0).random((50, 3)), "green")
    viewer.set_points("edges", np.zeros((5, 3)), "red")
    viewer.set_points("other", np.ones((3, 3)), "blue")
    overlays = [name for name in viewer.plotter.actors if name.startswith("points: ")]
    assert sorted(overlays) == ["points: edges", "points: other"]
    assert viewer.plotter.actors["points: edges"].mapper.dataset.n_points == 5
    with pytest.raises(ValueError):
        viewer.set_points("bad", np.zeros((4, 2)), "red")
    viewer.clear_points("edges")
    viewer.clear_points("never shown")
    assert "points: edges" not in viewer.plotter.actors and "points: other" in viewer.plotter.actors

    viewer.clear()
    assert viewer.mesh is None and not viewer.plotter.actors


def test_screenshot_is_written_as_png(viewer, block, tmp_path):
    viewer.show_mesh(block)
    path = viewer.save_screenshot(tmp_path / "view.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (viewer.plotter.width(), viewer.plotter.height())
        assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 50


@pytest.fixture(scope="module")
def large_mesh():
    """A sphere of 327,680 faces, above the display threshold, with its lighter copy."""
    mesh = trimesh.creation.icosphere(subdivisions=7)
    np.asarray(mesh.vertex_normals)
    return mesh, display_mesh(mesh)


def test_a_large_mesh_is_drawn_through_its_lighter_copy(viewer, large_mesh):
    mesh, display = large_mesh
    assert len(mesh.faces) > DISPLAY_THRESHOLD and display.is_copy
    viewer.show_mesh(mesh, display=display)
    assert viewer.mesh is mesh and viewer.drawn_faces == len(display.mesh.faces) <= DISPLAY_FACES
    assert viewer.plotter.actors["mesh"].mapper.dataset.n_cells == viewer.drawn_faces
    assert "2.000 x 2.000 x 2.000" in viewer.size_text().replace("×", "x")  # the full mesh's size
    # A heat map of the full mesh's vertices colours the copy.
    viewer.set_mesh_scalars(np.asarray(mesh.vertices[:, 1]), "height")
    drawn = viewer.plotter.actors["mesh"].mapper.dataset.point_data["scalars"]
    assert np.abs(drawn - display.mesh.vertices[:, 1]).max() < 0.05
    with pytest.raises(ValueError, match="display copy"):
        viewer.show_mesh(trimesh.creation.icosphere(subdivisions=2), display=display)


def test_edges_on_a_large_mesh_keep_its_shading(viewer, large_mesh):
    """Issue 15: "Edges" on a mesh of a few hundred thousand faces turned it black."""
    mesh, display = large_mesh
    background = viewer.render_image().astype(int)
    viewer.show_mesh(mesh, display=display, view="front")
    plain = viewer.render_image().astype(int)
    part = np.abs(plain - background).sum(axis=2) > 30
    viewer.edges_action.setChecked(True)
    edged = viewer.render_image().astype(int)
    assert part.mean() > 0.1
    assert edged[part].mean() > 0.7 * plain[part].mean()
    assert np.abs(edged[part] - plain[part]).mean() > 2  # the edges are drawn


def live_surface_wrappers() -> list[QSurface]:
    gc.collect()
    return [item for item in gc.get_objects() if isinstance(item, QSurface)]


def test_a_closed_viewer_leaves_no_wrapper_of_its_gl_surface(qtbot):
    # A QSurface wrapper that outlives its window is stale: a Qt object later made at the
    # same address comes back as it (pyqtgraph then failed to build the training plots).
    window = QMainWindow()
    viewer = MeshViewer()
    window.setCentralWidget(viewer)
    window.resize(400, 300)
    window.show()
    qtbot.waitExposed(window)
    viewer.render_image()
    before = len(live_surface_wrappers())
    viewer.shutdown()  # as the main window does when it closes
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert len(live_surface_wrappers()) == before - 1
