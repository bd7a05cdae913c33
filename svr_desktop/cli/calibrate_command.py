"""``svr-desktop calibrate``: choose an occupancy model's iso-level on validation views and store it in the checkpoint."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# torch, trimesh and the model are imported inside run_calibrate, so that --help and option errors stay quick.
from ..data.build_settings import SPLITS
from .options import device_name, integer, number, seed


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calibrate",
        help="choose a model's iso-level (the occupancy probability taken as the surface) on validation views",
        description="Measure the volumetric IoU of the model's field against the truth at occupancy levels 0.30-0.80 "
        "over validation views, choose the lowest level within --tolerance of the best mean IoU, and store it in "
        "the checkpoint: reconstruct, evaluate and the GUI then use it as the model's default threshold. Weights are "
        "not changed. Prints the curve and, last, one JSON line.",
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="occupancy model checkpoint (.safetensors)")
    parser.add_argument("--data", type=Path, action="append", default=[], help="data-set folder whose --split views to use (repeatable)")
    parser.add_argument("--meshes", type=Path, action="append", default=[],
                        help="folder of mesh files, each rendered once by the data-set renderer (repeatable)")
    parser.add_argument("--split", nargs="+", default=["val"], choices=SPLITS, help="data-set split(s) (default val)")
    parser.add_argument("--views", type=integer(1, 100), default=1, help="views per shape (default 1)")
    parser.add_argument("--shapes", type=integer(1), default=None, help="only the first N shapes of each source")
    parser.add_argument("--tolerance", type=number(0.0, 0.1), default=None,
                        help="mean IoU the chosen level may give up against the best (default 0.005)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the mesh renders and the sample points (default 0)")
    parser.add_argument("--device", type=device_name, default="auto", help="auto (CUDA, MPS, CPU), cpu, cuda, ...")
    parser.add_argument("--out", type=Path, default=None, help="write the calibrated checkpoint here (default: update --checkpoint in place)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    from ..data.sources import MeshFolderSource
    from ..devices import pick_device
    from ..evaluation.calibration import DEFAULT_TOLERANCE, calibrate_iso_level
    from ..evaluation.views import dataset_views, render_mesh_folder
    from ..inference.reconstructor import Reconstructor
    from ..model.checkpoint import read_model_checkpoint
    from ..training.checkpoint import save_calibrated
    from .progress_bar import run_with_progress_bar

    if not args.data and not args.meshes:
        raise ValueError("give at least one --data or --meshes source of validation views")
    out = args.out or args.checkpoint
    if out.exists() and out.resolve() != args.checkpoint.resolve():
        raise FileExistsError(f"{out} already exists (choose another --out, or leave it out to update --checkpoint in place)")
    if out.is_dir() or not out.parent.is_dir():
        raise FileNotFoundError(f"--out {out}: name a file in an existing folder")
    stored = read_model_checkpoint(args.checkpoint)
    if stored.output_kind != "occupancy":
        raise ValueError(f"{args.checkpoint} outputs {stored.output_kind}; only an occupancy model's iso-level can be calibrated")
    for folder in args.meshes:
        MeshFolderSource(folder)  # refuses a missing folder or one without mesh files, before any work
    views, sources = [], []
    for folder in args.data:
        views += [view for split in args.split for view in dataset_views(folder, split, args.views, args.shapes)]
        sources.append(f"{folder.name} ({', '.join(args.split)})")
    for folder in args.meshes:
        rendered = run_with_progress_bar(
            render_mesh_folder(folder, args.views, args.seed, stored.model_config.image_size, args.shapes), quiet=args.quiet
        )
        views += rendered.views
        sources.append(f"{folder.name} (mesh folder, seed {args.seed})")

    reconstructor = Reconstructor.from_read_checkpoint(stored, pick_device(args.device))
    tolerance = DEFAULT_TOLERANCE if args.tolerance is None else args.tolerance
    result = run_with_progress_bar(calibrate_iso_level(reconstructor, views, tolerance=tolerance, seed=args.seed), quiet=args.quiet)
    save_calibrated(args.checkpoint, out, result.record(sources))

    print(f"{result.views} views ({'; '.join(sources)}): mean IoU of the field by iso-level")
    for level, iou in zip(result.levels, result.mean_iou):
        mark = "  <- chosen" if level == result.iso_level else ("  (best)" if level == result.best_level else "")
        print(f"  {level:5.3f}  {iou:.4f}{mark}")
    print(f"iso-level {result.iso_level:g} stored in {out}")
    summary = {"iso_level": result.iso_level, "views": result.views, "mean_iou": round(result.iou_at(result.iso_level), 5),
               "best_level": result.best_level, "best_mean_iou": round(max(result.mean_iou), 5)}
    if 0.5 in result.levels:
        summary["mean_iou_at_0.5"] = round(result.iou_at(0.5), 5)
    print(json.dumps(summary))
    return 0
