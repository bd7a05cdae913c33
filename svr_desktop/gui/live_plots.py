"""Four small live plots of a training run: loss, F1, s and validation IoU against the step."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .run_history import SERIES, RunHistory

TITLES = {"loss": "loss", "f1": "F1 (train)", "s": "s (label sharpness)", "val_iou": "val IoU"}
COLOURS = {"loss": "#1f77b4", "f1": "#2ca02c", "s": "#9467bd", "val_iou": "#d62728"}


class LivePlots(QWidget):
    """Shows the curves of a :class:`RunHistory`; :meth:`show_history` redraws them."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        canvas = pg.GraphicsLayoutWidget()
        canvas.setBackground("w")
        self._curves: dict[str, pg.PlotDataItem] = {}
        for index, name in enumerate(SERIES):
            plot = canvas.addPlot(row=index // 2, col=index % 2, title=TITLES[name])
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.setLabel("bottom", "step")
            # Symbols make a curve of one or two points visible (val IoU comes once per epoch).
            self._curves[name] = plot.plot([], [], pen=pg.mkPen(COLOURS[name], width=2), symbol="o", symbolSize=4, symbolBrush=COLOURS[name])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(canvas)
        canvas.setMinimumHeight(260)

    def curve(self, name: str) -> pg.PlotDataItem:
        """The plotted curve of one series (``loss``, ``f1``, ``s`` or ``val_iou``)."""
        return self._curves[name]

    def show_history(self, history: RunHistory) -> None:
        for name, (xs, ys) in history.curves.items():
            self._curves[name].setData(xs, ys)

    def clear(self) -> None:
        for curve in self._curves.values():
            curve.setData([], [])
