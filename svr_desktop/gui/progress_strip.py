"""A progress bar with its stage name and a Cancel button, shown while a job runs.

Core generators report :class:`~svr_desktop.progress.Progress` events per
stage (``preprocess``, ``encode``, ``mise 64^3``, ...); the bar shows the
current stage's ``done / total``.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..progress import Progress


class ProgressStrip(QWidget):
    """Hidden when idle; :meth:`start` shows it, :meth:`show_progress` advances it."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.stage_label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setMinimumWidth(200)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the reconstruction (Esc)")
        self.cancel_button.clicked.connect(self._cancel_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stage_label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.hide()

    def start(self, what: str) -> None:
        self.stage_label.setText(what)
        self.bar.setRange(0, 0)  # busy until the first event
        self.cancel_button.setEnabled(True)
        self.show()

    def show_progress(self, event: Progress) -> None:
        self.stage_label.setText(event.stage)
        total = max(event.total, 1)
        self.bar.setRange(0, total)
        self.bar.setValue(min(event.done, total))

    def _cancel_clicked(self) -> None:
        self.cancel_button.setEnabled(False)
        self.stage_label.setText("cancelling…")
        self.cancel_requested.emit()

    def finish(self) -> None:
        self.hide()
