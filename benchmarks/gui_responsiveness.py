"""Does the window stay responsive while it reconstructs?

Opens the real main window on a sample photo, starts a reconstruction at
resolution 256 and lets a 20 ms ``QTimer`` tick in the GUI thread until the
mesh is on screen, and a little after.  A gap between two ticks is time the
GUI thread could not react to the user; the target is at most 50 ms.  Two
periods are told apart, because their causes and cures differ:

* **reconstruction** (start to the worker's result): the GUI thread has
  nothing to do, so a long gap means the worker starved it by holding
  Python's GIL in one long numpy / C-extension call.  ``worst_gap_ms``.
* **display** (the worker's result to the end of the first render after the
  window has taken the mesh in): the GUI thread itself builds the mesh's
  actors and renders it (software OpenGL under Xvfb).  ``display_ms`` is
  how long that takes; ``worst_gap_with_display_ms`` is the worst gap of
  the whole run, display included.

The worst gaps are printed with the stage shown at the time.

Needs a display (use ``xvfb-run -a`` on a headless machine):

    python benchmarks/gui_responsiveness.py [--checkpoint CK] [--photo PNG] [--resolution 256]

Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from svr_desktop.paths import default_model_path, resources_dir

TICK_MS = 20
#: Ticks keep being recorded this long after the mesh is on screen.
AFTER_MS = 500
#: Give up waiting for the mesh to be rendered this long after the window took it.
DISPLAY_TIMEOUT_MS = 30_000


class Timeline:
    """When the worker's result was ready, the window took the mesh in, and it was first rendered."""

    def __init__(self) -> None:
        self.result_ready: float | None = None
        self.taken_in: float | None = None
        self.rendered: float | None = None


def timed_reconstruct(reconstruct, timeline: Timeline):
    """Wrap ``jobs.reconstruct`` so that the worker thread notes when its result is ready."""

    def work(*args, **kwargs):
        result = yield from reconstruct(*args, **kwargs)
        timeline.result_ready = time.perf_counter()
        return result

    return work


def gaps_between(ticks: list[tuple[float, str]], start: float, end: float) -> list[tuple[float, str]]:
    """Gaps (ms, stage at the later tick) of the ticks in ``[start, end]``, cut at ``end``, sorted."""
    times = [start] + [t for t, _ in ticks if start < t < end] + [end]
    stages = [""] + [stage for t, stage in ticks if start < t < end] + ["(end of period)"]
    return sorted(((later - earlier) * 1000.0, stage) for earlier, later, stage in zip(times, times[1:], stages[1:]))


def print_gaps(title: str, gaps: list[tuple[float, str]], count: int = 8) -> None:
    print(f"{title}: worst gaps (ms, stage shown at the time):")
    for gap, stage in reversed(gaps[-count:]):
        print(f"  {gap:7.1f}  {stage}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--photo", type=Path, default=resources_dir() / "samples" / "flange_studio.png")
    parser.add_argument("--resolution", type=int, default=256, choices=(64, 128, 256, 512))
    args = parser.parse_args()
    checkpoint = args.checkpoint or default_model_path()
    if not checkpoint.is_file():
        print(
            f"no model at {checkpoint}: the default model is not there yet; pass --checkpoint with a "
            "trained checkpoint (svr-desktop train)",
            file=sys.stderr,
        )
        return 2

    from PySide6.QtCore import QEventLoop, QTimer

    from svr_desktop.gui import jobs
    from svr_desktop.devices import leave_a_core_for_the_interface
    from svr_desktop.gui.app import application, freeze_startup_objects
    from svr_desktop.gui.main_window import MainWindow

    app = application()
    leave_a_core_for_the_interface()  # as run_app does
    window = MainWindow(checkpoint=checkpoint)
    window.parameters.set_resolution(args.resolution)
    errors: list[str] = []
    window.error_reported.connect(errors.append)
    window.show()

    def wait_for(signal) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)
        window.error_reported.connect(loop.quit)
        loop.exec()
        if errors:
            raise SystemExit(f"error: {errors[0]}")

    wait_for(window.model_ready)
    window.open_photo(args.photo)
    wait_for(window.photo_ready)
    freeze_startup_objects()  # as run_app does once the window is up

    timeline = Timeline()
    jobs.reconstruct = timed_reconstruct(jobs.reconstruct, timeline)
    done = QEventLoop()

    def taken_in(_mesh) -> None:
        timeline.taken_in = time.perf_counter()
        QTimer.singleShot(DISPLAY_TIMEOUT_MS, done.quit)

    def render_ended(*_args) -> None:
        if timeline.taken_in is not None and timeline.rendered is None:
            timeline.rendered = time.perf_counter()
            QTimer.singleShot(AFTER_MS, done.quit)

    window.reconstruction_finished.connect(taken_in)
    window.viewer.plotter.render_window.AddObserver("EndEvent", render_ended)
    window.error_reported.connect(done.quit)

    ticks: list[tuple[float, str]] = []
    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append((time.perf_counter(), window.progress.stage_label.text())))
    timer.start()
    start = time.perf_counter()
    window.reconstruct()
    done.exec()
    timer.stop()
    if errors or timeline.rendered is None:
        print(f"error: {errors[0] if errors else 'the mesh was never rendered'}", file=sys.stderr)
        return 2

    end = timeline.rendered + AFTER_MS / 1000.0
    reconstruction = gaps_between(ticks, start, timeline.result_ready)
    display = gaps_between(ticks, timeline.result_ready, end)
    overall = gaps_between(ticks, start, end)
    stats = window.stats
    print(f"model {checkpoint} on {stats.device}, photo {args.photo.name}, resolution {args.resolution}")
    print(f"reconstruction: {stats.faces:,} faces in {stats.total_seconds:.2f} s (worker's own timing)")
    for stage, seconds in stats.timings.items():
        print(f"  {stage:<16} {seconds:7.3f} s")
    print(f"{len(ticks)} ticks of {TICK_MS} ms")
    print_gaps("while reconstructing", reconstruction)
    print_gaps("from the result to the mesh on screen and 0.5 s after", display, count=4)
    figures = {
        "worst_gap_ms": round(reconstruction[-1][0], 1),
        "p99_gap_ms": round(reconstruction[int(0.99 * (len(reconstruction) - 1))][0], 1),
        "display_ms": round((timeline.rendered - timeline.result_ready) * 1000.0, 1),
        "worst_gap_with_display_ms": round(overall[-1][0], 1),
        "reconstruct_s": round(stats.total_seconds, 2),
        "wall_s": round(timeline.rendered - start, 2),
        "resolution": args.resolution,
        "faces": stats.faces,
        "device": stats.device,
        "load_average_1min": round(os.getloadavg()[0], 2),  # other work on the machine inflates gaps
    }
    window.close()
    app.processEvents()
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
