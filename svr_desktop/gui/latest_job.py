"""One kind of background job where only the newest request counts.

Loading a photo, finding its silhouette again after the user changed the
rectangle, loading a checkpoint: each new request makes the previous one
pointless.  :class:`LatestJob` cancels the previous work, drops any result
it still delivers, and keeps every started thread referenced until it has
ended (a ``QThread`` destroyed while running aborts the process).
"""

from __future__ import annotations

import time
from typing import Callable

from ..progress import Progress, ProgressGenerator
from .worker import WorkerThread, start_work


class LatestJob:
    """Starts core generators on worker threads; callbacks fire only for the newest one."""

    def __init__(self) -> None:
        self._serial = 0
        self._current: WorkerThread | None = None
        self._threads: list[WorkerThread] = []

    def start(
        self,
        make_work: Callable[[], ProgressGenerator],
        on_finished: Callable[[object], None],
        on_failed: Callable[[str], None],
        on_progress: Callable[[Progress], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
    ) -> None:
        """Cancel the running job (its result will be ignored) and start ``make_work()``."""
        self.cancel()
        self._serial += 1
        serial = self._serial

        def newest(callback, ends_the_job=True):
            if callback is None:
                return None

            def call(*args):
                if serial == self._serial:
                    if ends_the_job:
                        self._current = None
                    callback(*args)

            return call

        self._threads = [thread for thread in self._threads if thread.is_running()]
        self._current = start_work(
            make_work,
            newest(on_finished),
            newest(on_failed),
            newest(on_progress, ends_the_job=False),
            newest(on_cancelled or (lambda: None)),
        )
        self._threads.append(self._current)

    def is_running(self) -> bool:
        """Whether the newest job has not reported its end yet."""
        return self._current is not None

    def cancel(self) -> None:
        """Ask the newest job to stop; its ``on_cancelled`` (or result) still arrives."""
        if self._current is not None:
            self._current.cancel()

    def abandon(self) -> None:
        """Cancel the newest job and ignore whatever it reports."""
        self.cancel()
        self._serial += 1
        self._current = None

    def wait(self, milliseconds: int) -> bool:
        """Wait up to ``milliseconds`` for every started thread to end (cancel first); True if all have."""
        deadline = time.monotonic() + milliseconds / 1000.0
        for thread in self._threads:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if not thread.wait(remaining_ms):
                return False
        return True
