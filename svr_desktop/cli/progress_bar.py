"""Terminal progress bars for :class:`~svr_desktop.progress.Progress` events."""

from __future__ import annotations

import sys

from tqdm import tqdm

from ..progress import Progress, ProgressGenerator, T, run_to_completion


def run_with_progress_bar(work: ProgressGenerator[T], quiet: bool = False) -> T:
    """Drive ``work`` to completion, showing one bar per stage on stderr (when it is a terminal)."""
    bar: tqdm | None = None
    stage: str | None = None

    def show(event: Progress) -> None:
        nonlocal bar, stage
        if event.stage != stage:
            if bar is not None:
                bar.close()
            stage = event.stage
            # disable=None: no bar when stderr is not a terminal (logs, pipes, CI)
            bar = tqdm(total=event.total, desc=event.stage, file=sys.stderr, leave=False, dynamic_ncols=True, disable=None)
        bar.total = event.total
        bar.update(event.done - bar.n)

    try:
        return run_to_completion(work, None if quiet else show)
    finally:
        if bar is not None:
            bar.close()
