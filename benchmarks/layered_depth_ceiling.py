"""The ceiling of the layered-depth route: IoU of the occupancy that true layers imply.

A network that predicts K entry/exit pairs per pixel can at best reproduce the
solid those layers describe.  This scores that solid against the truth, for
K = 1, 2, 3 at two map sizes, on views of a data set's test split (true
view-frame meshes, stored validation points) and on the dev meshes (one
random view each, 100,000 uniform points).  Losses come from pixel size
(thin walls at grazing angles) and from rays that cross more than K layers.

    python benchmarks/layered_depth_ceiling.py --data /work/data/parts1600-d160 [--meshes ../shared/dev-meshes]

Prints a table per set and family, ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from svr_desktop.data.dataset import load_split
from svr_desktop.data.sources import MeshFolderSource
from svr_desktop.geometry.frames import PADDED_HALF, normalize_mesh, random_rotation, to_view_frame
from svr_desktop.geometry.layered_depth import layered_depth, occupancy_from_layers
from svr_desktop.geometry.queries import MeshQuery
from svr_desktop.geometry.sampling import sample_uniform

LAYERS = (1, 2, 3)


def iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    union = int((predicted | truth).sum())
    return 1.0 if union == 0 else int((predicted & truth).sum()) / union


def score_view(view_mesh, half_width: float, points: np.ndarray, truth: np.ndarray, sizes) -> dict:
    """IoU for every (size, K) of one view, plus the share of rays with more than 3 layers."""
    row = {}
    for size in sizes:
        depth = layered_depth(view_mesh, size, half_width, layers=max(LAYERS))
        for k in LAYERS:
            row[f"{size}px_K{k}"] = iou(occupancy_from_layers(depth, points, half_width, layers=k), truth)
        hit = depth.count > 0
        row[f"{size}px_rays_over_3"] = float((depth.count > 3).sum() / max(hit.sum(), 1))
    return row


def test_split_rows(data: Path, sizes, limit: int | None) -> list[tuple[str, dict]]:
    rows = []
    for record in load_split(data, "test")[:limit]:
        points = record.to_view(record.val_points, 0)
        rows.append((record.source, score_view(record.view_mesh(0), 1.0 / float(record.a[0]), points, record.val_inside, sizes)))
    return rows


def dev_mesh_rows(folder: Path, sizes, seed: int = 0) -> list[tuple[str, dict]]:
    source = MeshFolderSource(str(folder))
    rows = []
    for index in range(len(source)):
        rng = np.random.default_rng([seed, index])
        shape = source.make(index, rng)
        view_mesh, _ = to_view_frame(normalize_mesh(shape.mesh)[0], random_rotation(rng))
        points = sample_uniform(100_000, rng)
        truth = MeshQuery(view_mesh).inside(points)
        rows.append((source.name(index), score_view(view_mesh, PADDED_HALF, points, truth, sizes)))
    return rows


def summarize(name: str, rows: list[tuple[str, dict]], by_group: bool) -> dict:
    keys = list(rows[0][1])
    means = {key: float(np.mean([row[key] for _, row in rows])) for key in keys}
    print(f"\n{name}: {len(rows)} views")
    print(f"{'':>28} " + " ".join(f"{key:>14}" for key in keys))
    if by_group:
        groups = defaultdict(list)
        for group, row in rows:
            groups[group].append(row)
        for group, members in sorted(groups.items()):
            print(f"{group:>28} " + " ".join(f"{np.mean([m[key] for m in members]):>14.3f}" for key in keys))
    print(f"{'mean':>28} " + " ".join(f"{means[key]:>14.3f}" for key in keys))
    return {"views": len(rows), **{key: round(value, 4) for key, value in means.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="data set whose test split is scored")
    parser.add_argument("--meshes", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "dev-meshes")
    parser.add_argument("--sizes", type=int, nargs="+", default=[160, 224])
    parser.add_argument("--limit", type=int, default=None, help="score only the first N test shapes")
    args = parser.parse_args()
    summary = {"test": summarize("test split", test_split_rows(args.data, args.sizes, args.limit), by_group=True)}
    if args.meshes.is_dir():
        summary["dev"] = summarize("dev meshes", dev_mesh_rows(args.meshes, args.sizes), by_group=True)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
