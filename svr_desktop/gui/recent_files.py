"""The File > Open Recent list, kept in QSettings (newest first, files that still exist)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QMenu

from .settings import read_str_list

#: How many photos the list remembers.
MAX_RECENT = 8
SETTINGS_KEY = "paths/recent_photos"


class RecentFiles(QObject):
    """Keeps the list and fills a menu with it; choosing an entry emits :attr:`open_requested`."""

    open_requested = Signal(str)

    def __init__(self, menu: QMenu):
        super().__init__(menu)
        self.menu = menu
        self.menu.aboutToShow.connect(self._fill_menu)

    def paths(self) -> list[str]:
        """Remembered files that still exist, newest first."""
        return [path for path in read_str_list(QSettings(), SETTINGS_KEY) if Path(path).is_file()]

    def add(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        paths = [path] + [p for p in self.paths() if p != path]
        QSettings().setValue(SETTINGS_KEY, paths[:MAX_RECENT])

    def _fill_menu(self) -> None:
        self.menu.clear()
        paths = self.paths()
        for number, path in enumerate(paths, start=1):
            action = self.menu.addAction(f"&{number} {Path(path).name}")
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, chosen=path: self.open_requested.emit(chosen))
        if not paths:
            self.menu.addAction("(no recent photos)").setEnabled(False)
        else:
            self.menu.addSeparator()
            self.menu.addAction("Clear list", lambda: QSettings().remove(SETTINGS_KEY))
