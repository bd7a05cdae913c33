"""Photo-to-mesh speed and memory on the current device.

Reconstructs the sample photos (``resources/samples/*.png``) with a model,
at resolutions 128 and 256, five times each (the median is reported), and
breaks the time down by stage.  It does so with the default number of
turned copies of the input (:mod:`svr_desktop.inference.turns`) and with
the image alone (``turns = 1``, keys ending ``_turns1``), alternating photo
by photo, so that their ratio is measured in one run.  Peak RSS is the
process's maximum resident memory (``resource.getrusage``), model loading
included.

    python benchmarks/reconstruct.py [--checkpoint CK] [--device auto] [--repeats 5] [--turns 5 1]

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
from svr_desktop.inference.turns import DEFAULT_TURNS
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
    parser.add_argument("--turns", type=int, nargs="+", default=[DEFAULT_TURNS, 1])
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
        # The settings alternate photo by photo, so that a change in the machine's load falls on both.
        runs = {turns: ([], defaultdict(list), [], []) for turns in args.turns}
        for repeat in range(args.repeats):
            for item in prepared:
                for turns in args.turns:
                    totals, stages, queried, faces = runs[turns]
                    settings = ReconstructionSettings(resolution=resolution, turns=turns)
                    _, stats, _ = run_to_completion(reconstructor.reconstruct_photo(item, settings=settings))
                    totals.append(stats.total_seconds)
                    for stage, seconds in stats.timings.items():
                        stages[stage].append(seconds)
                    queried.append(stats.points_queried)
                    faces.append(stats.faces)
        for turns, (totals, stages, queried, faces) in runs.items():
            suffix = "" if turns == DEFAULT_TURNS else f"_turns{turns}"
            median = statistics.median(totals)
            figures[f"median_s_{resolution}{suffix}"] = round(median, 3)
            figures[f"points_queried_{resolution}{suffix}"] = int(statistics.median(queried))
            print(f"\nresolution {resolution}^3, {turns} turned cop{'y' if turns == 1 else 'ies'}: median {median:.3f} s "
                  f"over {len(totals)} runs, {int(statistics.median(queried)):,} points queried, {int(statistics.median(faces)):,} faces")
            for stage, values in stages.items():
                print(f"  {stage:>16}: {statistics.median(values):.3f} s")
        if DEFAULT_TURNS in args.turns and 1 in args.turns and DEFAULT_TURNS != 1:
            ratio = figures[f"median_s_{resolution}"] / figures[f"median_s_{resolution}_turns1"]
            figures[f"turns{DEFAULT_TURNS}_over_turns1_{resolution}"] = round(ratio, 3)
            print(f"{resolution}^3: {DEFAULT_TURNS} turned copies take {ratio:.2f}x the time of the image alone")
    figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(f"\npeak RSS {figures['peak_rss_mb']:.0f} MB")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
