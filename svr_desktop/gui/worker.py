"""Run a core progress generator on a worker thread and report back by signals.

Core work is a generator that yields :class:`~svr_desktop.progress.Progress`
and returns its result (see :mod:`svr_desktop.progress`).  A
:class:`GeneratorWorker` drives one such generator on its own ``QThread``;
its signals arrive in the GUI thread (queued connections), so slots may
touch widgets.  Cancelling stops at the generator's next yield and closes it,
so its ``finally`` blocks run and no partial result is delivered.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from svr_desktop.progress import Progress, ProgressGenerator

log = logging.getLogger(__name__)

#: At most this many progress events per second reach the GUI thread (the
#: first and last event of every stage always do): each one costs the GUI
#: thread a repaint, and it competes for the GIL with the worker.
PROGRESS_EVENTS_PER_SECOND = 10

#: Exceptions whose message is written for users (bad input, I/O problems);
#: anything else is a bug and is reported with its type.
EXPECTED_ERRORS = (ValueError, OSError)


def error_message(exc: BaseException) -> str:
    """One line for a dialog or the status bar."""
    if isinstance(exc, EXPECTED_ERRORS):
        return str(exc) or type(exc).__name__
    return f"unexpected {type(exc).__name__}: {exc}"


def _log_failure(exc: Exception) -> None:
    """Log a failed work: one line for an expected error, the whole traceback for a bug.

    A bad photo or checkpoint is the user's everyday business, already
    shown in the window; a traceback is only worth printing for a bug.
    """
    if isinstance(exc, EXPECTED_ERRORS):
        log.error("failed: %s", " ".join(error_message(exc).split()))
    else:
        log.error("worker failed", exc_info=exc)


class GeneratorWorker(QObject):
    """Drives ``make_work()`` in a thread; exactly one of ``finished``,
    ``failed`` or ``cancelled`` is emitted at the end, then ``done``."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # the generator's return value
    failed = Signal(str)  # a message for the user
    cancelled = Signal()
    done = Signal()

    def __init__(self, make_work: Callable[[], ProgressGenerator]):
        super().__init__()
        self._make_work = make_work
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop at its next progress event (thread-safe)."""
        self._cancel.set()

    @Slot()
    def run(self) -> None:
        try:
            result = self._drive()
        except Exception as exc:  # reported to the user, never swallowed
            _log_failure(exc)
            self.failed.emit(error_message(exc))
        else:
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.finished.emit(result)
        self.done.emit()

    def _drive(self):
        work = self._make_work()
        throttle = ProgressThrottle(PROGRESS_EVENTS_PER_SECOND)
        try:
            while not self._cancel.is_set():
                try:
                    event = next(work)
                except StopIteration as stop:
                    return stop.value
                if isinstance(event, Progress) and throttle.passes(event):
                    self.progress.emit(event)
            return None
        finally:
            work.close()


class ProgressThrottle:
    """Lets through a stage's first and last event and otherwise at most ``rate`` per second."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic):
        self._interval = 1.0 / rate
        self._clock = clock
        self._stage: str | None = None
        self._last = -float("inf")

    def passes(self, event: Progress) -> bool:
        now = self._clock()
        boundary = event.stage != self._stage or event.done >= event.total
        if boundary or now - self._last >= self._interval:
            self._stage, self._last = event.stage, now
            return True
        return False


class WorkerThread:
    """A :class:`GeneratorWorker` with the ``QThread`` it runs on.

    Keep a reference while the work runs (``start`` returns self); the thread
    quits and both objects are released when the work is done.
    """

    def __init__(self, worker: GeneratorWorker):
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("svr-desktop-worker")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        # Direct: quit() is thread-safe and must not wait for the GUI thread's
        # event loop, so that wait() from the GUI thread returns promptly.
        worker.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)

    def start(self) -> WorkerThread:
        self.thread.start()
        return self

    def cancel(self) -> None:
        self.worker.cancel()

    def is_running(self) -> bool:
        return self.thread.isRunning()

    def wait(self, milliseconds: int = -1) -> bool:
        """Block until the thread has ended (``-1``: no limit); True if it has."""
        return self.thread.wait() if milliseconds < 0 else self.thread.wait(milliseconds)


class _Relay(QObject):
    """Lives in the thread that started the work and calls the callbacks there.

    Plain Python callables connected straight to the worker's signals would
    run in the worker thread; slots of an object owned by the GUI thread are
    invoked through queued connections in the GUI thread.
    """

    def __init__(self, on_finished, on_failed, on_progress, on_cancelled):
        super().__init__()
        self._on_finished, self._on_failed = on_finished, on_failed
        self._on_progress, self._on_cancelled = on_progress, on_cancelled

    @Slot(object)
    def finished(self, value) -> None:
        self._on_finished(value)

    @Slot(str)
    def failed(self, message: str) -> None:
        self._on_failed(message)

    @Slot(object)
    def progress(self, event) -> None:
        if self._on_progress is not None:
            self._on_progress(event)

    @Slot()
    def cancelled(self) -> None:
        if self._on_cancelled is not None:
            self._on_cancelled()


def start_work(
    make_work: Callable[[], ProgressGenerator],
    on_finished: Callable[[object], None],
    on_failed: Callable[[str], None],
    on_progress: Callable[[Progress], None] | None = None,
    on_cancelled: Callable[[], None] | None = None,
) -> WorkerThread:
    """Start ``make_work()`` on a new thread; the callbacks run in the calling (GUI) thread."""
    worker = GeneratorWorker(make_work)
    relay = _Relay(on_finished, on_failed, on_progress, on_cancelled)
    worker.finished.connect(relay.finished)
    worker.failed.connect(relay.failed)
    worker.progress.connect(relay.progress)
    worker.cancelled.connect(relay.cancelled)
    handle = WorkerThread(worker)
    handle.relay = relay  # keeps the relay alive as long as the handle
    return handle.start()
