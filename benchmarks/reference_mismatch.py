"""Where to draw the line between a matching and an unrelated reference (the Compare panel's warning).

Renders one view of each of the first N meshes of a folder (as ``evaluate``
does), reconstructs each with a model, then compares every reconstruction
with every reference, aligned as the Compare panel aligns them (bounding-box
normalization): front-silhouette IoU and volumetric IoU for the true pairs
and for all unrelated pairs.  The thresholds of
``svr_desktop.geometry.reference_check`` are read off these numbers.

    python benchmarks/reference_mismatch.py [--meshes ../shared/dev-meshes] [--shapes 12]
        [--checkpoint models/default.safetensors] [--resolution 64] [--iou-points 20000]

Ends with one JSON line: per pair kind the quantiles of both overlaps, and
how many pairs of each kind the panel's rule flags.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from svr_desktop.evaluation.views import render_mesh_folder
from svr_desktop.geometry.alignment import align_to_reconstruction
from svr_desktop.geometry.metrics import iou
from svr_desktop.geometry.reference_check import check_reference
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.inference.settings import ReconstructionSettings
from svr_desktop.paths import default_model_path
from svr_desktop.progress import run_to_completion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meshes", default="../shared/dev-meshes")
    parser.add_argument("--shapes", type=int, default=12)
    parser.add_argument("--checkpoint", default=str(default_model_path()))
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--iou-points", type=int, default=20_000)
    args = parser.parse_args()

    views = run_to_completion(render_mesh_folder(args.meshes, shapes=args.shapes)).views
    reconstructor = Reconstructor.from_checkpoint(args.checkpoint, "cpu")
    settings = ReconstructionSettings(resolution=args.resolution)
    reconstructions = [run_to_completion(reconstructor.reconstruct_input(v.image, v.a, v.b, settings))[0] for v in views]
    pairs = {"true": [], "unrelated": []}
    for i, reconstruction in enumerate(reconstructions):
        if len(reconstruction.faces) == 0:
            continue
        for j, view in enumerate(views):
            alignment = align_to_reconstruction(view.ground_truth, reconstruction)
            volume = iou(alignment.reconstruction, alignment.ground_truth, 0, args.iou_points)
            check = check_reference(alignment.reconstruction, alignment.ground_truth)
            pairs["true" if i == j else "unrelated"].append((check.silhouette_iou, volume, check.mismatch))
            print(f"{i:2d} {j:2d} {'T' if i == j else ' '} silhouette {check.silhouette_iou:.3f} volume {volume:.3f}"
                  f"{' FLAGGED' if check.mismatch else ''}", flush=True)
    summary = {}
    for kind, values in pairs.items():
        array = np.array([v[:2] for v in values])
        summary[kind] = {
            "pairs": len(values),
            "flagged": int(sum(v[2] for v in values)),
            "silhouette_iou_quantiles_0_10_50_90_100": np.quantile(array[:, 0], [0, 0.1, 0.5, 0.9, 1]).round(3).tolist(),
            "volume_iou_quantiles_0_10_50_90_100": np.quantile(array[:, 1], [0, 0.1, 0.5, 0.9, 1]).round(3).tolist(),
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
