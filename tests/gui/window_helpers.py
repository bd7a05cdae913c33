"""Driving the main window from tests: drops, waits and visible messages."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from svr_desktop.gui.main_window import MainWindow
from svr_desktop.paths import resources_dir

SAMPLE_PHOTO = resources_dir() / "samples" / "flange_studio.png"
#: Generous limits for work on the shared 2-core machine (not speed assertions).
LOAD_TIMEOUT_MS = 60_000
RECONSTRUCT_TIMEOUT_MS = 120_000


def new_window(qtbot, checkpoint) -> MainWindow:
    """A shown main window on ``checkpoint``, once its model has loaded."""
    window = MainWindow(checkpoint=checkpoint)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.model_ready, timeout=LOAD_TIMEOUT_MS):
        window.show()
    return window


def drop_files(target: QWidget, paths: list[Path]) -> QDropEvent:
    """Drag ``paths`` over ``target`` and drop them, as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    centre = QPoint(target.width() // 2, target.height() // 2)
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, buttons, modifiers)  # QPoint in Qt 6
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the window refused the drag"
    drop = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(target, drop)
    return drop


def visible_messages(window: QWidget) -> list[str]:
    """Texts of the message boxes the window shows now."""
    return [box.text() for box in window.findChildren(QMessageBox) if box.isVisible()]


def close_messages(window: QWidget) -> None:
    for box in window.findChildren(QMessageBox):
        if box.isVisible():
            box.close()


def open_and_wait(qtbot, window, path: Path) -> None:
    with qtbot.waitSignal(window.photo_ready, timeout=LOAD_TIMEOUT_MS):
        window.open_photo(path)


def reconstruct_and_wait(qtbot, window) -> None:
    with qtbot.waitSignal(window.reconstruction_finished, timeout=RECONSTRUCT_TIMEOUT_MS):
        qtbot.mouseClick(window.reconstruct_button, Qt.MouseButton.LeftButton)
