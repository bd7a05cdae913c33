"""Capture a photo from a camera: live preview, then take a still.

Qt Multimedia ships in the optional ``PySide6-Addons`` wheel and a computer
may have no camera at all, so :func:`find_cameras` says clearly which of the
two is missing (:class:`CameraUnavailable`) before any dialog opens.  Qt
Multimedia is imported only when a camera is asked for.
"""

from __future__ import annotations

import importlib.util

import numpy as np
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QComboBox, QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .images import qimage_to_array


class CameraUnavailable(RuntimeError):
    """No camera can be used; the message says why and what to do instead."""


def find_cameras() -> list:
    """The cameras Qt can see (``QCameraDevice`` list); :class:`CameraUnavailable` if none."""
    if importlib.util.find_spec("PySide6.QtMultimedia") is None:
        raise CameraUnavailable(
            "Camera capture needs Qt Multimedia, which this installation lacks "
            "(install the PySide6-Addons package). You can still open photo files."
        )
    from PySide6.QtMultimedia import QMediaDevices

    cameras = list(QMediaDevices.videoInputs())
    if not cameras:
        raise CameraUnavailable(
            "No camera was found on this computer. Connect a camera (and allow access to it), "
            "or open a photo file instead (File > Open…)."
        )
    return cameras


class CameraDialog(QDialog):
    """Live preview of a camera; *Take photo* captures a still and closes the dialog."""

    def __init__(self, cameras: list, parent: QWidget | None = None):
        from PySide6.QtMultimedia import QCamera, QImageCapture, QMediaCaptureSession
        from PySide6.QtMultimediaWidgets import QVideoWidget

        super().__init__(parent)
        self.setWindowTitle("Capture from camera")
        self.image: np.ndarray | None = None
        self._cameras = cameras
        self._camera_class = QCamera
        self.session = QMediaCaptureSession(self)
        self.capture = QImageCapture(self)
        self.session.setImageCapture(self.capture)
        self.preview = QVideoWidget(self)
        self.preview.setMinimumSize(480, 360)
        self.session.setVideoOutput(self.preview)
        self.capture.imageCaptured.connect(self._captured)
        self.capture.errorOccurred.connect(lambda _id, _error, text: self._show_error(text))
        self.capture.readyForCaptureChanged.connect(lambda ready: self.take_button.setEnabled(ready))

        self.camera_combo = QComboBox(self)
        for device in cameras:
            self.camera_combo.addItem(device.description())
        self.camera_combo.currentIndexChanged.connect(self._use_camera)
        self.take_button = QPushButton("Take photo", self)
        self.take_button.setEnabled(False)
        self.take_button.clicked.connect(self.capture.capture)
        self.status = QLabel(self)
        cancel = QPushButton("Cancel", self)
        cancel.clicked.connect(self.reject)

        row = QHBoxLayout()
        row.addWidget(self.camera_combo, 1)
        row.addWidget(self.take_button)
        row.addWidget(cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.status)
        layout.addLayout(row)
        self.camera = None
        self._use_camera(0)

    def _use_camera(self, index: int) -> None:
        if self.camera is not None:
            self.camera.stop()
        self.camera = self._camera_class(self._cameras[index], self)
        self.camera.errorOccurred.connect(lambda _error, text: self._show_error(text))
        self.session.setCamera(self.camera)
        self.camera.start()

    def _show_error(self, text: str) -> None:
        self.status.setText(f"Camera problem: {text}")

    def _captured(self, _request_id: int, image: QImage) -> None:
        self.image = qimage_to_array(image)
        self.accept()

    def done(self, result: int) -> None:
        if self.camera is not None:
            self.camera.stop()
        super().done(result)
