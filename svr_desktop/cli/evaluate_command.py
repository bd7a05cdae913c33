"""``svr-desktop evaluate``: score a checkpoint on a data-set split or a folder of meshes."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

# torch, trimesh, VTK and the model are imported inside run_evaluate, so that
# --help, --version and option errors do not pay seconds for them (issue 15).
from ..data.build_settings import SPLITS
from ..geometry.sample_counts import EMD_POINTS, IOU_POINTS
from ..inference.turns import DEFAULT_TURNS, MAX_TURNS
from .options import GRID_RESOLUTIONS, device_name, integer, seed

#: Most sample points per metric and mesh (each costs a field query or a distance).
MAX_SAMPLES = 10_000_000


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score a checkpoint on test views (IoU, Chamfer-L1, ECD, F-score, normal consistency)",
        description="Run every test view through the reconstructor (image -> mesh, as in the GUI) and compare "
        "each prediction with its ground truth in the view frame. Writes metrics.csv (one row per shape and view), "
        "summary.md / summary.json (means per category and overall) and grid.png to --out, prints the table "
        "and, last, one JSON line of the overall means.",
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="model checkpoint (.safetensors)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="data-set folder: evaluate its stored views of --split")
    source.add_argument("--meshes", type=Path, help="folder of mesh files: render each with the data-set renderer, then evaluate")
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    parser.add_argument("--split", default="test", choices=SPLITS, help="data-set split (default test)")
    parser.add_argument("--views", type=integer(1, 100), default=None, help="views per shape (default: every stored view for --data, 1 for --meshes)")
    parser.add_argument("--shapes", type=integer(1), default=None, help="evaluate only the first N shapes")
    parser.add_argument("--resolution", type=int, choices=GRID_RESOLUTIONS, default=128, help="effective grid resolution of the reconstruction "
                        "(default 128, for speed; the paper and the reconstruct command use 256)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the mesh renders (--meshes) and of the metric sampling (default 0)")
    parser.add_argument("--turns", type=integer(1, MAX_TURNS), default=DEFAULT_TURNS,
                        help=f"turned copies of each input whose depth layers are averaged, as reconstruct --turns (default {DEFAULT_TURNS})")
    parser.add_argument("--metric-points", type=integer(1, MAX_SAMPLES), default=IOU_POINTS,
                        help=f"uniform points for IoU and surface points per mesh for CD/F-score/NC, at most {EMD_POINTS:,} for EMD "
                        f"(default {IOU_POINTS:,}, DESIGN.md 3)")
    parser.add_argument("--edge-samples", type=integer(1, MAX_SAMPLES), default=None,
                        help="dense surface samples per mesh for ECD's edge detection (default: scaled with the area, DESIGN.md 3)")
    parser.add_argument("--device", type=device_name, default="auto", help="auto (CUDA, MPS, CPU), cpu, cuda, ...")
    parser.add_argument("--save-meshes", action="store_true", help="also write every prediction to OUT/predictions/*.ply (view frame)")
    parser.add_argument("--force", action="store_true", help="replace a report already in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from ..data.sources import MeshFolderSource
    from ..devices import pick_device
    from ..evaluation.evaluate import EvaluationSettings, holds_report, run_evaluation, sampled_metrics
    from ..evaluation.report import json_line, text_table
    from ..evaluation.views import dataset_views, render_mesh_folder
    from ..inference.reconstructor import Reconstructor
    from ..model.checkpoint import read_model_checkpoint
    from .progress_bar import run_with_progress_bar

    if holds_report(args.out) and not args.force:
        raise FileExistsError(f"{args.out} already holds an evaluation report (use --force to replace it)")
    start = time.perf_counter()
    device = pick_device(args.device)
    facts = [("checkpoint", str(args.checkpoint))]
    skipped: list[str] = []
    # The inputs are checked before the model is built: the data set's views, or the meshes rendered at the
    # input size the checkpoint's (checked) config states.
    if args.data is not None:
        views = dataset_views(args.data, args.split, args.views, args.shapes)
        facts.append(("inputs", f"data set {args.data}, split '{args.split}': stored renders with their a, b"))
    else:
        MeshFolderSource(args.meshes)  # refuses a missing folder or one without mesh files
    stored = read_model_checkpoint(args.checkpoint)
    if args.meshes is not None:
        image_size = stored.model_config.image_size
        rendered = run_with_progress_bar(
            render_mesh_folder(args.meshes, args.views or 1, args.seed, image_size, args.shapes), quiet=args.quiet
        )
        views, skipped = rendered.views, rendered.skipped
        facts.append(("inputs", f"mesh folder {args.meshes}, rendered at {image_size} px by the data-set "
                                f"renderer (seed {args.seed}, random rotation per view)"))
    reconstructor = Reconstructor.from_read_checkpoint(stored, device)
    metrics = sampled_metrics(args.metric_points, args.edge_samples)
    settings = EvaluationSettings(
        resolution=args.resolution, turns=args.turns, seed=args.seed, metrics=metrics, save_meshes=args.save_meshes
    )
    result = run_with_progress_bar(
        run_evaluation(reconstructor, views, args.out, settings, f"Evaluation of {args.checkpoint.name}", facts, skipped),
        quiet=args.quiet,
    )
    for reason in skipped:
        print(f"skipped: {reason}")
    overall = result.groups[-1]
    print(f"{overall.views} views of {overall.shapes} shapes in {time.perf_counter() - start:.1f} s; "
          f"{overall.empty} empty prediction(s); report in {args.out} (metrics.csv, summary.md, summary.json, grid.png)")
    print(text_table(result.groups))
    print(json_line(result.groups))
    return 0
