"""Training metrics as JSON lines: written and flushed one line at a time.

The training process appends to ``RUN_DIR/metrics.jsonl``; the GUI's training
panel (or any tool) follows the file while the run goes on.  Each line is one
JSON object with a ``kind``: ``train`` (step, epoch, loss, f1, s, lr,
images_per_s, elapsed), ``val`` (val_iou at the end of an epoch) or ``event``
(started, resumed, stopped, finished).
"""

from __future__ import annotations

import json
import math
from pathlib import Path


class MetricsWriter:
    """Appends JSON lines and flushes each one, so readers see it at once."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")

    def write(self, **record) -> None:
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
        self._handle.write(json.dumps(clean) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class MetricsFollower:
    """Reads complete new lines of a metrics file since the last call (a live run may add more)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._offset = 0

    def read_new(self) -> list[dict]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line being written stays for next time
        self._offset += len(complete)
        records = []
        for line in complete.decode("utf-8", errors="replace").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records
