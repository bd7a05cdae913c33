"""The image panel: the photo with its silhouette, the network input, and the controls
that steer background removal (method, and a rectangle drawn around the part).

It only displays and collects choices; the window prepares photos on a
worker thread and hands the results here.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..inference.preprocess import Photo, PreparedPhoto, Rect
from .images import array_to_qimage
from .photo_view import PhotoView
from .settings import read_str

#: Background-removal choices: (label, value passed to ``prepare_photo``, tooltip).
BACKGROUND_CHOICES = (
    ("Automatic", "auto", "Transparency when the photo has it, otherwise GrabCut"),
    ("Alpha channel only", "alpha", "Take the part's outline from the photo's transparency"),
    ("GrabCut", "grabcut", "Separate the part from the background by colour, even if the photo has transparency"),
    ("Off", "off", "The whole photo is the part (photos already cropped to the part)"),
)
#: Side of the network-input preview, in pixels.
INPUT_PREVIEW_SIDE = 128
PLACEHOLDER = "Drop a photo here, or use File > Open… or File > Capture from camera…"


class ImagePanel(QGroupBox):
    """Photo + silhouette, network input, background method and rectangle."""

    background_changed = Signal(str)
    rect_changed = Signal(object)  # Rect or None

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Photo", parent)
        self.photo_view = PhotoView(self)
        self.photo_view.placeholder = PLACEHOLDER
        self.photo_view.rect_drawn.connect(self._rect_drawn)
        self.photo_view.setToolTip("Drag a rectangle around the part to help background removal")

        self.input_preview = QLabel(self)
        self.input_preview.setFixedSize(INPUT_PREVIEW_SIDE, INPUT_PREVIEW_SIDE)
        self.input_preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.input_preview.setStyleSheet("background: #2b2f33; color: #c8ccd0;")
        self.input_preview.setToolTip("What the network sees: the part framed like a training render")
        self.input_preview.setText("network\ninput")

        self.background_combo = QComboBox(self)
        for label, value, tip in BACKGROUND_CHOICES:
            self.background_combo.addItem(label, value)
            self.background_combo.setItemData(self.background_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.background_combo.currentIndexChanged.connect(lambda _: self.background_changed.emit(self.background()))

        self.clear_rect_button = QPushButton("Clear rectangle", self)
        self.clear_rect_button.setToolTip("Forget the rectangle drawn around the part")
        self.clear_rect_button.clicked.connect(self._clear_rect)

        self.name_label = QLabel(self)
        self.name_label.setWordWrap(True)
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes_label = QLabel(self)
        self.notes_label.setWordWrap(True)
        self.notes_label.setStyleSheet("color: #8a5a00;")

        details = QVBoxLayout()
        controls = QFormLayout()
        controls.addRow("Background removal:", self.background_combo)
        details.addLayout(controls)
        details.addWidget(self.clear_rect_button)
        details.addWidget(self.name_label)
        details.addWidget(self.notes_label)
        details.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.input_preview)
        row.addLayout(details, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.photo_view, 1)
        layout.addLayout(row)
        self._rect: Rect | None = None
        self._update_rect_button()

    # --- what the user chose ---------------------------------------------------

    def background(self) -> str:
        return self.background_combo.currentData()

    def set_background(self, value: str) -> None:
        index = self.background_combo.findData(value)
        if index >= 0:
            self.background_combo.setCurrentIndex(index)

    def rect(self) -> Rect | None:
        """The rectangle around the part, in photo pixels, or ``None``."""
        return self._rect

    def _rect_drawn(self, rect: Rect) -> None:
        self._rect = rect
        self.photo_view.set_rect(rect)
        self._update_rect_button()
        self.rect_changed.emit(rect)

    def _clear_rect(self) -> None:
        if self._rect is not None:
            self._rect = None
            self.photo_view.set_rect(None)
            self._update_rect_button()
            self.rect_changed.emit(None)

    def _update_rect_button(self) -> None:
        self.clear_rect_button.setEnabled(self._rect is not None)

    def set_framing_enabled(self, enabled: bool) -> None:
        """Background removal and the rectangle apply to photos, not to images used as they are."""
        for widget in (self.background_combo, self.photo_view):
            widget.setEnabled(enabled)
        self.clear_rect_button.setEnabled(enabled and self._rect is not None)

    # --- what the window shows ----------------------------------------------------

    def show_photo(self, photo: Photo) -> None:
        """A newly loaded photo, before its silhouette is known (any rectangle is dropped)."""
        self._rect = None
        self._update_rect_button()
        self.photo_view.set_photo(photo.rgb)
        self.name_label.setText(photo.name)
        self.notes_label.setText("")
        self.input_preview.clear()
        self.input_preview.setText("finding\nthe part…")

    def show_prepared(self, prepared: PreparedPhoto) -> None:
        """The silhouette over the photo and the network input."""
        self.photo_view.set_mask(prepared.photo_mask)
        self.photo_view.set_rect(self._rect)
        image = array_to_qimage(prepared.network_input)
        self.input_preview.setPixmap(
            QPixmap.fromImage(image).scaled(
                INPUT_PREVIEW_SIDE, INPUT_PREVIEW_SIDE, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        method = prepared.background_method
        if prepared.mask_confidence is not None:
            method += f", confidence {prepared.mask_confidence:.0%}"
        notes = [f"silhouette: {method}", *prepared.notes]
        self.notes_label.setText("; ".join(notes))

    def show_problem(self, message: str) -> None:
        """The silhouette could not be found: no overlay, no network input, the reason shown."""
        self.photo_view.set_mask(None)
        self.input_preview.clear()
        self.input_preview.setText("no part\nfound")
        self.notes_label.setText(message)

    # --- settings ------------------------------------------------------------

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("photo/background", self.background())

    def restore_settings(self, settings: QSettings) -> None:
        self.set_background(read_str(settings, "photo/background", "auto"))
