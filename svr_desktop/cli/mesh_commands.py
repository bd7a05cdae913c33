"""Mesh sub-commands: ``compare`` two meshes, ``remesh`` one into a watertight solid."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

# trimesh and scipy are imported inside the handlers, so that
# --help, --version and option errors do not pay for them (issue 15).
from .options import GRID_RESOLUTIONS, seed

if TYPE_CHECKING:
    from ..geometry.metrics import MeshComparison


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    compare = subparsers.add_parser(
        "compare",
        help="compare a mesh against a reference (IoU, Chamfer-L1, edge Chamfer, F-score, ...)",
        description="Compare CANDIDATE against REFERENCE with the metrics of DESIGN.md section 3. "
        "Both are normalized into the unit cube first (so mixed units are fine) unless "
        "--no-normalize says they already share a frame.",
    )
    compare.add_argument("reference", type=Path, help="ground-truth mesh (STL/OBJ/PLY/OFF/GLB)")
    compare.add_argument("candidate", type=Path, help="mesh to evaluate")
    compare.add_argument("--no-normalize", action="store_true", help="meshes already share a normalized frame")
    compare.add_argument("--seed", type=seed, default=0, help="sampling seed (default 0)")
    compare.add_argument("--json", action="store_true", help="also print the values as one JSON line")
    compare.set_defaults(handler=run_compare)

    remesh = subparsers.add_parser(
        "remesh",
        help="rebuild a mesh as a watertight solid through the implicit-field pipeline",
        description="Turn MESH into a signed-distance field (winding-number sign, so small holes "
        "are tolerated), extract it with MISE + marching cubes and write a watertight mesh "
        "in the input's units.",
    )
    remesh.add_argument("mesh", type=Path)
    remesh.add_argument("--out", type=Path, required=True, help="output file; format from the extension")
    remesh.add_argument("--resolution", type=int, choices=GRID_RESOLUTIONS, default=256, help="effective grid resolution (default 256)")
    remesh.add_argument("--compare", action="store_true", help="print metrics of the result against the input")
    remesh.add_argument("--force", action="store_true", help="replace OUT if it exists")
    remesh.set_defaults(handler=run_remesh)


def print_comparison(result: MeshComparison, as_json: bool) -> None:
    """A metrics table with units and sample counts, and optionally one JSON line."""
    descriptions = result.settings.describe()
    for name, value in result.as_dict().items():
        shown = f"{value:.5f}" if isinstance(value, float) else str(value)
        print(f"{name:>20}  {shown:>10}  {descriptions[name]}")
    if as_json:
        print(json.dumps(result.as_dict()))


def run_compare(args: argparse.Namespace) -> int:
    from ..geometry.frames import normalize_mesh
    from ..geometry.mesh_io import load_solid_mesh
    from ..geometry.metrics import compare_meshes

    reference, candidate = load_solid_mesh(args.reference), load_solid_mesh(args.candidate)
    if not args.no_normalize:
        reference, candidate = normalize_mesh(reference)[0], normalize_mesh(candidate)[0]
    print_comparison(compare_meshes(candidate, reference, rng=args.seed), args.json)
    return 0


def _check_output(path: Path, force: bool) -> str:
    from ..geometry.mesh_io import MESH_EXTENSIONS

    ext = path.suffix.lower().lstrip(".")
    if ext not in MESH_EXTENSIONS:
        raise ValueError(f"{path}: cannot write '.{ext}' (use one of: {', '.join(MESH_EXTENSIONS)})")
    if path.exists() and not force:
        raise FileExistsError(f"{path} already exists (use --force to replace it)")
    return ext


def run_remesh(args: argparse.Namespace) -> int:
    from ..files import atomic_write_bytes, remove_orphan_temp_files
    from ..geometry.frames import normalization_of
    from ..geometry.mesh_io import load_mesh
    from ..geometry.metrics import compare_meshes
    from ..geometry.remesh import remesh_watertight
    from .progress_bar import run_with_progress_bar

    ext = _check_output(args.out, args.force)
    start = time.perf_counter()
    original = load_mesh(args.mesh)
    try:
        result, stats = run_with_progress_bar(remesh_watertight(original, args.resolution))
    except ValueError as exc:
        raise ValueError(f"{args.mesh}: {exc}") from exc
    remove_orphan_temp_files(args.out)  # left by a killed earlier run
    atomic_write_bytes(args.out, result.export(file_type=ext), overwrite=args.force)
    print(
        f"{args.out}: {len(result.faces)} faces, watertight={result.is_watertight}, "
        f"{stats.points_queried:,} field queries, {time.perf_counter() - start:.1f} s"
    )
    if args.compare:
        # Normalizing both with the original's map keeps them in one frame.
        normalization = normalization_of(original)
        reference, candidate = original.copy(), result.copy()
        reference.vertices = normalization.apply(original.vertices)
        candidate.vertices = normalization.apply(result.vertices)
        print_comparison(compare_meshes(candidate, reference), as_json=False)
    return 0
