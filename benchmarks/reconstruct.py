"""Photo-to-mesh speed and memory on the current device.

Reconstructs the sample photos (``resources/samples/*.png``) with a model,
at resolutions 128 and 256, five times each (the median is reported), and
breaks the time down by stage.  Peak RSS is the process's maximum resident
memory (``resource.getrusage``), model loading included.

    python benchmarks/reconstruct.py [--checkpoint CK] [--device auto] [--repeats 5]

Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from svr_desktop.inference.preprocess import prepare_photo
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.inference.settings import ReconstructionSettings
from svr_desktop.paths import default_model_path, resources_dir
from svr_desktop.progress import run_to_completion


def peak_rss_mb() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, kB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--resolutions", type=int, nargs="+", default=[128, 256])
    args = parser.parse_args()

    reconstructor = Reconstructor.from_checkpoint(args.checkpoint or default_model_path(), args.device)
    photos = sorted((resources_dir() / "samples").glob("*.png"))
    figures: dict = {"device": str(reconstructor.device), "checkpoint": str(args.checkpoint or default_model_path())}
    # Preprocessing (GrabCut) is timed on its own; the runs below start from the prepared input.
    prepared, prep_seconds = [], []
    for photo in photos:
        start = time.perf_counter()
        prepared.append(prepare_photo(photo, reconstructor.image_size))
        prep_seconds.append(time.perf_counter() - start)
    figures["preprocess_median_s"] = round(statistics.median(prep_seconds), 3)
    print(f"{len(photos)} sample photos, model {figures['checkpoint']} on {figures['device']}")
    print(f"preprocess (load + background removal + framing): median {figures['preprocess_median_s']:.3f} s")

    for resolution in args.resolutions:
        totals, stages, queried, faces = [], defaultdict(list), [], []
        for repeat in range(args.repeats):
            for item in prepared:
                _, stats, _ = run_to_completion(reconstructor.reconstruct_photo(item, settings=ReconstructionSettings(resolution=resolution)))
                totals.append(stats.total_seconds)
                for stage, seconds in stats.timings.items():
                    stages[stage].append(seconds)
                queried.append(stats.points_queried)
                faces.append(stats.faces)
        median = statistics.median(totals)
        figures[f"median_s_{resolution}"] = round(median, 3)
        figures[f"points_queried_{resolution}"] = int(statistics.median(queried))
        print(f"\nresolution {resolution}^3: median {median:.3f} s over {len(totals)} runs, "
              f"{int(statistics.median(queried)):,} points queried, {int(statistics.median(faces)):,} faces")
        for stage, values in stages.items():
            print(f"  {stage:>16}: {statistics.median(values):.3f} s")
    figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(f"\npeak RSS {figures['peak_rss_mb']:.0f} MB")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
