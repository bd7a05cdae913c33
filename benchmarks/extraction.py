"""Mesh extraction cost: dense grid against MISE, with a decoder-sized field.

The field is what the reconstructor queries, minus the image encoder and the
feature sampling: an occupancy ``sigmoid((-sdf(p) + noise(p)) / tau)`` where
``sdf`` is an analytic flange (disc, hub, bore and six bolt holes, tilted into
a view frame) and ``noise`` is a randomly initialised MLP of the decoder's
size (five Linear layers, input 3 + 256 with a fixed feature vector ``z``,
hidden 256, LeakyReLU + BatchNorm1d in eval mode, one output), rescaled to
move the surface by a few thousandths of the unit cube.  Every query costs
one decoder evaluation (plus the numpy SDF), and the surface has a realistic
area: about 2.0 square units, like a sphere of radius 0.4.

Runs dense and MISE extraction at 128^3 (speed-up, and IoU of the MISE mesh
against the dense mesh), MISE at 256^3 and, with ``--dense256``, dense at
256^3 too (a few minutes more).  IoU follows DESIGN.md section 3: 100,000
uniform points in the padded cube, inside test by generalized winding number.
The queried fraction is points queried divided by the ``(256 + 1)^3`` points
of the 256-cell grid.  Timings are wall seconds of whole extractions (grid
filling plus marching cubes) under ``torch.no_grad`` with torch's default
threads; the load average is printed because other processes on the machine
change them.

    python benchmarks/extraction.py [--dense256] [--neighbourhood {0,6,26}]
                                    [--initial-resolution N] [--dilate-final-level]

Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import igl
import numpy as np
import torch
import trimesh
from torch import nn

from svr_desktop.geometry.extraction import ExtractionStats, extract_mesh
from svr_desktop.geometry.frames import PADDED_HALF
from svr_desktop.progress import run_to_completion

Z_DIM = 256
HIDDEN = 256
#: Surface wobble of the MLP noise (standard deviation, unit-cube units).
NOISE_AMPLITUDE = 0.004
#: The noise MLP sees ``NOISE_FREQUENCY * p``: bumps a few hundredths wide.
NOISE_FREQUENCY = 10.0
#: Width of the occupancy transition, about one voxel at 128^3.
TAU = 0.01


def decoder_mlp() -> nn.Sequential:
    """Five Linear layers like the decoder: 4 x (Linear, LeakyReLU, BatchNorm1d) + Linear."""
    layers: list[nn.Module] = []
    width = 3 + Z_DIM
    for _ in range(4):
        layers += [nn.Linear(width, HIDDEN), nn.LeakyReLU(0.2), nn.BatchNorm1d(HIDDEN)]
        width = HIDDEN
    layers.append(nn.Linear(HIDDEN, 1))
    return nn.Sequential(*layers).eval()


def capped_cylinder(p: np.ndarray, radius: float, z0: float, z1: float) -> np.ndarray:
    """Exact SDF of a cylinder along z with radius ``radius`` between ``z0`` and ``z1``."""
    radial = np.hypot(p[:, 0], p[:, 1]) - radius
    axial = np.abs(p[:, 2] - 0.5 * (z0 + z1)) - 0.5 * (z1 - z0)
    outside = np.hypot(np.maximum(radial, 0), np.maximum(axial, 0))
    return outside + np.minimum(np.maximum(radial, axial), 0)


def flange_sdf(p: np.ndarray) -> np.ndarray:
    """Signed distance (bound) to a flange in its own frame, axis along z, inside < 0."""
    disc = capped_cylinder(p, 0.45, -0.15, -0.05)
    hub = capped_cylinder(p, 0.2, -0.15, 0.15)
    solid = np.minimum(disc, hub)
    holes = capped_cylinder(p, 0.1, -1.0, 1.0)  # central bore
    angles = np.arange(6) * np.pi / 3
    for x, y in zip(0.33 * np.cos(angles), 0.33 * np.sin(angles)):
        holes = np.minimum(holes, capped_cylinder(p - [x, y, 0.0], 0.04, -1.0, 1.0))
    return np.maximum(solid, -holes)


def view_rotation() -> np.ndarray:
    """A fixed oblique view: 35 degrees about x, then 20 degrees about y."""
    a, b = np.radians(35.0), np.radians(20.0)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    return ry @ rx


class DecoderField:
    """Occupancy of the tilted flange, perturbed by the decoder-sized MLP."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.net = decoder_mlp()
        self.z = torch.randn(1, Z_DIM)
        self.rotation = view_rotation()
        probe = np.random.default_rng(0).uniform(-PADDED_HALF, PADDED_HALF, (20000, 3))
        raw = self._mlp(probe.astype(np.float32))
        self.mean, self.std = float(raw.mean()), float(raw.std())

    def _mlp(self, points: np.ndarray) -> np.ndarray:
        p = torch.from_numpy(points) * NOISE_FREQUENCY
        with torch.no_grad():
            return self.net(torch.cat([self.z.expand(len(p), -1), p], dim=1))[:, 0].numpy()

    def __call__(self, points: np.ndarray) -> np.ndarray:
        # Row vectors: object-frame points are view-frame points times R.
        sdf = flange_sdf(points.astype(np.float64) @ self.rotation)
        noise = NOISE_AMPLITUDE * (self._mlp(points) - self.mean) / self.std
        return 1.0 / (1.0 + np.exp((sdf - noise) / TAU))


def run(
    field: DecoderField, resolution: int, method: str, args: argparse.Namespace
) -> tuple[trimesh.Trimesh, ExtractionStats, float]:
    """One whole extraction (grid + marching cubes): mesh, stats, wall seconds; prints a line."""
    start = time.perf_counter()
    mesh, stats = run_to_completion(
        extract_mesh(
            field,
            resolution,
            method=method,
            initial_resolution=args.initial_resolution,
            neighbourhood=args.neighbourhood,
            dilate_final_level=args.dilate_final_level,
        )
    )
    seconds = time.perf_counter() - start
    levels = ", ".join(
        f"{lv.resolution}^3: {lv.points_queried:,} pts {lv.seconds:.2f} s" for lv in stats.levels
    )
    print(
        f"{method:5s} {resolution}^3: {seconds:6.2f} s  queried {stats.points_queried:,} "
        f"({100 * stats.queried_fraction:.2f}% of {stats.grid_points:,} grid points)  "
        f"marching cubes {stats.marching_cubes_seconds:.2f} s  {stats.faces:,} faces  "
        f"watertight={mesh.is_watertight}\n      levels: {levels}"
    )
    return mesh, stats, seconds


def iou(a: trimesh.Trimesh, b: trimesh.Trimesh, points: np.ndarray) -> float:
    """Volumetric IoU of two closed meshes on the given points (winding-number inside test)."""
    inside = [
        igl.fast_winding_number(
            np.ascontiguousarray(m.vertices, dtype=np.float64),
            np.ascontiguousarray(m.faces, dtype=np.int64),
            points,
        )
        > 0.5
        for m in (a, b)
    ]
    return float((inside[0] & inside[1]).sum() / (inside[0] | inside[1]).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dense256", action="store_true", help="also run dense 256^3 (slow)")
    parser.add_argument("--neighbourhood", type=int, choices=(0, 6, 26), default=26)
    parser.add_argument("--initial-resolution", type=int, default=32)
    parser.add_argument("--dilate-final-level", action="store_true")
    args = parser.parse_args()

    field = DecoderField()
    probe = np.random.default_rng(1).uniform(-0.5, 0.5, (65536, 3)).astype(np.float32)
    field(probe)  # warm-up
    start = time.perf_counter()
    field(probe)
    rate = len(probe) / (time.perf_counter() - start)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; field {rate:,.0f} points/s")
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(
        f"MISE: initial resolution {args.initial_resolution}, neighbourhood "
        f"{args.neighbourhood}, dilate final level {args.dilate_final_level}"
    )

    points = np.random.default_rng(2).uniform(-PADDED_HALF, PADDED_HALF, (100_000, 3))
    dense128, _, dense128_s = run(field, 128, "dense", args)
    mise128, _, mise128_s = run(field, 128, "mise", args)
    iou128 = iou(mise128, dense128, points)
    mise256, stats256, mise256_s = run(field, 256, "mise", args)
    figures = {
        "dense128_s": round(dense128_s, 2),
        "mise128_s": round(mise128_s, 2),
        "speedup128": round(dense128_s / mise128_s, 2),
        "iou_vs_dense128": round(iou128, 5),
        "mise256_s": round(mise256_s, 2),
        "queried_fraction256": round(stats256.queried_fraction, 4),
    }
    print(f"IoU(MISE 128, dense 128) = {iou128:.5f} on {len(points):,} uniform points")
    if args.dense256:
        dense256, _, dense256_s = run(field, 256, "dense", args)
        iou256 = iou(mise256, dense256, points)
        print(f"IoU(MISE 256, dense 256) = {iou256:.5f}")
        figures.update(dense256_s=round(dense256_s, 2), iou_vs_dense256=round(iou256, 5))
    print(f"flange area {mise256.area:.3f}, volume {mise256.volume:.4f} (unit-cube units)")
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
