"""The photo with the part's silhouette overlaid, and a rectangle the user draws on it.

Dragging with the left mouse button draws a rectangle around the part; on
release :attr:`PhotoView.rect_drawn` gives it in photo pixels (the frame of
:attr:`~svr_desktop.inference.preprocess.PreparedPhoto.photo`), which is what
GrabCut's ``rect`` expects.  The photo is scaled to fit, keeping its aspect.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .images import array_to_qimage, mask_overlay

#: Rectangles smaller than this (photo pixels, either side) are taken for a stray click.
MIN_RECT_SIDE = 4


class PhotoView(QWidget):
    """Paints a photo, an optional silhouette overlay and an optional rectangle."""

    rect_drawn = Signal(object)  # (x, y, width, height) in photo pixels

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(240, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self._photo: QImage | None = None
        self._overlay: QImage | None = None
        self._rect: tuple[int, int, int, int] | None = None
        self._drag_start: QPointF | None = None
        self._drag_end: QPointF | None = None
        self.placeholder = "No photo"

    def sizeHint(self) -> QSize:
        return QSize(360, 270)

    def set_photo(self, rgb: np.ndarray | None) -> None:
        """Show ``rgb`` ((H, W, 3) uint8) without overlay or rectangle; ``None`` shows the placeholder."""
        self._photo = None if rgb is None else array_to_qimage(rgb)
        self._overlay = None
        self._rect = None
        self.update()

    def set_mask(self, mask: np.ndarray | None) -> None:
        """Overlay the part's (H, W) bool silhouette (``None`` removes the overlay)."""
        self._overlay = None if mask is None else mask_overlay(mask)
        self.update()

    def set_rect(self, rect: tuple[int, int, int, int] | None) -> None:
        self._rect = rect
        self.update()

    # --- geometry ------------------------------------------------------------

    def photo_area(self) -> QRectF:
        """Where the photo is painted: centred, scaled to fit the widget."""
        width, height = self._photo.width(), self._photo.height()
        scale = min(self.width() / width, self.height() / height)
        return QRectF((self.width() - width * scale) / 2, (self.height() - height * scale) / 2, width * scale, height * scale)

    def _to_photo(self, point: QPointF) -> QPointF:
        target = self.photo_area()
        scale = self._photo.width() / target.width()
        x = min(max((point.x() - target.x()) * scale, 0.0), self._photo.width())
        y = min(max((point.y() - target.y()) * scale, 0.0), self._photo.height())
        return QPointF(x, y)

    def _to_widget(self, rect: tuple[float, float, float, float]) -> QRectF:
        target = self.photo_area()
        scale = target.width() / self._photo.width()
        x, y, w, h = rect
        return QRectF(target.x() + x * scale, target.y() + y * scale, w * scale, h * scale)

    def _drag_rect(self) -> tuple[int, int, int, int]:
        a, b = self._to_photo(self._drag_start), self._to_photo(self._drag_end)
        x0, x1 = sorted((a.x(), b.x()))
        y0, y1 = sorted((a.y(), b.y()))
        return round(x0), round(y0), round(x1 - x0), round(y1 - y0)

    # --- events --------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._photo is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag_start = self._drag_end = event.position()
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_start is not None:
            self._drag_end = event.position()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_start is None or event.button() != Qt.MouseButton.LeftButton:
            return
        self._drag_end = event.position()
        rect = self._drag_rect()
        self._drag_start = self._drag_end = None
        self.update()
        if rect[2] >= MIN_RECT_SIDE and rect[3] >= MIN_RECT_SIDE:
            self.rect_drawn.emit(rect)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#2b2f33"))
        if self._photo is None:
            painter.setPen(QColor("#c8ccd0"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = self.photo_area()
        painter.drawImage(target, self._photo)
        if self._overlay is not None:
            painter.drawImage(target, self._overlay)
        if self._rect is not None:
            painter.setPen(QPen(QColor("#00e0ff"), 2, Qt.PenStyle.DashLine))
            painter.drawRect(self._to_widget(self._rect))
        if self._drag_start is not None:
            painter.setPen(QPen(QColor("#ffffff"), 1, Qt.PenStyle.DashLine))
            painter.drawRect(self._to_widget(self._drag_rect()))
