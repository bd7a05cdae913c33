"""Meshes for CAD: faces against deviation on the sample photos' reconstructions.

Every ``resources/samples/*.png`` is reconstructed as ``svr-desktop
reconstruct`` does (default model, 256^3, ``--faces full``), then:

* the error-bounded export (:func:`svr_desktop.inference.simplify.simplify_within`
  at the default tolerance): faces kept, probes, measured deviation, CPU seconds;
* the error curve of manifold3d's ``simplify`` at knobs of 0.25, 0.5, 1 and
  2 thousandths of the part size, and of quadric decimation
  (``fast_simplification``) to 200k, 100k, 50k and 25k faces: faces, the
  99.9th percentile and the largest point-to-surface distance (both ways,
  :class:`~svr_desktop.inference.simplify.DeviationMeter`), and whether the
  result is still a solid.

Deviations are shares of the part size (its longest bounding-box edge).

    python benchmarks/simplify.py [--checkpoint CK] [--resolution 256] [--cache DIR]

``--cache`` keeps the reconstructions as PLY files and reuses them.  Prints
one JSON line per mesh and measurement and ends with a JSON summary line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import trimesh

from svr_desktop.inference.postprocess import check_solid, fast_decimate
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.inference.settings import ReconstructionSettings
from svr_desktop.inference.simplify import (
    DEFAULT_TOLERANCE,
    DeviationMeter,
    to_manifold,
    from_manifold,
    simplify_within,
)
from svr_desktop.paths import default_model_path, resources_dir
from svr_desktop.progress import run_to_completion

KNOBS = (0.00025, 0.0005, 0.001, 0.002)
BUDGETS = (200_000, 100_000, 50_000, 25_000)


def reconstructions(args: argparse.Namespace) -> list[tuple[str, trimesh.Trimesh]]:
    """(photo stem, full mesh) of every sample photo, from the cache where it has them."""
    reconstructor = None
    meshes = []
    for photo in sorted((resources_dir() / "samples").glob("*.png")):
        cached = args.cache / f"{photo.stem}.ply" if args.cache else None
        if cached is not None and cached.exists():
            meshes.append((photo.stem, trimesh.load(cached, process=False)))
            continue
        reconstructor = reconstructor or Reconstructor.from_checkpoint(args.checkpoint, "cpu")
        mesh, _, _ = run_to_completion(
            reconstructor.reconstruct_photo(photo, settings=ReconstructionSettings(resolution=args.resolution))
        )
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            mesh.export(cached)
        meshes.append((photo.stem, mesh))
    return meshes


def curve(name: str, mesh: trimesh.Trimesh) -> list[dict]:
    """Faces and deviation of manifold3d's simplify per knob and of quadric decimation per budget."""
    meter = DeviationMeter(mesh)
    solid = to_manifold(mesh)
    rows = []
    candidates = [("manifold", knob, lambda knob=knob: from_manifold(solid.simplify(knob * meter.size))) for knob in KNOBS]
    candidates += [("quadric", budget, lambda budget=budget: fast_decimate(mesh, budget)) for budget in BUDGETS]
    for method, setting, make in candidates:
        start = time.process_time()
        candidate = make()
        seconds = time.process_time() - start
        deviation = meter(candidate)
        rows.append(
            dict(
                mesh=name, method=method, setting=setting, faces=len(candidate.faces), cpu_s=round(seconds, 2),
                solid=check_solid(candidate).is_solid, p999=round(deviation.quantile, 5), max=round(deviation.largest, 5),
            )
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=default_model_path())
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--cache", type=Path, default=None, help="keep and reuse the reconstructions here (PLY)")
    args = parser.parse_args()

    autos, rows = [], []
    for name, mesh in reconstructions(args):
        start = time.process_time()
        simplified, report = run_to_completion(simplify_within(mesh, DEFAULT_TOLERANCE))
        autos.append(
            dict(
                mesh=name, faces_before=report.faces_before, faces_after=report.faces_after,
                reduction=round(report.faces_before / report.faces_after, 1), probes=len(report.probes),
                p999=round(report.deviation, 5), max=round(report.max_deviation, 5),
                cpu_s=round(time.process_time() - start, 2), watertight=bool(simplified.is_watertight),
            )
        )
        print(json.dumps(autos[-1]), flush=True)
        rows += curve(name, mesh)
    summary = dict(
        tolerance=DEFAULT_TOLERANCE,
        meshes=len(autos),
        median_faces_before=float(np.median([a["faces_before"] for a in autos])),
        median_faces_after=float(np.median([a["faces_after"] for a in autos])),
        median_reduction=float(np.median([a["reduction"] for a in autos])),
        worst_p999=max(a["p999"] for a in autos),
        median_auto_cpu_s=float(np.median([a["cpu_s"] for a in autos])),
        max_auto_cpu_s=max(a["cpu_s"] for a in autos),
        **{
            f"{method}_solid": f"{sum(r['solid'] for r in rows if r['method'] == method)}/"
            f"{sum(r['method'] == method for r in rows)}"
            for method in ("manifold", "quadric")
        },
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
