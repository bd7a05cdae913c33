"""Accuracy of the whole photo path on the sample photos, against the true parts.

Every ``resources/samples/*.png`` goes through exactly what
``svr-desktop reconstruct`` runs (:meth:`Reconstructor.reconstruct_photo`:
background removal, framing, ``a, b`` from the silhouette, MISE, marching
cubes, post-processing) and is scored against the part it shows, in that
photo's view frame.  Unlike ``svr-desktop evaluate``, which enters after
preprocessing with each render's true ``a, b``, this measures what a user
dropping a photo gets, GrabCut mistakes included.

The true part comes from the sample table of ``resources/samples/make_samples.py``
(part source, rotation seed): ``to_view_frame`` of the normalized part, the
same frame as the reconstruction (bounding box centred, longest edge 1).  The
photo path assumes the longest edge lies in the image plane (``auto_ab``);
it does for all eight samples.  Metrics: IoU and Chamfer-L1 of
:mod:`svr_desktop.geometry.metrics` (DESIGN.md section 3: 100,000 points
each, normalized units) and the volume ratio reconstruction / truth (both
watertight; within [0.67, 1.5] counts as "volume ok").

    python benchmarks/sample_photos.py [--checkpoint CK] [--resolution 128] [--meshes ../shared/dev-meshes]

Prints one line per photo and ends with one JSON line (per-photo figures,
bounding boxes of truth and reconstruction, and the means).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from svr_desktop.geometry.frames import normalize_mesh, random_rotation, to_view_frame
from svr_desktop.geometry.metrics import chamfer_l1, iou
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.inference.settings import ReconstructionSettings
from svr_desktop.paths import default_model_path, resources_dir
from svr_desktop.progress import run_to_completion

SAMPLES_DIR = resources_dir() / "samples"
VOLUME_OK = (0.67, 1.5)


@functools.cache
def load_make_samples():
    """``resources/samples/make_samples.py`` as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES_DIR / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def sample_table() -> list[tuple[Path, object]]:
    """(photo, Sample) for every PNG in the samples folder; a PNG without a table entry is an error."""
    by_name = {sample.name: sample for sample in load_make_samples().SAMPLES}
    photos = sorted(SAMPLES_DIR.glob("*.png"))
    unknown = [photo.name for photo in photos if photo.stem not in by_name]
    if unknown:
        raise SystemExit(f"no make_samples.py entry for {', '.join(unknown)}")
    return [(photo, by_name[photo.stem]) for photo in photos]


def true_view_mesh(sample, meshes: Path):
    """The part in the photo, in its normalized view frame (as make_samples.py renders it)."""
    mesh, _ = normalize_mesh(load_make_samples()._mesh(sample.source, meshes))
    return to_view_frame(mesh, random_rotation(np.random.default_rng(sample.rotation_seed)))[0]


def _finite_or_none(value: float) -> float | None:
    return round(value, 5) if math.isfinite(value) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--resolution", type=int, default=128, help="effective grid resolution (default 128)")
    parser.add_argument("--meshes", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "dev-meshes", help="the dev-mesh folder (default: ../shared/dev-meshes)")
    args = parser.parse_args()

    checkpoint = args.checkpoint or default_model_path()
    reconstructor = Reconstructor.from_checkpoint(checkpoint)
    print(f"model {checkpoint} on {reconstructor.device}, resolution {args.resolution}")
    print(f"{'photo':26s} {'IoU':>6s} {'CD-L1':>7s} {'vol':>6s} {'s':>6s}  mask")
    rows = []
    for index, (photo, sample) in enumerate(sample_table()):
        truth = true_view_mesh(sample, args.meshes)
        start = time.perf_counter()
        mesh, stats, prepared = run_to_completion(reconstructor.reconstruct_photo(photo, settings=ReconstructionSettings(resolution=args.resolution)))
        seconds = time.perf_counter() - start
        rng = np.random.default_rng([0, index])
        score_iou, score_cd = iou(mesh, truth, rng), chamfer_l1(mesh, truth, rng).chamfer_l1
        ratio = mesh.volume / truth.volume if mesh.is_watertight and len(mesh.faces) else float("nan")
        rows.append({
            "photo": photo.stem,
            "iou": round(score_iou, 4),
            "cd_l1": _finite_or_none(score_cd),
            "volume_ratio": _finite_or_none(ratio),
            "seconds": round(seconds, 2),
            "mask": prepared.background_method,
            "a": round(stats.a, 4),
            "b": round(stats.b, 4),
            "faces": len(mesh.faces),
            "true_bounds": np.round(truth.bounds, 3).tolist(),
            "recon_bounds": np.round(mesh.bounds, 3).tolist() if len(mesh.faces) else None,
        })
        print(f"{photo.stem:26s} {score_iou:6.3f} {score_cd:7.4f} {ratio:6.2f} {seconds:6.1f}  {prepared.background_method}", flush=True)

    cds = [row["cd_l1"] for row in rows]
    ratios = [row["volume_ratio"] for row in rows]
    summary = {
        "checkpoint": str(checkpoint),
        "resolution": args.resolution,
        "n": len(rows),
        "mean_iou": round(float(np.mean([row["iou"] for row in rows])), 4),
        "mean_cd_l1": round(float(np.mean(cds)), 5) if None not in cds else None,
        "volume_ok": int(sum(r is not None and VOLUME_OK[0] <= r <= VOLUME_OK[1] for r in ratios)),
        "photos": rows,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
