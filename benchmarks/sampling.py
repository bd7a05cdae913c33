"""Cost of labelling training points: libigl against trimesh.

Labelling needs, per point, the distance to the surface and an inside flag.
This benchmark times both libraries on 10,000 training points (the paper's
count per shape) of a ~5k-face mechanical part, plus the full
``sample_training_points`` call the data-set builder makes.

    python benchmarks/sampling.py [--mesh PATH] [--points N]

Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import trimesh

from svr_desktop.geometry.frames import normalize_mesh
from svr_desktop.geometry.mesh_io import load_mesh
from svr_desktop.geometry.queries import MeshQuery
from svr_desktop.geometry.sampling import SamplingConfig, sample_training_points

DEFAULT_MESH = Path(__file__).resolve().parents[1] / ".." / "shared" / "dev-meshes" / "kuka__kr150r3100_2_link_5.ply"


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", type=Path, default=DEFAULT_MESH)
    parser.add_argument("--points", type=int, default=10_000)
    args = parser.parse_args()

    mesh = normalize_mesh(load_mesh(args.mesh))[0]
    rng = np.random.default_rng(0)
    config = SamplingConfig(surface_points=args.points - 128, uniform_points=128)
    points = sample_training_points(mesh, rng, config).points.astype(np.float64)

    (igl_result, igl_s) = timed(lambda: MeshQuery(mesh).distance_and_inside(points))
    (closest, trimesh_dist_s) = timed(lambda: trimesh.proximity.closest_point(mesh, points))
    (contains, trimesh_inside_s) = timed(lambda: mesh.contains(points))
    _, full_s = timed(lambda: sample_training_points(mesh, np.random.default_rng(1), config))

    max_dist_diff = float(np.max(np.abs(igl_result[0] - closest[1])))
    inside_agree = float(np.mean(igl_result[1] == contains))
    trimesh_s = trimesh_dist_s + trimesh_inside_s
    print(f"mesh: {args.mesh.name}, {len(mesh.faces)} faces, watertight={mesh.is_watertight}")
    print(f"libigl distance+winding number, {len(points)} points: {igl_s:.3f} s")
    print(f"trimesh closest_point {trimesh_dist_s:.3f} s + contains {trimesh_inside_s:.3f} s")
    print(f"agreement: max distance difference {max_dist_diff:.2e}, inside agreement {inside_agree:.4f}")
    print(f"sample_training_points (sampling + queries): {full_s:.3f} s")
    print(
        json.dumps(
            {
                "faces": int(len(mesh.faces)),
                "points": int(len(points)),
                "libigl_s": round(igl_s, 4),
                "trimesh_s": round(trimesh_s, 4),
                "speedup": round(trimesh_s / igl_s, 1),
                "sample_training_points_s": round(full_s, 4),
                "max_distance_diff": max_dist_diff,
                "inside_agreement": inside_agree,
            }
        )
    )


if __name__ == "__main__":
    main()
