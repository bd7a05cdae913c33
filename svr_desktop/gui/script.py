"""Scripted runs of the application: open a photo, reconstruct, screenshot, quit.

``svr-desktop gui IMAGE --reconstruct --screenshot out.png --quit`` drives the
real window through the same signals a user's clicks go through, so it
documents and tests the application as it is.  Every error the window
reports is printed on stderr; the exit code is then 2 (and ``--quit`` quits
at once).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QWidget

from .images import save_png
from .main_window import MainWindow
from .viewer import MeshViewer

#: Exit code after an error, as the command line's (see svr_desktop.cli).
ERROR_EXIT_CODE = 2


def grab_window(window: QWidget) -> QImage:
    """The window as it looks on screen, 3D views included (each is rendered first)."""
    for viewer in window.findChildren(MeshViewer):
        viewer.plotter.render()
    QApplication.processEvents()
    return window.grab().toImage()


class ScriptRunner(QObject):
    """Steps through the scripted actions as the window reports progress."""

    def __init__(
        self,
        window: MainWindow,
        image: Path | None,
        reconstruct: bool,
        screenshot: Path | None,
        quit_when_done: bool,
    ):
        super().__init__(window)
        self.window = window
        self.image, self.reconstruct, self.screenshot = image, reconstruct, screenshot
        self.quit_when_done = quit_when_done
        self.exit_code = 0
        self._stage = "waiting"
        window.error_reported.connect(self._fail)
        window.model_missing.connect(self._model_missing)
        window.model_ready.connect(self._step)
        window.photo_ready.connect(self._step)
        window.reconstruction_finished.connect(lambda _mesh: self._finish())

    def start(self) -> None:
        if self.image is not None:
            self.window.open_photo(self.image)
        self._step()

    def _step(self) -> None:
        if self._stage != "waiting":
            return
        if self.image is not None and self.window.photo is None:
            return
        if self.reconstruct:
            if self.window.reconstructor is None or self.window.is_loading_model():
                return
            self._stage = "reconstructing"
            self.window.reconstruct()
            return
        self._finish()

    def _model_missing(self, message: str) -> None:
        if self.reconstruct:
            self._fail(message)

    def _finish(self) -> None:
        self._stage = "done"
        if self.screenshot is not None:
            try:
                save_png(grab_window(self.window), self.screenshot)
            except OSError as exc:
                self._fail(f"the screenshot was not saved: {exc}")
                return
            print(f"screenshot: {self.screenshot}")
        if self.quit_when_done:
            self._quit()

    def _fail(self, message: str) -> None:
        if self._stage == "failed":
            return
        print(f"svr-desktop gui: error: {message}", file=sys.stderr)
        self.exit_code = ERROR_EXIT_CODE
        self._stage = "failed"
        if self.quit_when_done:
            self._quit()

    def _quit(self) -> None:
        self.window.close()
        QTimer.singleShot(0, lambda: QCoreApplication.exit(self.exit_code))
