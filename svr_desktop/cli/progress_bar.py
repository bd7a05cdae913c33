"""Progress of :class:`~svr_desktop.progress.Progress` events on stderr.

On a terminal: a tqdm bar, one per stage, or, given a plan, one bar for the
whole job with the stage running and the time left
(:class:`~svr_desktop.progress.OverallProgress`).  Without a terminal (a
log file, a pipe, CI): plain lines, one when a stage starts and one per
further tenth of it (of the whole job, given a plan), so a log shows the
work moving without a carriage-return bar in it.  For a parent process
(the desktop application) :func:`print_json_progress` prints every event
as one JSON line on stdout instead.
"""

from __future__ import annotations

import json
import sys
from typing import Callable, TextIO

from tqdm import tqdm

from ..progress import OverallProgress, Plan, Progress, ProgressGenerator, T, run_to_completion

#: Without a terminal, a line per this many percent of the work.
LINE_STEP = 10


def run_with_progress_bar(
    work: ProgressGenerator[T], quiet: bool = False, plan: Plan | None = None, label: str = ""
) -> T:
    """Drive ``work`` to completion, showing its progress on stderr.

    ``plan`` (the job's weighted stages) gives one overall bar with a time
    left instead of a bar per stage; ``label`` (e.g. the photo's name) starts
    every plain line.  ``quiet`` shows nothing.
    """
    if quiet:
        return run_to_completion(work)
    stream = sys.stderr
    if stream.isatty():
        show, close = _overall_bar(plan, stream) if plan is not None else _stage_bars(stream)
    else:
        show, close = _plain_lines(plan, label, stream), lambda: None
    try:
        return run_to_completion(work, show)
    finally:
        close()


def _stage_bars(stream: TextIO) -> tuple[Callable[[Progress], None], Callable[[], None]]:
    """One tqdm bar per stage, replaced when the stage changes."""
    bar: tqdm | None = None
    stage: str | None = None

    def show(event: Progress) -> None:
        nonlocal bar, stage
        if event.stage != stage:
            close()
            stage = event.stage
            bar = tqdm(total=event.total, desc=event.stage, file=stream, leave=False, dynamic_ncols=True)
        bar.total = event.total
        bar.update(event.done - bar.n)

    def close() -> None:
        if bar is not None:
            bar.close()

    return show, close


def _overall_bar(plan: Plan, stream: TextIO) -> tuple[Callable[[Progress], None], Callable[[], None]]:
    """One tqdm bar from 0 to 100 % for the whole job, its stage and time left as the postfix.

    The time left comes from :class:`OverallProgress` (the same figure the
    GUI shows), not from tqdm's rate, which would see the weighted
    percentages but not why they move unevenly.
    """
    overall = OverallProgress(plan)
    bar = tqdm(total=100, file=stream, leave=False, dynamic_ncols=True, bar_format="{percentage:3.0f}%|{bar}| {postfix}")

    def show(event: Progress) -> None:
        status = overall.update(event)
        bar.set_postfix_str(", ".join(part for part in (status.stage, status.time_left()) if part), refresh=False)
        bar.update(status.fraction * 100 - bar.n)

    return show, bar.close


def _plain_lines(plan: Plan | None, label: str, stream: TextIO) -> Callable[[Progress], None]:
    """A line per new stage and per further tenth of the work (overall, given a plan)."""
    overall = OverallProgress(plan) if plan is not None else None
    last: tuple[str, int] | None = None
    prefix = f"{label}: " if label else ""

    def show(event: Progress) -> None:
        nonlocal last
        if overall is not None:
            status = overall.update(event)
            step, text = status.percent // LINE_STEP, status.describe()
        else:
            percent = int(100 * event.done / event.total) if event.total > 0 else 0
            step, text = percent // LINE_STEP, f"{event.stage} · {percent} %"
        if last is None or event.stage != last[0] or step > last[1]:
            last = (event.stage, step)
            print(prefix + text, file=stream, flush=True)

    return show


def print_json_progress(event: Progress) -> None:
    """One flushed JSON line per event on stdout, so a parent process sees progress as it happens."""
    print(json.dumps({"stage": event.stage, "done": event.done, "total": event.total}), flush=True)
