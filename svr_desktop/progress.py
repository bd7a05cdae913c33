"""Progress events for long-running work.

Long work in the core is written as a generator that yields :class:`Progress`
events and *returns* its result (``return value`` inside the generator).  The
command line turns the events into a progress bar, the GUI forwards them from
a worker thread, and cancellation happens between two yields simply by not
resuming the generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generator, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One step of long work: ``done`` of ``total`` units finished in ``stage``."""

    stage: str
    done: int
    total: int


ProgressGenerator = Generator[Progress, None, T]


def run_to_completion(
    work: ProgressGenerator[T], on_progress: Callable[[Progress], None] | None = None
) -> T:
    """Drive a progress generator to its end and return its result.

    ``on_progress`` (optional) receives every event; use it for a progress bar.
    """
    while True:
        try:
            event = next(work)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(event)
