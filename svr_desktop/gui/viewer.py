"""The 3D viewer: a reconstruction (or any mesh) in an embedded pyvistaqt ``QtInteractor``.

Meshes are in the view frame (DESIGN.md section 2: x right, y up, z towards
the camera), so the *front* preset looks down -z, as the photo was taken.
The toolbar toggles edges, wireframe, face normals and a bounding box
labelled with its dimensions (millimetres once a real scale is known), sets
view presets, resets the camera and saves a screenshot.  A corner of the
view always states the part's three dimensions, so the size is there
whatever the toggles and the camera.  Other panels add a
per-vertex heat map (:meth:`MeshViewer.set_mesh_scalars`), named point
overlays (:meth:`MeshViewer.set_points`) and named translucent surfaces
(:meth:`MeshViewer.set_surface`, e.g. a reference mesh over the
reconstruction).  Everything here runs in the GUI
thread; callers hand in trimesh / numpy data.

A large mesh takes a software-OpenGL render hundreds of milliseconds, during
which the window does not react, so every change here renders the scene
once: pyvista calls are made with ``render=False`` and the view is repainted
through Qt (:meth:`MeshViewer._repaint`).

A mesh over a few hundred thousand faces is drawn through the lighter copy
the reconstruction job made (:mod:`svr_desktop.inference.display`): every
render stays fast and "Edges" stays readable, while the dimensions, the heat
map's values and everything exported come from the full mesh.

A point-cloud reconstruction (the ``pointcloud`` method) is shown the same
way as a mesh, as points: it has the same bounding box, size line and
dimension labels; edges, wireframe and normals need faces and are off.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyvista as pv
import trimesh
from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox, QToolBar, QVBoxLayout, QWidget
from pyvistaqt import QtInteractor

from ..inference.display import DisplayMesh
from .images import save_png
from .settings import read_str

#: Colour of the mesh (a light steel blue: reads as metal, differs from every backdrop).
MESH_COLOUR = "#7fa7d0"
#: Triangle edges: dark, but half transparent, so that where triangles are a few pixels
#: small the shading still shows through instead of the part turning edge-coloured.
EDGE_COLOUR = "#2b3a4a"
EDGE_OPACITY = 0.45
#: Viewer background gradient (bottom, top).
BACKGROUND = ("#f4f6f8", "#c9d3de")
#: Size (pixels) of the points of a point-cloud reconstruction.
CLOUD_POINT_SIZE = 5
#: At most this many face normals are drawn as arrows (spread over the mesh).
MAX_NORMAL_ARROWS = 2000

#: Camera direction (from the focal point towards the camera) and view-up of each preset.
VIEW_PRESETS = {
    "front": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "top": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
    "side": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "iso": ((1.0, 1.0, 1.0), (0.0, 1.0, 0.0)),
}

_MESH = "mesh"
_NORMALS = "normals"
_BOX = "bounding box"
_BOX_LABELS = "bounding box labels"
#: The actor pyvista's add_point_labels makes from its name (it appends "-labels").
_BOX_LABEL_ACTOR = _BOX_LABELS + "-labels"
_SIZE_TEXT = "size"
_POINTS = "points: "
_SURFACE = "surface: "
#: Opacity of an overlay surface: the reconstruction stays visible through it.
SURFACE_OPACITY = 0.35
#: Where the heat map's colour bar goes (fractions of the view): across the lower right, clear of the
#: size line in the lower left, so that its title and labels stay inside the view at any width
#: (a vertical bar at the right edge had its title cut off by the edge).
LEGEND = {
    "vertical": False,
    "position_x": 0.52,
    "position_y": 0.05,
    "width": 0.44,
    "height": 0.09,
    "title_font_size": 13,
    "label_font_size": 11,
    "n_labels": 2,  # the two ends: a label in the middle would run into the centred title
    "fmt": "%.3g",
    "unconstrained_font_size": True,  # the sizes above, not shrunk or grown with the bar
}
#: Smallest height of the colour bar with its title and labels (pixels).
LEGEND_MIN_PIXELS = 64


class _Interactor(QtInteractor):
    """pyvistaqt's interactor, which also lets go of its GL surface when it closes.

    pyvistaqt 0.13 keeps the surface of the window's GL context as a plain ``QSurface``
    wrapper. Shiboken does not invalidate such a wrapper when Qt deletes the window behind
    it, so a Qt object created later at the same address comes back from ``children()`` as
    that stale ``QSurface`` (seen as pyqtgraph failing to build a plot: "'QSurface' object
    has no attribute 'children'"). ``close`` runs on :meth:`MeshViewer.shutdown` and, through
    pyvistaqt's own connection, when the viewer is destroyed.
    """

    def close(self) -> None:
        super().close()
        self._forget_context()


class MeshViewer(QWidget):
    """A mesh with good default lighting, display toggles, view presets and overlays."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        # No periodic re-rendering (pyvistaqt's default is 5 per second): every change here
        # renders once, and a large mesh would otherwise keep the GUI thread busy.
        self.plotter = _Interactor(self, auto_update=False)
        self.plotter.set_background(BACKGROUND[0], top=BACKGROUND[1])
        self.plotter.enable_anti_aliasing("fxaa")
        self._mesh: trimesh.Trimesh | trimesh.PointCloud | None = None
        self._display: DisplayMesh | None = None  # what is drawn for a mesh
        self._mm_per_unit: float | None = None
        self._scalars: np.ndarray | None = None
        self._scalars_title = ""
        self._points: dict[str, tuple[np.ndarray, str]] = {}
        self._surfaces: dict[str, trimesh.Trimesh] = {}

        self.toolbar = QToolBar("3D view", self)
        self.edges_action = self._toggle("Edges", "Show the triangle edges")
        self.wireframe_action = self._toggle("Wireframe", "Show the mesh as a wireframe")
        self.normals_action = self._toggle("Normals", "Show face normals as arrows")
        self.box_action = self._toggle("Bounding box", "Show the bounding box with its dimensions")
        self.toolbar.addSeparator()
        for name in VIEW_PRESETS:
            action = self.toolbar.addAction(name.capitalize())
            action.setToolTip(f"Look at the part from the {name}" if name != "iso" else "Isometric view")
            action.triggered.connect(lambda _=False, view=name: self.set_view(view))
        self.toolbar.addAction("Reset", self.reset_camera).setToolTip("Fit the part in the view")
        self.toolbar.addSeparator()
        self.screenshot_action = self.toolbar.addAction("Screenshot…", self.ask_screenshot)
        self.screenshot_action.setToolTip("Save the 3D view as a PNG image")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.plotter, 1)
        self._update_actions()

    def _toggle(self, text: str, tip: str) -> QAction:
        action = self.toolbar.addAction(text)
        action.setCheckable(True)
        action.setToolTip(tip)
        action.toggled.connect(lambda _checked: self._redraw())
        return action

    # --- the mesh ------------------------------------------------------------

    @property
    def mesh(self) -> trimesh.Trimesh | trimesh.PointCloud | None:
        """The mesh (or reconstructed point cloud) shown, or ``None``."""
        return self._mesh

    @property
    def shows_points(self) -> bool:
        """Whether the part shown is a point cloud (no faces: edges, wireframe and normals are off)."""
        return isinstance(self._mesh, trimesh.PointCloud)

    @property
    def drawn_faces(self) -> int | None:
        """Faces drawn for the mesh shown: fewer than it has when a lighter copy stands in; ``None``
        without a mesh."""
        return None if self._display is None else len(self._display.mesh.faces)

    def show_mesh(
        self,
        mesh: trimesh.Trimesh | trimesh.PointCloud,
        mm_per_unit: float | None = None,
        view: str = "iso",
        display: DisplayMesh | None = None,
    ) -> None:
        """Show ``mesh`` or a point cloud (replacing the previous one and its heat map; point
        overlays stay) and fit the camera in the preset ``view`` (the main window passes
        ``front`` after a reconstruction: the photo's viewpoint).  ``mm_per_unit`` labels the
        bounding box in mm.  ``display`` is what to draw for a mesh (default: the mesh itself),
        e.g. the lighter copy of a large one that :func:`.display_mesh` made off the GUI thread."""
        if isinstance(mesh, trimesh.PointCloud):
            if len(mesh.vertices) == 0:
                raise ValueError("the point cloud has no points, nothing to show")
            display = None
        elif len(mesh.faces) == 0:
            raise ValueError("the mesh has no faces, nothing to show")
        elif display is None:
            display = DisplayMesh(mesh, len(mesh.faces))
        elif display.full_faces != len(mesh.faces):
            raise ValueError(f"the display copy is of a mesh of {display.full_faces:,} faces, not {len(mesh.faces):,}")
        self._mesh, self._display = mesh, display
        self._mm_per_unit = mm_per_unit
        self._scalars = None
        self._redraw()
        self.set_view(view)

    def set_mm_per_unit(self, mm_per_unit: float | None) -> None:
        """Change the real scale the bounding box is labelled with (``None``: normalized units)."""
        self._mm_per_unit = mm_per_unit
        self._redraw()

    def clear(self) -> None:
        """Remove the mesh, its heat map and every point and surface overlay."""
        self._mesh = self._display = None
        self._scalars = None
        self._points.clear()
        self._surfaces.clear()
        self.plotter.clear_actors()
        self._remove_scalar_bars()
        self._update_actions()
        self._repaint()

    def set_mesh_scalars(self, scalars: np.ndarray | None, title: str = "") -> None:
        """Colour the shown mesh by one value per vertex (a heat map with a colour bar
        titled ``title``); ``None`` restores the plain colour."""
        if scalars is not None:
            if self._mesh is None or self.shows_points:
                raise ValueError("no mesh is shown to colour")
            scalars = np.asarray(scalars, dtype=np.float64).reshape(-1)
            if len(scalars) != len(self._mesh.vertices):
                raise ValueError(
                    f"expected one value per vertex ({len(self._mesh.vertices)}), got {len(scalars)}"
                )
        self._scalars = scalars
        self._scalars_title = title
        self._redraw()

    # --- point overlays --------------------------------------------------------

    def set_points(self, name: str, points: np.ndarray, color: str) -> None:
        """Show an (N, 3) point cloud called ``name`` (replacing one of the same name)."""
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError(f"expected (N, 3) points, got {points.shape}")
        self._points[name] = (points, color)
        self._draw_points(name)
        self._repaint()

    def clear_points(self, name: str) -> None:
        """Remove the point overlay ``name`` (nothing happens if there is none)."""
        if self._points.pop(name, None) is not None:
            self.plotter.remove_actor(_POINTS + name, render=False)
            self._repaint()

    def _draw_points(self, name: str) -> None:
        points, color = self._points[name]
        if len(points) == 0:
            self.plotter.remove_actor(_POINTS + name, render=False)
            return
        self.plotter.add_points(
            points, color=color, point_size=6, render_points_as_spheres=True, name=_POINTS + name,
            reset_camera=False, render=False,
        )

    # --- surface overlays -------------------------------------------------------

    def set_surface(self, name: str, mesh: trimesh.Trimesh, color: str, opacity: float = SURFACE_OPACITY) -> None:
        """Show ``mesh`` as a translucent surface called ``name`` (replacing one of the same name)."""
        if len(mesh.faces) == 0:
            raise ValueError("the surface has no faces, nothing to show")
        self._surfaces[name] = mesh
        surface = pv.PolyData.from_regular_faces(
            np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int64)
        )
        self.plotter.add_mesh(
            surface, color=color, opacity=opacity, smooth_shading=False, name=_SURFACE + name,
            reset_camera=False, render=False,
        )
        self._repaint()

    def clear_surface(self, name: str) -> None:
        """Remove the surface overlay ``name`` (nothing happens if there is none)."""
        if self._surfaces.pop(name, None) is not None:
            self.plotter.remove_actor(_SURFACE + name, render=False)
            self._repaint()

    def surface(self, name: str) -> trimesh.Trimesh | None:
        """The mesh of surface overlay ``name``, or ``None``."""
        return self._surfaces.get(name)

    # --- drawing -------------------------------------------------------------

    def _redraw(self) -> None:
        """Rebuild every actor of the mesh from the current mesh, scalars and toggles."""
        for name in (_MESH, _NORMALS, _BOX, _BOX_LABEL_ACTOR, _SIZE_TEXT):
            self.plotter.remove_actor(name, render=False)
        self._remove_scalar_bars()
        if self._mesh is not None:
            self._draw_mesh()
            self.plotter.add_text(self.size_text(), position="lower_left", font_size=10, color="#222222", name=_SIZE_TEXT)
            if self.normals_action.isChecked() and not self.shows_points:
                self._draw_normals()
            if self.box_action.isChecked():
                self._draw_box()
        self._update_actions()
        self._repaint()

    def _repaint(self) -> None:
        """Have the view painted with the current scene when the event loop next runs.

        The widget's paint always renders the scene (pyvistaqt), so a
        synchronous ``plotter.render()`` would render it twice: once into
        VTK's framebuffer and again for the repaint that render schedules.
        Qt merges repaints asked for before the next paint into one.
        """
        self.plotter.update()

    def _remove_scalar_bars(self) -> None:
        for title in list(self.plotter.scalar_bars.keys()):
            self.plotter.remove_scalar_bar(title, render=False)

    def _draw_mesh(self) -> None:
        if self.shows_points:
            self.plotter.add_points(
                np.asarray(self._mesh.vertices, dtype=np.float64), color=MESH_COLOUR, point_size=CLOUD_POINT_SIZE,
                render_points_as_spheres=True, name=_MESH, reset_camera=False, render=False,
            )
            return
        drawn = self._display.mesh
        surface = pv.PolyData.from_regular_faces(
            np.asarray(drawn.vertices, dtype=np.float64), np.asarray(drawn.faces, dtype=np.int64)
        )
        # vertex normals come from trimesh's cache (computed off the GUI thread by the jobs)
        surface.point_data["Normals"] = np.asarray(drawn.vertex_normals, dtype=np.float32)
        surface.point_data.active_normals_name = "Normals"
        style = dict(
            show_edges=self.edges_action.isChecked(),
            edge_color=EDGE_COLOUR,
            edge_opacity=EDGE_OPACITY,
            style="wireframe" if self.wireframe_action.isChecked() else "surface",
            smooth_shading=True,
            specular=0.3,
            specular_power=20.0,
            name=_MESH,
            reset_camera=False,
            render=False,
        )
        if self._scalars is None:
            self.plotter.add_mesh(surface, color=MESH_COLOUR, **style)
        else:
            surface.point_data["scalars"] = self._display.vertex_values(self._scalars)
            self.plotter.add_mesh(
                surface,
                scalars="scalars",
                cmap="turbo",
                scalar_bar_args={"title": self._scalars_title or "value", **self.legend_placement()},
                **style,
            )

    def legend_placement(self) -> dict:
        """The heat map colour bar's placement: :data:`LEGEND`, at least :data:`LEGEND_MIN_PIXELS` high
        (its title, labels and bar share that height; less and they overlap in a small view)."""
        height = max(LEGEND["height"], LEGEND_MIN_PIXELS / max(1, self.plotter.height()))
        return {**LEGEND, "height": min(height, 0.3)}

    def _draw_normals(self) -> None:
        faces = len(self._mesh.faces)
        chosen = np.linspace(0, faces - 1, min(faces, MAX_NORMAL_ARROWS)).astype(np.int64)
        cloud = pv.PolyData(np.asarray(self._mesh.triangles_center[chosen]))
        cloud.point_data["normals"] = np.asarray(self._mesh.face_normals[chosen])
        length = 0.04 * float(np.linalg.norm(self._mesh.extents))
        arrows = cloud.glyph(orient="normals", scale=False, factor=length, geom=pv.Arrow())
        self.plotter.add_mesh(arrows, color="#d9534f", name=_NORMALS, reset_camera=False, render=False)

    def _draw_box(self) -> None:
        (x0, y0, z0), (x1, y1, z1) = self._mesh.bounds
        self.plotter.add_mesh(
            pv.Box((x0, x1, y0, y1, z0, z1)).outline(), color="#333333", line_width=2, name=_BOX,
            reset_camera=False, render=False,
        )
        # always_visible: an anchor on the box often lies on the part's own surface,
        # where VTK's depth test would hide the label half the time.
        self.plotter.add_point_labels(
            self.dimension_anchors(), self.dimension_labels(), font_size=14, show_points=False, shape_opacity=0.6,
            always_visible=True, name=_BOX_LABELS, reset_camera=False, render=False,
        )

    def dimension_anchors(self) -> np.ndarray:
        """Where the x, y and z labels sit: the middle of a box edge along each axis (empty without a mesh).

        Each edge borders the box's front face (z max) or its right face (x
        max), which the front, side and iso views all face, so no label hides
        behind the part: the z label used to sit on the back-left edge, out
        of sight in the iso view.
        """
        if self._mesh is None:
            return np.zeros((0, 3))
        (x0, y0, z0), (x1, y1, z1) = self._mesh.bounds
        return np.array([[(x0 + x1) / 2, y0, z1], [x0, (y0 + y1) / 2, z1], [x1, y0, (z0 + z1) / 2]])

    def dimension_labels(self) -> list[str]:
        """The bounding box's x, y and z sizes as labelled: millimetres once a real scale is
        known, normalized units otherwise (empty without a mesh)."""
        if self._mesh is None:
            return []
        sizes = zip("xyz", self._mesh.extents, strict=True)
        if self._mm_per_unit:
            return [f"{axis} {size * self._mm_per_unit:.1f} mm" for axis, size in sizes]
        return [f"{axis} {size:.3f}" for axis, size in sizes]

    def size_text(self) -> str:
        """The part's three dimensions in one line: millimetres with a known size, else normalized units."""
        if self._mesh is None:
            return ""
        extents = np.asarray(self._mesh.extents, dtype=np.float64)
        if self._mm_per_unit:
            return "Size " + " × ".join(f"{size:.1f}" for size in extents * self._mm_per_unit) + " mm (x × y × z)"
        return "Size " + " × ".join(f"{size:.3f}" for size in extents) + " normalized (set a known size for mm)"

    def _update_actions(self) -> None:
        has_mesh = self._mesh is not None
        self.box_action.setEnabled(has_mesh)
        for action in (self.edges_action, self.wireframe_action, self.normals_action):
            action.setEnabled(has_mesh and not self.shows_points)

    # --- camera and screenshots ----------------------------------------------------

    def set_view(self, name: str) -> None:
        """Look at the part from a preset: ``front`` (down -z), ``top``, ``side`` or ``iso``."""
        direction, up = VIEW_PRESETS[name]
        centre = np.asarray(self._mesh.bounds.mean(axis=0)) if self._mesh is not None else np.zeros(3)
        self.plotter.camera_position = [tuple(centre + np.asarray(direction)), tuple(centre), up]
        self.reset_camera()

    def reset_camera(self) -> None:
        """Fit everything shown into the view, keeping the direction."""
        self.plotter.renderer.reset_camera(render=False)  # the plotter's own always renders
        self._repaint()

    def render_image(self) -> np.ndarray:
        """The 3D view as an (H, W, 3) uint8 array."""
        self.plotter.render()
        return np.asarray(self.plotter.screenshot(None, return_img=True))

    def save_screenshot(self, path: str | Path) -> Path:
        """Write the 3D view to a PNG file (atomically)."""
        return save_png(self.render_image(), path)

    def ask_screenshot(self) -> None:
        settings = QSettings()
        folder = read_str(settings, "paths/screenshot_folder")
        path, _ = QFileDialog.getSaveFileName(self, "Save 3D view", folder, "PNG image (*.png)")
        if not path:
            return
        if not path.lower().endswith(".png"):
            path += ".png"
        try:
            self.save_screenshot(path)
        except OSError as exc:
            QMessageBox.warning(self, "Screenshot not saved", f"{path}: {exc}")
            return
        settings.setValue("paths/screenshot_folder", str(Path(path).parent))

    def shutdown(self) -> None:
        """Release the render window (call once, when the window closes)."""
        self.plotter.close()
