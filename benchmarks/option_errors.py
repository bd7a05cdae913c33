"""How long a whole ``svr-desktop`` process takes to refuse a bad option (issue 15: within 2 s).

Each case runs as its own process, as a user types it, ``--repeats`` times;
the figure is the median wall time from start to exit (imports included),
and ``--version`` is timed as the floor every command pays.  Each case must
exit with code 2 and one stderr line.

    python benchmarks/option_errors.py [--repeats 5]

Prints one line per case and ends with a JSON line of the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = str(ROOT / "resources" / "samples" / "flange_studio.png")
DATA = str(ROOT / "resources")  # never read: the option is refused first

CASES = {
    "--version": ["--version"],
    "reconstruct --faces 0": ["reconstruct", PHOTO, "--out", "/tmp/never.stl", "--faces", "0"],
    "reconstruct --device tpu": ["reconstruct", PHOTO, "--out", "/tmp/never.stl", "--device", "tpu"],
    "train --device quantum": ["train", "--data", DATA, "--out", "/tmp/never-run", "--device", "quantum"],
    "train --set data.batch_size=many": ["train", "--data", DATA, "--out", "/tmp/never-run", "--set", "data.batch_size=many"],
    "train --set model.width=1000000": ["train", "--data", DATA, "--out", "/tmp/never-run", "--set", "model.width=1000000"],
    "dataset build --workers 0": ["dataset", "build", "--out", "/tmp/never-data", "--workers", "0"],
}


def time_case(args: list[str]) -> tuple[float, int, int]:
    """Wall seconds, exit code and stderr lines of one process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "svr_desktop", *args], capture_output=True, text=True, cwd=ROOT)
    return time.perf_counter() - start, done.returncode, len(done.stderr.strip().splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    medians = {}
    for name, argv in CASES.items():
        runs = [time_case(argv) for _ in range(args.repeats)]
        medians[name] = round(statistics.median(seconds for seconds, _, _ in runs), 3)
        codes = sorted({code for _, code, _ in runs})
        lines = sorted({count for _, _, count in runs})
        print(f"{name:36s} median {medians[name]:.2f} s  exit {codes}  stderr lines {lines}")
    worst = max(value for name, value in medians.items() if name != "--version")
    print(json.dumps({"medians_s": medians, "slowest_error_s": worst, "version_s": medians["--version"]}))


if __name__ == "__main__":
    main()
