"""One progress bar for the running job, with its stage, the time left and a Cancel button.

Core generators report :class:`~svr_desktop.progress.Progress` events per
stage (``preprocess``, ``encode``, ``mise 64^3``, ..., ``simplify``,
``write``), each starting again at 0 %.  The strip maps them through the
job's plan (:class:`~svr_desktop.progress.OverallProgress`) to one bar for
the whole job, so it only moves forward, and shows the stage running and an
estimate of the time left, the same figures the command line prints.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ..progress import OverallProgress, OverallStatus, Plan, Progress

#: Bar steps (a thousand: the bar moves smoothly on a wide status bar).
_STEPS = 1000


class ProgressStrip(QWidget):
    """Hidden when idle; :meth:`start` shows it, :meth:`show_progress` advances it."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.stage_label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setMinimumWidth(260)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self._cancel_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stage_label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._overall: OverallProgress | None = None
        self.status: OverallStatus | None = None  # the last one shown
        self.hide()

    def start(self, what: str, plan: Plan, cancel_tip: str = "Stop (Esc)") -> None:
        """Show the strip for a new job whose stages ``plan`` weighs; busy until its first event."""
        self._overall, self.status = OverallProgress(plan), None
        self.stage_label.setText(what)
        self.bar.setRange(0, 0)
        self.bar.setFormat("%p %")
        self.cancel_button.setToolTip(cancel_tip)
        self.cancel_button.setEnabled(True)
        self.show()

    def show_progress(self, event: Progress) -> None:
        self.status = self._overall.update(event)
        self.stage_label.setText(event.stage)
        self.bar.setRange(0, _STEPS)
        self.bar.setValue(round(self.status.fraction * _STEPS))
        self.bar.setFormat(" · ".join(part for part in (f"{self.status.percent} %", self.status.time_left()) if part))

    def _cancel_clicked(self) -> None:
        self.cancel_button.setEnabled(False)
        self.stage_label.setText("cancelling…")
        self.cancel_requested.emit()

    def finish(self) -> None:
        self.hide()
