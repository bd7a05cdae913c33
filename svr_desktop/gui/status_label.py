"""A dock's one-line status: plain for news, red for problems the user must act on."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

ERROR_STYLE = "color: #b00020;"


class StatusLabel(QLabel):
    """A word-wrapped label with :meth:`show_status` and :meth:`show_error`."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(text, parent)
        self.setWordWrap(True)

    def show_status(self, text: str) -> None:
        self.setStyleSheet("")
        self.setText(text)

    def show_error(self, text: str) -> None:
        self.setStyleSheet(ERROR_STYLE)
        self.setText(text)
