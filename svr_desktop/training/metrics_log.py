"""Training metrics as JSON lines: written and flushed one line at a time.

The training process appends to ``RUN_DIR/metrics.jsonl``; the GUI's training
panel (or any tool) follows the file while the run goes on.  Each line is one
JSON object with a ``kind``: ``train`` (step, epoch, loss, f1, s, lr,
images_per_s, elapsed), ``val`` (val_iou at the end of an epoch) or ``event``
(started, resumed, stopped, finished).

A resumed run continues from its last checkpoint and logs again the steps
done after it; :func:`drop_lines_after` first removes their old lines, so
that every step appears once.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ..files import atomic_write_bytes


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


def _is_after(line: bytes, step: int, epoch: int) -> bool:
    """Whether the record on ``line`` was logged after the point (``step``, ``epoch``) of a run.

    A ``val`` line at the checkpoint's step is after it when its epoch is
    later: the epoch ended, but its checkpoint was never written.
    """
    try:
        record = json.loads(line)
    except ValueError:  # not JSON: readers skip it, so it can stay
        return False
    if not isinstance(record, dict):
        return False
    at = record.get("step"), record.get("epoch", 0)
    if not all(isinstance(value, int) for value in at):
        return False
    return at > (step, epoch)


def drop_lines_after(path: str | Path, step: int, epoch: int) -> int:
    """Cut the metrics file before its first line logged after (``step``, ``epoch``).

    Returns the number of bytes dropped.  A line cut short by a kill goes
    too.  The shorter file replaces the old one atomically, so a crash
    meanwhile keeps the old file, and a :class:`MetricsFollower` sees a new
    file and reads it from the start.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    keep = 0
    for line in data.split(b"\n")[:-1]:  # the last piece is empty, or a line cut short
        if _is_after(line, step, epoch):
            break
        keep += len(line) + 1
    if keep < len(data):
        atomic_write_bytes(path, data[:keep])
    return len(data) - keep


class MetricsFollower:
    """Reads complete new lines of a metrics file since the last call (a live run may add more).

    When the file is replaced (a resumed run dropped the lines it logs again,
    see :func:`drop_lines_after`) the new file is read from its start: its
    records come again, up to the step where the run went back.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._offset = 0
        self._file_id: tuple[int, int] | None = None

    def read_new(self) -> list[dict]:
        try:
            with self.path.open("rb") as handle:
                status = os.fstat(handle.fileno())
                file_id = (status.st_dev, status.st_ino)
                if file_id != self._file_id:  # the first read, or a replaced file
                    self._file_id, self._offset = file_id, 0
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
