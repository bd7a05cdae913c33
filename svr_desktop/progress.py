"""Progress events for long-running work.

Long work in the core is written as a generator that yields :class:`Progress`
events and *returns* its result (``return value`` inside the generator).  The
command line turns the events into a progress bar, the GUI forwards them from
a worker thread, and cancellation happens between two yields simply by not
resuming the generator.

A job made of several stages (MISE levels, marching cubes, export) reports
each stage's own ``done / total``, which starts again at 0 % with every
stage.  :class:`OverallProgress` turns those events into one figure for the
whole job, with an estimate of the time left, from a *plan*: the stages in
the order they run, each weighted by its expected share of the time.  Both
fronts show that figure, so the command line and the GUI agree.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Callable, Generator, Sequence, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """One step of long work: ``done`` of ``total`` units finished in ``stage``."""

    stage: str
    done: int
    total: int


ProgressGenerator = Generator[Progress, None, T]

#: A job's stages in the order they run, each with its weight: its expected
#: share of the time, in any unit (seconds on a reference machine).
Plan = Sequence[tuple[str, float]]

#: No time-left estimate before this share of the work is done: earlier, one
#: slow start (loading, caches) would be extrapolated to the whole job.
MIN_FRACTION_FOR_ESTIMATE = 0.05


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


@dataclass(frozen=True)
class OverallStatus:
    """Where a whole job stands: the stage running, the share done, the time spent and left (seconds)."""

    stage: str
    fraction: float  # 0..1 of the whole job, by the plan's weights
    elapsed: float
    remaining: float | None  # None until enough is done to extrapolate

    @property
    def percent(self) -> int:
        """The share done in whole percent (rounded down: 100 only at the very end)."""
        return int(self.fraction * 100)

    def time_left(self) -> str:
        """``about 12 s left``, or ``""`` while there is no estimate yet."""
        return "" if self.remaining is None else f"about {format_duration(self.remaining)} left"

    def describe(self) -> str:
        """One line for people, e.g. ``mise 128^3 · 43 % · about 12 s left``."""
        return " · ".join(part for part in (self.stage, f"{self.percent} %", self.time_left()) if part)


class OverallProgress:
    """Maps the stage events of one job to one overall fraction with a time-left estimate.

    ``plan`` lists the stages the job runs, in order, with their weights.  An
    event of stage ``i`` counts stages ``0 .. i-1`` as done (a stage the job
    skipped counts as done too) plus ``done / total`` of stage ``i``.  Events
    of stages the plan does not name keep the figure where it was, and the
    figure never goes back (a stage that runs twice, a plan that is a little
    off).  The time left extrapolates the time spent: ``elapsed * (1 - f) /
    f``; the weights make ``f`` grow about evenly with time.
    """

    def __init__(self, plan: Plan, clock: Callable[[], float] = time.monotonic):
        if not plan or any(weight < 0 for _, weight in plan) or sum(weight for _, weight in plan) <= 0:
            raise ValueError("a progress plan needs stages with non-negative weights and a positive sum")
        # Stage boundaries from the running sum of weights, so that the last one is total / total,
        # exactly 1: summed shares can fall short of 1 by a rounding error and never reach 100 %.
        cumulative = list(itertools.accumulate(float(weight) for _, weight in plan))
        total = cumulative[-1]
        self._index = {name: index for index, (name, _) in enumerate(plan)}
        self._ends = [reached / total for reached in cumulative]
        self._starts = [0.0, *self._ends[:-1]]
        self._clock = clock
        self._started: float | None = None
        self._fraction = 0.0

    def update(self, event: Progress) -> OverallStatus:
        """Take one event; the status of the whole job after it."""
        now = self._clock()
        if self._started is None:
            self._started = now
        index = self._index.get(event.stage)
        if index is not None:
            within = min(max(event.done / event.total, 0.0), 1.0) if event.total > 0 else 0.0
            start, end = self._starts[index], self._ends[index]
            self._fraction = max(self._fraction, end if within == 1.0 else start + within * (end - start))
        elapsed = now - self._started
        remaining = None
        if self._fraction >= MIN_FRACTION_FOR_ESTIMATE and elapsed > 0:
            remaining = elapsed * (1.0 - self._fraction) / self._fraction
        return OverallStatus(event.stage, self._fraction, elapsed, remaining)


def format_duration(seconds: float) -> str:
    """A short duration for people: ``8 s``, ``2 min 05 s``, ``1 h 02 min``."""
    seconds = max(int(round(seconds)), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
