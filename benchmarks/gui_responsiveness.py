"""Does the window stay responsive while it reconstructs?

Opens the real main window on a sample photo, starts a reconstruction at
resolution 256 and lets a 20 ms ``QTimer`` tick in the GUI thread until the
mesh is shown (and a little after, so the time spent building and rendering
the mesh in the GUI thread counts too).  A gap between two ticks is time the
GUI thread could not react to the user; the target is at most 50 ms.  The
worst gaps are printed with the reconstruction stage running at the time,
which tells whether the GUI thread itself was busy (mesh display) or was
starved by a worker holding Python's GIL (long numpy / C-extension calls).

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
#: Ticks keep being recorded this long after the mesh is shown (its first renders).
AFTER_MS = 500


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

    from svr_desktop.gui.app import application
    from svr_desktop.gui.main_window import MainWindow

    app = application()
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

    ticks: list[tuple[float, str]] = []
    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append((time.perf_counter(), window.progress.stage_label.text())))
    done = QEventLoop()
    window.reconstruction_finished.connect(lambda _mesh: QTimer.singleShot(AFTER_MS, done.quit))
    window.error_reported.connect(done.quit)
    timer.start()
    start = time.perf_counter()
    window.reconstruct()
    done.exec()
    timer.stop()
    if errors:
        print(f"error: {errors[0]}", file=sys.stderr)
        return 2

    gaps = sorted(
        ((later - earlier) * 1000.0, stage) for (earlier, _), (later, stage) in zip(ticks, ticks[1:])
    )
    stats = window.stats
    print(f"model {checkpoint} on {stats.device}, photo {args.photo.name}, resolution {args.resolution}")
    print(f"reconstruction: {stats.faces:,} faces in {stats.total_seconds:.2f} s (worker's own timing)")
    for stage, seconds in stats.timings.items():
        print(f"  {stage:<16} {seconds:7.3f} s")
    print(f"{len(ticks)} ticks of {TICK_MS} ms; worst gaps (ms, stage shown at the time):")
    for gap, stage in reversed(gaps[-8:]):
        print(f"  {gap:7.1f}  {stage}")
    figures = {
        "worst_gap_ms": round(gaps[-1][0], 1),
        "p99_gap_ms": round(gaps[int(0.99 * (len(gaps) - 1))][0], 1),
        "reconstruct_s": round(stats.total_seconds, 2),
        "wall_s": round(time.perf_counter() - start - AFTER_MS / 1000.0, 2),
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
