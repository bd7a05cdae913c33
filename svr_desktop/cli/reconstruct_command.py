"""``svr-desktop reconstruct``: photos in, watertight meshes out (batch-friendly).

A point-cloud checkpoint (output kind ``points``) writes PLY point clouds
instead; the checkpoint's kind is read, and the output names checked
against it, before any model is built or photo opened.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

# torch, trimesh and the model are imported inside the functions that use them, so that
# --help, --version and option errors do not pay seconds for them (issue 15).
from ..inference.export_settings import DEFAULT_TOLERANCE, DIMENSIONS, EXPORT_EXTENSIONS, FaceTarget, percent
from ..inference.settings import GRID_RESOLUTIONS, ReconstructionSettings
from ..inference.turns import DEFAULT_TURNS, MAX_TURNS
from ..paths import default_model_path
from ..progress import Progress, ProgressGenerator  # plain Python: no cost to import here
from ..training.method_presets import METHOD_PRESETS
from .options import device_name, integer, number, positive

if TYPE_CHECKING:
    from ..inference.export import ExportReport, ExportUnits
    from ..inference.reconstructor import ReconstructionStats, Reconstructor
    from ..inference.simplify import SimplifyReport
    from ..model.checkpoint import ModelCheckpoint

#: Largest real size: a kilometre (larger sizes overflow an STL's float32 coordinates long before they make sense).
MAX_SIZE_MM = 1e6


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reconstruct",
        help="reconstruct 3D meshes from product photos",
        description="Reconstruct each IMAGE into a watertight mesh. --out is a mesh file for one image "
        "(format from its extension: " + ", ".join(EXPORT_EXTENSIONS) + ") or a folder for several. "
        "A point-cloud checkpoint (method pointcloud) writes PLY point clouds.",
    )
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE")
    parser.add_argument("--out", type=Path, required=True, help="output mesh file, or folder for several images")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--checkpoint", type=Path, default=None, help="model checkpoint (default: the shipped model)")
    model.add_argument("--method", choices=list(METHOD_PRESETS), default=None,  # its keys are every method's name
                       help="use the shipped checkpoint of this method (models/METHOD.safetensors; the default model for its own method)")
    parser.add_argument("--a", type=positive, default=None, help="projection scale along x (default: from the silhouette)")
    parser.add_argument("--b", type=positive, default=None, help="projection scale along y (default: from the silhouette)")
    parser.add_argument("--resolution", type=int, choices=GRID_RESOLUTIONS, default=256, help="effective grid resolution (default 256)")
    parser.add_argument("--threshold", type=number(-1.0, 1.0), default=None,
                        help="iso-level: an occupancy probability in (0, 1); for SDF models a signed distance "
                        "(default: the model's own, the level it was calibrated at or else 0.5 / 0)")
    parser.add_argument("--turns", type=integer(1, MAX_TURNS), default=DEFAULT_TURNS,
                        help=f"copies of the photo, turned in its plane by 0, +-8, +-16, ... degrees, whose predicted depth "
                        f"layers are averaged: a steadier depth for a little more time (default {DEFAULT_TURNS}; 1: the photo alone)")
    parser.add_argument("--device", type=device_name, default="auto", help="auto (CUDA, MPS, CPU), cpu, cuda, ...")
    parser.add_argument("--background", default="auto", choices=("auto", "alpha", "grabcut", "off"), help="background removal (default auto)")
    parser.add_argument("--size-mm", type=number(0.0, MAX_SIZE_MM, low_included=False), default=None,
                        help="real size of --dimension in mm: write millimetres")
    parser.add_argument("--dimension", default="longest", choices=DIMENSIONS, help="which extent --size-mm measures (default longest)")
    parser.add_argument("--faces", type=face_count, default="auto", metavar="auto|full|N",
                        help="auto (default): as few faces as keep 99.9 %% of the surface within --tolerance of the full "
                        "mesh; full: every face marching cubes made (350k-700k at 256); N: at most N faces")
    parser.add_argument("--tolerance", type=number(0.0, 0.1, low_included=False), default=DEFAULT_TOLERANCE,
                        help=f"deviation allowed by --faces auto, as a share of the part's longest side "
                        f"(default {DEFAULT_TOLERANCE:g} = {percent(DEFAULT_TOLERANCE)}%)")
    parser.add_argument("--format", default=None, choices=EXPORT_EXTENSIONS,
                        help="format when --out is a folder (default stl; ply for a point-cloud checkpoint)")
    parser.add_argument("--force", action="store_true", help="replace existing output files")
    parser.set_defaults(handler=run_reconstruct)


def face_count(text: str) -> str:
    """An argparse type: ``auto``, ``full`` or a whole number of faces (checked here, used as text)."""
    try:
        FaceTarget.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _outputs(args: argparse.Namespace, points: bool) -> list[Path]:
    """One output path per image, checked before any work starts (the folder is made once the model has loaded).

    ``points``: the checkpoint predicts point clouds, which only PLY holds.
    """
    from ..inference.export import export_format, point_cloud_format

    check_format = point_cloud_format if points else export_format
    if _names_a_file(args.out):
        if len(args.images) > 1:
            raise ValueError(f"{args.out}: several images need a folder for --out")
        check_format(args.out)
        outputs = [args.out]
    elif args.out.exists() and not args.out.is_dir():
        raise ValueError(f"{args.out}: a file, not a folder for the meshes (give a name with a mesh extension)")
    else:
        fmt = args.format or ("ply" if points else "stl")
        outputs = [args.out / f"{image.stem}.{fmt}" for image in args.images]
        check_format(outputs[0])
    if len(set(outputs)) != len(outputs):
        raise ValueError("two images have the same name; reconstruct them into different folders")
    if not args.force:
        existing = [str(p) for p in outputs if p.exists()]
        if existing:
            raise FileExistsError(f"{', '.join(existing)} already exist(s) (use --force to replace)")
    return outputs


def _names_a_file(out: Path) -> bool:
    """``--out`` names a mesh file: it has an extension and is not an existing folder."""
    return out.suffix != "" and not out.is_dir()


def _read(path: Path, threshold: float | None) -> ModelCheckpoint:
    """The checkpoint, once its stored config has shown that ``threshold`` fits its field (no model built yet)."""
    from ..model.checkpoint import read_model_checkpoint

    checkpoint = read_model_checkpoint(path)
    if threshold is not None and checkpoint.output_kind == "occupancy" and not 0.0 < threshold < 1.0:
        raise ValueError(f"--threshold {threshold:g}: {path} predicts occupancy probabilities; use a level in (0, 1)")
    if threshold is not None and checkpoint.output_kind == "points":
        raise ValueError(f"--threshold {threshold:g}: {path} predicts a point cloud, which has no iso-level")
    return checkpoint


def _shipped_checkpoint(method: str | None) -> Path:
    """The shipped default model, or with ``method`` the shipped checkpoint of that method."""
    default = default_model_path()
    if method is None:
        if not default.exists():
            raise ValueError(f"no default model at {default} yet; pass --checkpoint with a trained model (svr-desktop train)")
        return default
    from ..model.catalog import method_checkpoints

    shipped = method_checkpoints(default)
    if method not in shipped:
        have = ", ".join(shipped) or "none"
        raise ValueError(
            f"no shipped checkpoint of the {method} method beside {default} (shipped: {have}); "
            f"train one (svr-desktop train --method {method}) and pass it with --checkpoint"
        )
    return shipped[method]


def run_reconstruct(args: argparse.Namespace) -> int:
    from ..devices import pick_device
    from ..inference.export import ExportUnits
    from ..inference.preprocess import PhotoError
    from ..inference.reconstructor import Reconstructor, expected_faces, progress_plan
    from ..inference.simplify import export_plan
    from .progress_bar import run_with_progress_bar

    checkpoint = args.checkpoint or _shipped_checkpoint(args.method)
    units = ExportUnits.from_dimension(args.dimension, args.size_mm) if args.size_mm is not None else ExportUnits.normalized()
    faces = FaceTarget.parse(args.faces, args.tolerance)
    settings = ReconstructionSettings(resolution=args.resolution, threshold=args.threshold, turns=args.turns, device=args.device)
    # The device first: reading a checkpoint checks its network's size on torch's meta device, which
    # takes about a second the first time in a process.
    device = pick_device(settings.device)
    stored = _read(checkpoint, settings.threshold)
    points = stored.output_kind == "points"
    outputs = _outputs(args, points)
    if points:
        plan = [*progress_plan(settings, "points"), ("write", 0.01)]
    else:
        plan = [*progress_plan(settings), *export_plan(faces, expected_faces(settings.resolution))]
    reconstructor = Reconstructor.from_read_checkpoint(stored, device)
    if not _names_a_file(args.out):
        args.out.mkdir(parents=True, exist_ok=True)
    failures = 0
    for image, output in zip(args.images, outputs):
        work = (
            _photo_to_points(reconstructor, image, output, args, settings, units)
            if points
            else _photo_to_file(reconstructor, image, output, args, settings, faces, units)
        )
        try:
            result = run_with_progress_bar(work, plan=plan, label=str(image))
        except (PhotoError, ValueError, OSError) as exc:
            failures += 1
            # Photo errors name their file already.
            print(f"{image}: error: {str(exc).removeprefix(f'{image}: ')}", file=sys.stderr)
            continue
        print(_points_line(image, *result) if points else _result_line(image, *result))
    return 2 if failures else 0


def _photo_to_file(
    reconstructor: Reconstructor,
    image: Path,
    output: Path,
    args: argparse.Namespace,
    settings: ReconstructionSettings,
    faces: FaceTarget,
    units: ExportUnits,
) -> ProgressGenerator[tuple[ReconstructionStats, SimplifyReport, ExportReport]]:
    """Reconstruct one photo, simplify the mesh as ``faces`` says and write it: one job, one progress bar."""
    from ..inference.export import export_mesh
    from ..inference.simplify import simplify_for_export

    mesh, stats, _ = yield from reconstructor.reconstruct_photo(
        image, a=args.a, b=args.b, background=args.background, settings=settings
    )
    if len(mesh.faces) == 0:
        raise ValueError("the model found no part in this photo (empty mesh); try --threshold or --background")
    mesh, simplified = yield from simplify_for_export(mesh, faces)
    yield Progress("write", 0, 1)
    report = export_mesh(mesh, output, units=units, overwrite=args.force)
    yield Progress("write", 1, 1)
    return stats, simplified, report


def _photo_to_points(
    reconstructor: Reconstructor,
    image: Path,
    output: Path,
    args: argparse.Namespace,
    settings: ReconstructionSettings,
    units: ExportUnits,
) -> ProgressGenerator[tuple[ReconstructionStats, ExportReport]]:
    """Predict one photo's point cloud and write it as PLY: one job, one progress bar."""
    from ..inference.export import export_point_cloud

    cloud, stats, _ = yield from reconstructor.reconstruct_photo(
        image, a=args.a, b=args.b, background=args.background, settings=settings
    )
    yield Progress("write", 0, 1)
    report = export_point_cloud(cloud, output, units=units, overwrite=args.force)
    yield Progress("write", 1, 1)
    return stats, report


def _box(report: ExportReport) -> str:
    """The written bounding box's three edges: mm when a real size was given, else normalized units."""
    if report.mm_per_unit is None:
        return " x ".join(f"{edge:.3f}" for edge in report.extents) + " normalized units (--size-mm gives mm)"
    return " x ".join(f"{edge:.1f}" for edge in report.extents) + " mm"


def _points_line(image: Path, stats: ReconstructionStats, report: ExportReport) -> str:
    """What was written for a point cloud: points, file size, the part's size, and the run."""
    from ..inference.export import format_bytes

    return (
        f"{image} -> {report.path}: {report.points:,} points (a point cloud, no surface), {format_bytes(report.bytes)}, "
        f"box {_box(report)}, units={report.unit}, a={stats.a:.3f} b={stats.b:.3f}, {stats.total_seconds:.1f} s on {stats.device}"
        + "".join(f"; {note}" for note in stats.notes)
    )


def _result_line(image: Path, stats: ReconstructionStats, simplified: SimplifyReport, report: ExportReport) -> str:
    """What was written: faces and how they were chosen, file size, the part's size, the run, and the
    notes of the photo's preparation (e.g. that an all-transparent alpha channel was set aside for GrabCut)."""
    from ..inference.export import format_bytes

    faces = f"{report.faces:,} faces"
    if simplified.faces_after != simplified.faces_before:
        faces += f" of {simplified.faces_before:,}"
        if simplified.deviation is not None:
            faces += (
                f" (99.9 % within {percent(simplified.deviation)} of the size of the full mesh, "
                f"largest {percent(simplified.max_deviation)})"
            )
    return (
        f"{image} -> {report.path}: {faces}, {format_bytes(report.bytes)}, box {_box(report)}, "
        f"watertight={report.watertight}, units={report.unit}, a={stats.a:.3f} b={stats.b:.3f}, "
        f"{stats.total_seconds + simplified.seconds:.1f} s on {stats.device}"
        + "".join(f"; {note}" for note in [*stats.notes, *simplified.notes])
    )
