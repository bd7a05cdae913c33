"""What a training run's metrics say so far: the curves to plot, how far it is, and an ETA.

Fed with the records of ``RUN_DIR/metrics.jsonl`` as they arrive (see
:mod:`svr_desktop.training.metrics_log`).  Steps and elapsed seconds in the
records count over every session of a run, so a resumed run continues its
curves and its ETA where it stopped.  Plain Python: the training panel draws
what this collects.
"""

from __future__ import annotations

#: Plotted curves: the training loss, the running F1 and s of ``train`` records,
#: and the validation IoU of ``val`` records, each against the step.
SERIES = ("loss", "f1", "s", "val_iou")


def format_duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h 05 min``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class RunHistory:
    """Curves and progress of one run (steps_per_epoch x epochs = the run's total steps)."""

    def __init__(self, steps_per_epoch: int, epochs: int):
        self.steps_per_epoch, self.epochs = steps_per_epoch, epochs
        self.curves: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in SERIES}
        self.step = 0
        self.epoch = 0
        self.elapsed = 0.0
        self.last_event: str | None = None

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    def add(self, records: list[dict]) -> None:
        """Take new metric records, in file order."""
        for record in records:
            kind = record.get("kind")
            if kind == "event":
                self.last_event = record.get("event")
            elif kind == "train":
                for name in ("loss", "f1", "s"):
                    self._append(name, record)
            elif kind == "val":
                self._append("val_iou", record)
            if kind in ("train", "val", "event"):
                self.step = record.get("step", self.step)
                self.epoch = record.get("epoch", self.epoch)
                self.elapsed = record.get("elapsed") or self.elapsed

    def _append(self, name: str, record: dict) -> None:
        """Add the record's point to curve ``name``, replacing any points from its step on.

        Steps go back where a resumed run repeats the steps after its
        checkpoint, or where the metrics file was cut and is read again:
        each step keeps only its newest point.
        """
        value = record.get(name)
        if value is not None and "step" in record:
            step = float(record["step"])
            xs, ys = self.curves[name]
            while xs and xs[-1] >= step:
                xs.pop()
                ys.pop()
            xs.append(step)
            ys.append(float(value))

    def eta_seconds(self) -> float | None:
        """Seconds left at the run's average pace so far; None before the first timed step."""
        if self.step <= 0 or self.elapsed <= 0:
            return None
        return max(0, self.total_steps - self.step) * self.elapsed / self.step

    def summary(self) -> str:
        """One line for the panel: where the run stands and how long it still needs."""
        text = f"step {self.step:,} of {self.total_steps:,}, epoch {min(self.epoch + 1, self.epochs)} of {self.epochs}"
        if self.last_event in ("stopped", "finished"):
            return f"{text}: {self.last_event}"
        eta = self.eta_seconds()
        return text if eta is None else f"{text}, about {format_duration(eta)} left"
