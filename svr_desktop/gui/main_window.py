"""The main window: photo in, parameters, reconstruction on a worker thread, 3D view, export.

Layout: the image panel and the parameters on the left, the 3D viewer on the
right, the training and comparison panels as docks.  The window owns the
session's state (the photo, its preparation, the loaded model, the last
reconstruction) and starts every slow step -- decoding and preparing photos,
loading checkpoints, reconstructing, simplifying, exporting -- as a core
generator on a worker thread (:mod:`.jobs`, :mod:`.latest_job`).  Results
come back to the GUI thread, where widgets and VTK objects are built.  Failures reach the
user as a status-bar message and a dialog naming the cause (and
:attr:`MainWindow.error_reported`, which scripted runs print); a failed
step changes nothing that was there before.

A point-cloud checkpoint (the ``pointcloud`` method) reconstructs a
``trimesh.PointCloud``: the viewer shows its points, File > Export offers
PLY only (mesh formats need a surface), and the Compare dock says that it
does not compare point clouds.
"""

from __future__ import annotations

from pathlib import Path

import trimesh
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ..inference.display import DisplayMesh
from ..inference.export import EXPORT_EXTENSIONS, POINT_CLOUD_EXTENSIONS, ExportReport, format_bytes
from ..inference.preprocess import Photo, PreparedPhoto, auto_ab
from ..inference.reconstructor import ReconstructionStats, Reconstructor
from ..inference.simplify import FaceTarget, SimplifyReport, simplify_for_export
from ..model.catalog import method_checkpoints
from ..paths import default_model_path, resources_dir
from ..training.checkpoint import CheckpointError, recorded_best_val_iou
from . import export_dialog, jobs
from .camera_dialog import CameraDialog, CameraUnavailable, find_cameras
from .compare_panel import ComparePanel
from .image_panel import ImagePanel
from .jobs import Framing
from .latest_job import LatestJob
from .parameters_panel import ParametersPanel
from .progress_strip import ProgressStrip
from .recent_files import RecentFiles
from .settings import read_str
from .training_panel import TrainingPanel
from .viewer import MeshViewer

PHOTO_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.gif *.ppm *.tga);;All files (*)"
#: Image size used to preview photos before a model is loaded.
PREVIEW_IMAGE_SIZE = 224
#: First-start window size and width of the docks (pixels).
DEFAULT_SIZE = (1600, 950)
DOCK_WIDTH = 420
#: Why a point cloud cannot be written as a mesh format (one line, for menus and dialogs).
POINTS_NEED_PLY = "This model reconstructs points, not a surface: export them as PLY (STL, OBJ and GLB need faces)"
#: How long closing waits for a worker to reach its next progress event (ms).
CLOSE_WAIT_MS = 15_000
#: Shortcut of File > Export… (the format written last).
EXPORT_SHORTCUT = "Ctrl+E"
#: The viewer's preset that looks from the photo's viewpoint (the view frame's +z is towards the camera).
PHOTO_VIEW = "front"


def user_guide_path() -> Path:
    """The user guide shipped with the application (Help > User guide)."""
    return resources_dir() / "user_guide.md"


class MainWindow(QMainWindow):
    """SVR Desktop's main window."""

    model_ready = Signal(str)  # a checkpoint was loaded (its path)
    model_missing = Signal(str)  # no model can be loaded (why)
    photo_ready = Signal()  # a photo was loaded or prepared again
    reconstruction_finished = Signal(object)  # the reconstructed trimesh, now shown
    export_finished = Signal(object)  # ExportReport
    error_reported = Signal(str)  # a message the user was shown

    def __init__(self, checkpoint: str | Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("SVR Desktop")
        self.setAcceptDrops(True)
        self.photo: Photo | None = None
        self.reconstructor: Reconstructor | None = None
        self.checkpoint: Path | None = None
        self.mesh: trimesh.Trimesh | trimesh.PointCloud | None = None  # a point cloud from a points model
        self.stats: ReconstructionStats | None = None
        self._mesh_photo_name = ""  # the photo the mesh was reconstructed from
        self._photo_is_framed_view = False
        self._prepared: PreparedPhoto | None = None
        self._prepared_for: tuple[Framing, int] | None = None
        # the newest photo job: (source, is a new photo, is a framed view, its own a, b or None)
        self._photo_request: tuple | None = None
        self._loading_checkpoint: Path | None = None
        self._model_device_choice = "auto"  # the device choice the loaded model was loaded with
        self._closed = False
        #: Scripted runs (``gui ... --quit``) leave the user's saved settings alone.
        self.persist_settings = True
        self._photo_job, self._model_job = LatestJob(), LatestJob()
        self._reconstruction_job, self._export_job = LatestJob(), LatestJob()
        self._simplify_job = LatestJob()
        #: The error-bounded simplification of :attr:`mesh` (mesh, its simplified copy, report), once measured.
        self._simplified: tuple[trimesh.Trimesh, trimesh.Trimesh, SimplifyReport] | None = None
        self._export_dialog: export_dialog.ExportDialog | None = None  # while one is open
        self._guide: QDialog | None = None  # Help > User guide, made on first use
        #: The photo the known size was given for (None: given before any photo, for the next one).
        self._known_size_photo: Photo | None = None

        self.image_panel = ImagePanel(self)
        self.parameters = ParametersPanel(self)
        self.viewer = MeshViewer(self)
        self.reconstruct_button = QPushButton("Reconstruct", self)
        self.reconstruct_button.setMinimumHeight(36)
        self.progress = ProgressStrip(self)
        self.summary_label = QLabel(self)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.summary_label)
        self._build_central()
        self._build_docks()
        self._build_menus()
        self._restore_settings()
        self._connect()
        self._update_actions()
        self.parameters.set_method_checkpoints(method_checkpoints(default_model_path()))
        QTimer.singleShot(0, lambda: self._start_model(checkpoint))

    @property
    def prepared(self) -> PreparedPhoto | None:
        """The current photo prepared for the network (``None`` while preparing or if that failed)."""
        return self._prepared

    # --- construction ---------------------------------------------------------

    def _build_central(self) -> None:
        controls = QWidget(self)
        column = QVBoxLayout(controls)
        column.addWidget(self.image_panel, 1)
        column.addWidget(self.parameters)
        column.addWidget(self.reconstruct_button)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(controls)
        self.splitter.addWidget(self.viewer)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)

    def _build_docks(self) -> None:
        self.training_panel = TrainingPanel(self)
        self.compare_panel = ComparePanel(self.viewer, self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.compare_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.training_panel)
        self.tabifyDockWidget(self.compare_panel, self.training_panel)
        self.compare_panel.raise_()
        self.resizeDocks([self.compare_panel], [DOCK_WIDTH], Qt.Orientation.Horizontal)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction("&Open photo…", self.ask_photo).setShortcut(QKeySequence.StandardKey.Open)
        self.recent_files = RecentFiles(file_menu.addMenu("Open &recent"))
        file_menu.addAction("&Capture from camera…", self.capture_from_camera)
        file_menu.addSeparator()
        file_menu.addAction("Choose &checkpoint…", self.parameters.ask_checkpoint)
        file_menu.addAction("Use the &default model", self.use_default_checkpoint)
        file_menu.addSeparator()
        self.export_action = file_menu.addAction("&Export…", self.export_current)
        self.export_action.setShortcut(QKeySequence(EXPORT_SHORTCUT))
        export_menu = file_menu.addMenu("&Export as")
        export_menu.setToolTipsVisible(True)  # says why mesh formats are off for a point cloud
        self.export_actions: dict[str, QAction] = {}
        for fmt in EXPORT_EXTENSIONS:
            action = export_menu.addAction(f"{fmt.upper()}…", lambda fmt=fmt: self.export_as(fmt))
            self.export_actions[fmt] = action
        file_menu.addSeparator()
        file_menu.addAction("&Quit", self.close).setShortcut(QKeySequence.StandardKey.Quit)

        run_menu = self.menuBar().addMenu("&Reconstruction")
        self.reconstruct_action = run_menu.addAction("&Reconstruct", self.reconstruct)
        self.reconstruct_action.setShortcut(QKeySequence("Ctrl+R"))
        self.cancel_action = run_menu.addAction("&Cancel", self.cancel_running)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))

        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.compare_panel.toggleViewAction())
        view_menu.addAction(self.training_panel.toggleViewAction())
        view_menu.addAction(self.viewer.toolbar.toggleViewAction())
        help_menu = self.menuBar().addMenu("&Help")
        self.guide_action = help_menu.addAction("&User guide", self.show_user_guide)
        self.guide_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        help_menu.addAction("&About SVR Desktop", self._about)

    def _connect(self) -> None:
        self.reconstruct_button.clicked.connect(self.reconstruct)
        self.progress.cancel_requested.connect(self.cancel_running)
        self.recent_files.open_requested.connect(self.open_photo)
        self.image_panel.background_changed.connect(lambda _: self._prepare_again())
        self.image_panel.rect_changed.connect(lambda _: self._prepare_again())
        self.parameters.checkpoint_requested.connect(self.set_checkpoint)
        self.parameters.default_checkpoint_requested.connect(self.use_default_checkpoint)
        self.parameters.device_changed.connect(self._device_changed)
        self.parameters.known_size_changed.connect(self._known_size_changed)
        self.training_panel.checkpoint_chosen.connect(self.set_checkpoint)
        self.compare_panel.sample_chosen.connect(self.open_framed_view)

    # --- messages ---------------------------------------------------------------

    def report_error(self, message: str, title: str = "SVR Desktop") -> None:
        """Tell the user: status bar, a (non-blocking) dialog and :attr:`error_reported`."""
        self.statusBar().showMessage(message)
        self._message_box(QMessageBox.Icon.Warning, title, message)
        self.error_reported.emit(message)

    def _message_box(self, icon: QMessageBox.Icon, title: str, text: str) -> QMessageBox:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        return box

    def show_user_guide(self) -> None:
        """Help > User guide (F1): the workflow, shortcuts, a and b, and what the model can do."""
        try:
            text = user_guide_path().read_text(encoding="utf-8")
        except OSError as exc:
            self.report_error(f"The user guide cannot be read: {exc}", "User guide")
            return
        if self._guide is None:
            self._guide = QDialog(self)
            self._guide.setWindowTitle("SVR Desktop user guide")
            browser = QTextBrowser(self._guide)
            browser.setOpenExternalLinks(True)
            layout = QVBoxLayout(self._guide)
            layout.addWidget(browser)
            self._guide.resize(720, 760)
        self._guide.findChild(QTextBrowser).setMarkdown(text)
        self._guide.show()
        self._guide.raise_()

    def _about(self) -> None:
        from .. import __version__

        QMessageBox.about(
            self,
            "About SVR Desktop",
            f"SVR Desktop {__version__}\n\nSingle-photo 3D reconstruction of industrial parts "
            "(implicit fields with a ResNet-18 + FPN encoder and adaptive labels).",
        )

    def _update_actions(self) -> None:
        running = self._reconstruction_job.is_running()
        reason = self._why_not_reconstruct()
        for widget in (self.reconstruct_button, self.reconstruct_action):
            widget.setEnabled(reason is None)
            widget.setToolTip(reason or "Reconstruct the part in 3D (Ctrl+R)")
        self.cancel_action.setEnabled(running or self._export_job.is_running())
        points = isinstance(self.mesh, trimesh.PointCloud)
        can_export = self.mesh is not None and not running and not self._export_job.is_running()
        self.export_action.setEnabled(can_export)
        self.export_action.setToolTip(f"Export the reconstruction ({EXPORT_SHORTCUT})")
        for fmt, action in self.export_actions.items():
            refused = points and fmt not in POINT_CLOUD_EXTENSIONS
            action.setEnabled(can_export and not refused)
            action.setToolTip(POINTS_NEED_PLY if refused else f"Write the reconstruction as {fmt.upper()}")
            action.setStatusTip(action.toolTip())

    def _why_not_reconstruct(self) -> str | None:
        if self._reconstruction_job.is_running():
            return "A reconstruction is running"
        if self._export_job.is_running():
            return "An export is running"
        if self._model_job.is_running():
            return "The model is loading"
        if self.reconstructor is None:
            return "No model is loaded: choose a checkpoint"
        if self.photo is None:
            return "Open a photo first"
        return None

    # --- photos ------------------------------------------------------------------

    def ask_photo(self) -> None:
        settings = QSettings()
        folder = read_str(settings, "paths/photo_folder")
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo of the part", folder, PHOTO_FILTER)
        if path:
            self.open_photo(path)

    def open_photo(self, path: str | Path) -> None:
        """Load and prepare a photo file; on failure the current photo stays."""
        self.statusBar().showMessage(f"Loading {path}…")
        self._start_photo_job(str(path), is_new=True, framed_view=False)

    def open_framed_view(self, image, a: float, b: float, name: str) -> None:
        """Use a data-set view (a square image framed like a training render) with its own a, b.

        The image goes to the network as it is: no background removal, no reframing.
        """
        try:
            photo = Photo.from_array(image, name=name)
        except ValueError as exc:
            self.report_error(str(exc))
            return
        self._start_photo_job(photo, is_new=True, framed_view=True, ab=(a, b))

    def capture_from_camera(self) -> None:
        try:
            cameras = find_cameras()
        except CameraUnavailable as exc:
            self.report_error(str(exc), "Capture from camera")
            return
        dialog = CameraDialog(cameras, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.image is not None:
            self._start_photo_job(Photo.from_array(dialog.image, name="camera photo"), is_new=True, framed_view=False)

    def _framing(self, framed_view: bool, rect) -> Framing:
        if framed_view:
            return Framing.as_is()
        segmenter = self.reconstructor.segmenter if self.reconstructor is not None else None
        return Framing(self.image_panel.background(), rect, segmenter=segmenter)

    def _image_size(self) -> int:
        return self.reconstructor.image_size if self.reconstructor is not None else PREVIEW_IMAGE_SIZE

    def _start_photo_job(self, source, is_new: bool, framed_view: bool, ab: tuple[float, float] | None = None) -> None:
        """Load (if new) and prepare a photo; ``ab`` (a framed view's own a, b) is applied on success."""
        framing = self._framing(framed_view, None if is_new else self.image_panel.rect())
        size = self._image_size()
        self._photo_request = (source, is_new, framed_view, ab)
        self._photo_job.start(
            lambda: jobs.preview_photo(source, size, framing),
            on_finished=lambda preview: self._photo_prepared(preview, self._photo_request, framing, size),
            on_failed=self._photo_failed,
        )

    def _prepare_again(self) -> None:
        """Background method, rectangle or model input size changed: find the silhouette again."""
        if self._photo_job.is_running() and self._photo_request[1]:
            self._start_photo_job(*self._photo_request)  # a new photo is still loading
        elif self.photo is not None:
            self._start_photo_job(self.photo, is_new=False, framed_view=self._photo_is_framed_view)

    def _photo_prepared(self, preview: jobs.PhotoPreview, request: tuple, framing: Framing, size: int) -> None:
        source, is_new, framed_view, ab = request
        cleared = ""
        if is_new:
            self.photo = preview.photo
            self._photo_is_framed_view = framed_view
            cleared = self._known_size_for_new_photo(preview.photo)
            self.image_panel.show_photo(preview.photo)
            self.image_panel.set_framing_enabled(not framed_view)
            if ab is not None:
                self.parameters.set_manual_ab(*ab)
            if isinstance(source, str):
                self.recent_files.add(source)
                QSettings().setValue("paths/photo_folder", str(Path(source).resolve().parent))
        if preview.prepared is None:
            self._prepared = self._prepared_for = None
            self.image_panel.show_problem(preview.problem)
            self.statusBar().showMessage(preview.problem)
        else:
            self._prepared, self._prepared_for = preview.prepared, (framing, size)
            self.image_panel.show_prepared(preview.prepared)
            if not framed_view:
                self.parameters.show_silhouette_ab(*auto_ab(preview.prepared))
            self.statusBar().showMessage(f"{preview.photo.name}: ready to reconstruct", 5000)
        if cleared:  # after the messages above, so that it stays in view
            self.statusBar().showMessage(
                f"Known size ({cleared}) cleared: it belonged to the previous part. "
                "Set it again under Parameters if this part has it too."
            )
        self._update_actions()
        self.photo_ready.emit()

    def _photo_failed(self, message: str) -> None:
        self.report_error(message, "Photo not loaded")
        self._update_actions()

    # --- drag and drop --------------------------------------------------------------

    @staticmethod
    def _dropped_files(event: QDragEnterEvent | QDropEvent) -> list[str]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_files(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if self._dropped_files(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = self._dropped_files(event)
        if not files:
            return
        event.acceptProposedAction()
        self.open_photo(files[0])
        if len(files) > 1:
            self.statusBar().showMessage(f"{len(files)} files dropped: opening the first, {files[0]}")

    # --- model ---------------------------------------------------------------------

    def _start_model(self, checkpoint: str | Path | None) -> None:
        if checkpoint is not None:
            self.set_checkpoint(checkpoint)
            return
        remembered = read_str(QSettings(), "model/checkpoint")
        if remembered and Path(remembered).is_file():
            self.set_checkpoint(remembered)
        else:
            self.use_default_checkpoint()

    def is_loading_model(self) -> bool:
        return self._model_job.is_running()

    def use_default_checkpoint(self) -> None:
        path = default_model_path()
        if not path.is_file():
            self._no_default_model(path)
            return
        QSettings().setValue("model/checkpoint", "")
        self._load_model(path)

    def _no_default_model(self, path: Path) -> None:
        message = (
            f"The default model ({path}) does not exist yet. Choose a trained checkpoint "
            "(a .safetensors file from `svr-desktop train`) to reconstruct."
        )
        self.statusBar().showMessage(message)
        if self.reconstructor is None:
            self.parameters.show_checkpoint(None, "no model: choose a checkpoint")
        box = self._message_box(QMessageBox.Icon.Information, "Choose a model", message)
        choose = box.addButton("Choose checkpoint…", QMessageBox.ButtonRole.AcceptRole)
        choose.clicked.connect(self.parameters.ask_checkpoint)
        self.model_missing.emit(message)

    def set_checkpoint(self, path: str | Path) -> None:
        """Load ``path`` (off the GUI thread); a file that is not a usable checkpoint is
        reported and the current model stays."""
        self._load_model(Path(path), remember=True)

    def _device_changed(self, _device: str) -> None:
        path = self._loading_checkpoint or self.checkpoint
        if path is not None:
            self._load_model(path)

    def _load_model(self, path: Path, remember: bool = False) -> None:
        device = self.parameters.device()
        self._loading_checkpoint = path
        self.statusBar().showMessage(f"Loading the model {path.name} on {device}…")
        self._model_job.start(
            lambda: jobs.load_model(path, device),
            on_finished=lambda reconstructor: self._model_loaded(path, reconstructor, remember, device),
            on_failed=lambda message: self._model_failed(path, message),
        )
        self._update_actions()

    def _model_loaded(self, path: Path, reconstructor: Reconstructor, remember: bool, device: str) -> None:
        old = self.reconstructor
        # A new input size or a new segmenter finds the silhouette differently: prepare the photo again.
        prepare_again = self._image_size() != reconstructor.image_size or (old is not None and old.segmenter) or reconstructor.segmenter
        self.reconstructor, self.checkpoint, self._loading_checkpoint = reconstructor, path, None
        self._model_device_choice = device
        self.parameters.set_threshold_kind(reconstructor.output_kind, reconstructor.default_threshold)
        self.parameters.set_turns_available(reconstructor.reads_turned_copies)
        self.parameters.set_method_checkpoints(method_checkpoints(default_model_path()))
        self.parameters.show_method(reconstructor.model.config.method)
        output = "point cloud" if reconstructor.output_kind == "points" else f"{reconstructor.output_kind} field"
        self.parameters.show_checkpoint(
            path, f"{reconstructor.image_size} px input, {output}, on {reconstructor.device}{_trained_to(path)}"
        )
        if remember:
            QSettings().setValue("model/checkpoint", str(path.resolve()))
        self.statusBar().showMessage(f"Model {path.name} loaded on {reconstructor.device}", 5000)
        if prepare_again:
            self._prepare_again()
        self._update_actions()
        self.model_ready.emit(str(path))

    def _model_failed(self, path: Path, message: str) -> None:
        self._loading_checkpoint = None
        if self.reconstructor is not None:  # the model in use stays, and so do its device and method
            self.parameters.set_device(self._model_device_choice)
        self.parameters.show_method(self.reconstructor.model.config.method if self.reconstructor is not None else None)
        kept = f" Still using {self.checkpoint.name}." if self.checkpoint is not None else ""
        named = message if str(path) in message else f"{path}: {message}"
        self.report_error(f"The model was not loaded: {named}.{kept}", "Model not loaded")
        self._update_actions()

    # --- reconstruction -----------------------------------------------------------------

    def reconstruct(self) -> None:
        """Reconstruct the current photo on a worker thread (Ctrl+R)."""
        reason = self._why_not_reconstruct()
        if reason is not None:
            self.statusBar().showMessage(reason, 5000)
            return
        reconstructor, photo = self.reconstructor, self.photo
        framing = self._framing(self._photo_is_framed_view, self.image_panel.rect())
        prepared = self._prepared if self._prepared_for == (framing, reconstructor.image_size) else None
        values = self.parameters.parameters()
        plan = jobs.reconstruction_plan(values.settings, reconstructor.output_kind)
        self.progress.start("Reconstructing…", plan, "Stop the reconstruction (Esc)")
        # The last job's "Reconstruction finished" must not stand beside a running one.
        self.statusBar().showMessage(f"Reconstructing {photo.name}…")
        self._reconstruction_job.start(
            lambda: jobs.reconstruct(reconstructor, photo, prepared, framing, values.a, values.b, values.settings),
            on_finished=lambda result: self._reconstructed(photo, framing, *result),
            on_failed=self._reconstruction_failed,
            on_progress=self.progress.show_progress,
            on_cancelled=self._reconstruction_cancelled,
        )
        self._update_actions()

    def cancel_reconstruction(self) -> None:
        """Stop the running reconstruction at its next progress event."""
        if self._reconstruction_job.is_running():
            self._reconstruction_job.cancel()
            self.statusBar().showMessage("Cancelling the reconstruction…")

    def cancel_running(self) -> None:
        """Stop the running reconstruction or export, the job the progress strip shows (Esc)."""
        if self._export_job.is_running():
            self._export_job.cancel()
            self.statusBar().showMessage("Cancelling the export…")
        else:
            self.cancel_reconstruction()

    def _reconstructed(
        self, photo: Photo, framing: Framing, mesh, stats: ReconstructionStats, prepared, display: DisplayMesh | None
    ) -> None:
        self.progress.finish()
        current = framing == self._framing(self._photo_is_framed_view, self.image_panel.rect())
        if photo is self.photo and current:  # else a newer preparation is (being) shown
            self._prepared, self._prepared_for = prepared, (framing, prepared.image_size)
            self.image_panel.show_prepared(prepared)
            if not self._photo_is_framed_view:
                self.parameters.show_silhouette_ab(stats.a, stats.b)
        points = isinstance(mesh, trimesh.PointCloud)
        if not points and len(mesh.faces) == 0:
            self.report_error(
                "The model found no part in this photo (empty mesh). Try a lower threshold, other a and b, "
                "or another background removal (a rectangle around the part helps).",
                "Nothing reconstructed",
            )
            self._update_actions()
            return
        self.mesh, self.stats, self._mesh_photo_name = mesh, stats, photo.name
        self._simplified = None
        self._simplify_job.abandon()
        self.viewer.show_mesh(mesh, self.parameters.mm_per_unit(mesh), view=PHOTO_VIEW, display=display)
        watertight = "watertight" if stats.watertight else "NOT watertight"
        shape = f"{stats.points:,} points" if points else f"{stats.faces:,} faces · {watertight}"
        if display is not None and display.is_copy:
            shape += f" · shown with {len(display.mesh.faces):,}"
        self.summary_label.setText(f"{shape} · {stats.total_seconds:.1f} s · {stats.device}")
        self.statusBar().showMessage("Reconstruction finished" + (f": {'; '.join(stats.notes)}" if stats.notes else ""))
        self.compare_panel.set_mm_per_unit(self.parameters.mm_per_unit(mesh))
        self.compare_panel.set_reconstruction(mesh)
        self._update_actions()
        self.reconstruction_finished.emit(mesh)

    def _reconstruction_failed(self, message: str) -> None:
        self.progress.finish()
        self.report_error(f"The reconstruction failed: {message}", "Reconstruction failed")
        self._update_actions()

    def _reconstruction_cancelled(self) -> None:
        self.progress.finish()
        self.statusBar().showMessage("Reconstruction cancelled", 5000)
        self._update_actions()

    def _known_size_for_new_photo(self, photo: Photo) -> str:
        """A known size given for the previous photo is cleared (returns what it was); one given before
        any photo was open is taken as this photo's."""
        if not self.parameters.known_size_text():
            return ""
        if self._known_size_photo is None:
            self._known_size_photo = photo
            return ""
        return self.parameters.clear_known_size()

    def _known_size_changed(self) -> None:
        self._known_size_photo = self.photo if self.parameters.known_size_text() else None
        if self.mesh is not None:
            self.compare_panel.set_mm_per_unit(self.parameters.mm_per_unit(self.mesh))
            if self.viewer.mesh is self.mesh:
                self.viewer.set_mm_per_unit(self.parameters.mm_per_unit(self.mesh))

    # --- export -------------------------------------------------------------------

    def export_current(self) -> None:
        """File > Export… (Ctrl+E): export in the format written last (STL at first; PLY for a point cloud)."""
        fmt = read_str(QSettings(), "export/format", "stl")
        if isinstance(self.mesh, trimesh.PointCloud) or fmt not in EXPORT_EXTENSIONS:
            fmt = "ply" if isinstance(self.mesh, trimesh.PointCloud) else "stl"
        self.export_as(fmt)

    def export_as(self, fmt: str) -> None:
        """Ask for the real size, the faces and the file, then write the reconstruction (off the GUI thread).

        The error-bounded simplification is measured while the dialog is
        open (once per reconstruction), so the dialog can show its face count
        and file size; an export that does not wait for it measures it itself.
        A point cloud has nothing to simplify and is written as PLY only.
        """
        if self.mesh is None:
            self.statusBar().showMessage("Nothing to export yet: reconstruct a part first", 5000)
            return
        if isinstance(self.mesh, trimesh.PointCloud):
            self._export_points(fmt)
            return
        mesh = self.mesh
        ready = self._simplified[2] if self._simplified is not None and self._simplified[0] is mesh else None
        dialog = export_dialog.ExportDialog(
            fmt, len(mesh.faces), tuple(float(edge) for edge in mesh.extents), self.parameters.known_size_units(),
            ready, self,
        )
        self._export_dialog = dialog
        if ready is None and not self._simplify_job.is_running():
            self._simplify_job.start(
                lambda: simplify_for_export(mesh, FaceTarget()),
                on_finished=lambda result: self._simplify_measured(mesh, *result),
                on_failed=lambda message: self._simplify_failed(mesh, message),
            )
        options = export_dialog.ask_export_options(dialog)
        self._export_dialog = None
        dialog.deleteLater()
        if options is None:
            return
        self.parameters.set_known_size(options.units)  # one real size per part: the viewer shows it too
        path = export_dialog.ask_export_path(self, fmt, self._suggested_export_path(fmt))
        if path is None:
            return
        self._start_export(mesh, path, options)

    def _export_points(self, fmt: str) -> None:
        """Ask for the real size and the file, then write the point cloud as PLY (other formats: one clear error)."""
        if fmt not in POINT_CLOUD_EXTENSIONS:
            self.report_error(f"Not exported as {fmt.upper()}: {POINTS_NEED_PLY}.", "Export not possible")
            return
        cloud = self.mesh
        dialog = export_dialog.ExportDialog(
            fmt, 0, tuple(float(edge) for edge in cloud.extents), self.parameters.known_size_units(), None, self,
            points=len(cloud.vertices),
        )
        options = export_dialog.ask_export_options(dialog)
        dialog.deleteLater()
        if options is None:
            return
        self.parameters.set_known_size(options.units)
        path = export_dialog.ask_export_path(self, fmt, self._suggested_export_path(fmt))
        if path is not None:
            self._start_export(cloud, path, options)

    def _suggested_export_path(self, fmt: str) -> Path:
        """The photo's name with ``fmt``'s extension, in the folder of the last export."""
        stem = Path(self._mesh_photo_name).stem or "part"
        return Path(read_str(QSettings(), "paths/export_folder", str(Path.home()))) / f"{stem}.{fmt}"

    def _start_export(
        self, mesh: trimesh.Trimesh | trimesh.PointCloud, path: Path, options: export_dialog.ExportOptions
    ) -> None:
        """Write ``mesh`` on a worker thread, simplified as ``options`` say (reusing a measured simplification);
        a point cloud is written as it is."""
        faces: FaceTarget | None = options.faces
        if isinstance(mesh, trimesh.PointCloud):
            faces, stages = None, [("write", 1.0)]  # nothing to simplify
        else:
            if faces.mode == "auto" and self._simplified is not None and self._simplified[0] is mesh:
                mesh, faces = self._simplified[1], None
            elif faces.mode == "auto":
                self._simplify_job.abandon()  # the export measures it itself
            stages = jobs.export_stages(faces, len(mesh.faces))
        self.statusBar().showMessage(f"Exporting {path}…")
        self.progress.start(f"Exporting {path.name}…", stages, "Stop the export (Esc)")
        self._export_job.start(
            lambda: jobs.export(mesh, path, options.units, faces, overwrite=True),
            on_finished=self._exported,
            on_failed=lambda message: self._export_failed(path, message),
            on_progress=self.progress.show_progress,
            on_cancelled=self._export_cancelled,
        )
        self._update_actions()

    def _simplify_measured(self, mesh: trimesh.Trimesh, simplified: trimesh.Trimesh, report: SimplifyReport) -> None:
        if mesh is not self.mesh:
            return
        self._simplified = (mesh, simplified, report)
        if self._export_dialog is not None:
            self._export_dialog.set_simplified(report)

    def _simplify_failed(self, mesh: trimesh.Trimesh, message: str) -> None:
        if self._export_dialog is not None and mesh is self.mesh:
            self._export_dialog.set_simplified(None, message)

    def _exported(self, report: ExportReport) -> None:
        self.progress.finish()
        QSettings().setValue("paths/export_folder", str(report.path.parent))
        QSettings().setValue("export/format", report.path.suffix.lstrip(".").lower())
        if report.points:
            written, closed = f"{report.points:,} points", ""
        else:
            written = f"{report.faces:,} faces"
            closed = f", {'watertight' if report.watertight else 'not watertight'}"
        self.statusBar().showMessage(
            f"Exported {written} ({format_bytes(report.bytes)}) to {report.path} ({report.unit}{closed})"
        )
        self._update_actions()
        self.export_finished.emit(report)

    def _export_cancelled(self) -> None:
        self.progress.finish()
        self.statusBar().showMessage("Export cancelled: nothing was written", 5000)
        self._update_actions()

    def _export_failed(self, path: Path, message: str) -> None:
        self.progress.finish()
        self.report_error(f"{path} was not written: {message}", "Export failed")
        self._update_actions()

    # --- settings and closing ---------------------------------------------------------

    def _restore_settings(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(*DEFAULT_SIZE)
        splitter = settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        state = settings.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        self.parameters.restore_settings(settings)
        self.image_panel.restore_settings(settings)

    def save_settings(self) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/state", self.saveState())
        settings.setValue("window/splitter", self.splitter.saveState())
        self.parameters.save_settings(settings)
        self.image_panel.save_settings(settings)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask the training panel first (a run may be going on), then stop every worker."""
        if self._closed:
            event.accept()
            return
        if not self.training_panel.confirm_close():
            event.ignore()
            return
        self._closed = True
        for job in (self._photo_job, self._model_job, self._reconstruction_job, self._export_job, self._simplify_job):
            job.abandon()
        if self.persist_settings:
            self.save_settings()
        self.training_panel.shutdown()
        for job in (self._photo_job, self._model_job, self._reconstruction_job, self._export_job, self._simplify_job):
            job.wait(CLOSE_WAIT_MS)
        self.viewer.shutdown()
        event.accept()


def _trained_to(path: Path) -> str:
    """How well a checkpoint did in its own validation, for the model line (the method
    comparison's checkpoints beside the default are far weaker: the user should see it)."""
    try:
        score = recorded_best_val_iou(path)
    except CheckpointError:
        return ""
    return "" if score is None else f", validation IoU {score:.3f}"
