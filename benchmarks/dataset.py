"""Data-set build throughput on this machine.

Builds a fixed small set of generated parts (default 40 shapes x 4 views x
10,000 training points, 224 px) into a temporary folder and reports shapes
per minute, including worker start-up, manifest and contact sheet.

    python benchmarks/dataset.py [--shapes N] [--views V] [--workers K]

Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from svr_desktop.data.builder import BuildConfig, build_dataset
from svr_desktop.progress import run_to_completion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", type=int, default=40)
    parser.add_argument("--views", type=int, default=4)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--shapes-per-shard", type=int, default=4)
    args = parser.parse_args()

    config = BuildConfig(
        shapes=args.shapes, views=args.views, image_size=args.image_size, shapes_per_shard=args.shapes_per_shard
    )
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        report = run_to_completion(build_dataset(folder, config, workers=args.workers))
        seconds = time.perf_counter() - start
        size_mb = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(folder) for f in files) / 2**20
    print(
        f"{report.shapes} shapes x {args.views} views at {args.image_size} px with {args.workers} workers: "
        f"{seconds:.1f} s, {size_mb:.1f} MB on disk ({size_mb / report.shapes:.2f} MB per shape)"
    )
    print(
        json.dumps(
            {
                "shapes_per_min": round(60.0 * report.shapes / seconds, 1),
                "seconds_per_shape": round(seconds / report.shapes, 3),
                "workers": args.workers,
                "mb_per_shape": round(size_mb / report.shapes, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
