"""Starting the desktop application: the QApplication, its names and icon, the main window.

The organization and application names set here decide where ``QSettings()``
keeps the user's settings.  When a ``QApplication`` already exists (tests,
an embedding program) it is reused as it is.
"""

from __future__ import annotations

import gc
import sys
import traceback
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from ..devices import leave_a_core_for_the_interface
from ..paths import resources_dir

ORGANIZATION = "SVR Desktop"
APPLICATION = "SVR Desktop"
#: Icon sizes drawn by resources/icons/make_icon.py.
ICON_SIZES = (16, 32, 48, 64, 128, 256)


def application_icon() -> QIcon:
    """The application icon at every size shipped (an empty icon if none is found)."""
    icon = QIcon()
    for size in ICON_SIZES:
        path = resources_dir() / "icons" / f"svr-desktop-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    return icon


def application() -> QApplication:
    """The running QApplication, or a new one named for SVR Desktop's settings."""
    existing = QApplication.instance()
    if existing is not None:
        return existing
    QApplication.setOrganizationName(ORGANIZATION)
    QApplication.setApplicationName(APPLICATION)
    app = QApplication(sys.argv[:1])
    app.setWindowIcon(application_icon())
    return app


def report_unexpected_errors(window) -> Callable:
    """Route exceptions escaping Qt slots (bugs) to the user instead of only the terminal.

    PySide prints such exceptions through ``sys.excepthook`` and carries on;
    without this a scripted run would wait forever for a step that died.
    Returns the previous hook, to put back when the window is gone.
    """

    def hook(kind, exc, tb):
        traceback.print_exception(kind, exc, tb, file=sys.stderr)
        window.report_error(f"unexpected {kind.__name__}: {exc}", "Internal error")

    previous, sys.excepthook = sys.excepthook, hook
    return previous


def freeze_startup_objects() -> None:
    """Exclude everything built so far (modules, torch, VTK, the window) from garbage collection.

    A full collection over the ~400k objects of a started application holds
    the GIL for ~170 ms and would freeze the window at a random moment; the
    start-up objects live as long as the process anyway.
    """
    gc.collect()
    gc.freeze()


def run_app(
    image: Path | None = None,
    checkpoint: Path | None = None,
    resolution: int | None = None,
    reconstruct: bool = False,
    screenshot: Path | None = None,
    quit_when_done: bool = False,
) -> int:
    """Open the main window, optionally run the scripted steps, and return the exit code."""
    from .main_window import MainWindow
    from .script import ScriptRunner

    app = application()
    leave_a_core_for_the_interface()
    window = MainWindow(checkpoint=checkpoint)
    window.persist_settings = not quit_when_done
    if resolution is not None:
        window.parameters.set_resolution(resolution)
    previous_hook = report_unexpected_errors(window)
    window.show()
    freeze_startup_objects()
    runner = ScriptRunner(window, image, reconstruct, screenshot, quit_when_done)
    QTimer.singleShot(0, runner.start)
    try:
        code = app.exec()
    finally:
        sys.excepthook = previous_hook
    return runner.exit_code or code
