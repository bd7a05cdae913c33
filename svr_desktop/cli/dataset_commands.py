"""``svr-desktop dataset build`` and ``dataset mix``: generate or import a training data set, or mix several."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

# trimesh, VTK and the builder are imported inside run_build, so that
# --help, --version and option errors do not pay seconds for them (issue 15).
from ..data.build_settings import DEFAULT_DEPTH_LAYERS, DEFAULT_DEPTH_SIZE, DEFAULT_RENDER_STYLE, STYLES
from ..geometry.sample_counts import TRAINING_SURFACE_POINTS, TRAINING_UNIFORM_POINTS
from ..progress import run_to_completion  # plain Python: no cost to import here
from .options import integer, seed

#: Most training points of one kind per shape (the paper's are 10,000 in all).
MAX_POINTS = 1_000_000

#: More worker processes than cores only add memory.
CORES = max(1, os.cpu_count() or 1)


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    dataset = subparsers.add_parser("dataset", help="build training / evaluation data sets")
    actions = dataset.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build",
        help="render views and label points for generated parts or a folder of meshes",
        description="Build a data set in OUT: per shape, V rendered views (image, mask, rotation, a, b), "
        "10,000 labelled training points and validation points, in shards with a manifest "
        "(train/val/test split by shape) and a contact sheet. Rerunning the same command "
        "resumes an interrupted build.",
    )
    build.add_argument("--out", type=Path, required=True, help="data-set folder")
    build.add_argument("--shapes", type=integer(1, 1_000_000), default=None, help="number of shapes (default: 100, or every mesh with --meshes)")
    build.add_argument("--views", type=integer(1, 100), default=4, help="rendered views per shape (default 4)")
    build.add_argument("--seed", type=seed, default=0)
    build.add_argument("--workers", type=integer(1, CORES), default=CORES, help=f"processes, at most one per core (default: all {CORES} cores)")
    build.add_argument("--meshes", type=Path, default=None, help="use the mesh files of this folder instead of generated parts")
    build.add_argument("--image-size", type=integer(32, 2048), default=224, help="image side in pixels (default 224)")
    build.add_argument("--depth-size", type=integer(8, 1024), default=DEFAULT_DEPTH_SIZE, help=f"side of the stored layered-depth maps, best the network's input size (default {DEFAULT_DEPTH_SIZE})")
    build.add_argument("--depth-layers", type=integer(1, 8), default=DEFAULT_DEPTH_LAYERS, help=f"entry/exit pairs stored per pixel (default {DEFAULT_DEPTH_LAYERS})")
    build.add_argument(
        "--render-style",
        choices=STYLES,
        default=DEFAULT_RENDER_STYLE,
        help="photo: PBR materials, environment light, shadows, workbench grounds, distractors and camera effects; "
        f"studio: the plain renders of earlier builds (default {DEFAULT_RENDER_STYLE})",
    )
    build.add_argument("--surface-points", type=integer(1, MAX_POINTS), default=TRAINING_SURFACE_POINTS, help=f"training points near the surface per shape (default {TRAINING_SURFACE_POINTS}, the paper's)")
    build.add_argument("--uniform-points", type=integer(1, MAX_POINTS), default=TRAINING_UNIFORM_POINTS, help=f"training points uniform in the padded cube per shape (default {TRAINING_UNIFORM_POINTS}, the paper's)")
    build.add_argument("--json-progress", action="store_true", help="instead of a progress bar, print each progress event as one JSON line on stdout (for the desktop application)")
    build.set_defaults(handler=run_build, command_name="dataset build")  # errors name the whole command
    mix = actions.add_parser(
        "mix",
        help="train on several data sets at once (a manifest over their shards, nothing copied)",
        description="Write OUT/manifest.json over the shards of every DATA set, to train or fine-tune on all "
        "of them. A shape keeps the split of the first data set that lists it, so the same part "
        "rendered in two builds never lands in training and test at once.",
    )
    mix.add_argument("data", type=Path, nargs="+", metavar="DATA", help="data-set folders (at least two)")
    mix.add_argument("--out", type=Path, required=True, help="folder for the mix's manifest")
    mix.add_argument("--val-from-first", action="store_true", help="validate on the first data set's views only")
    mix.set_defaults(handler=run_mix, command_name="dataset mix")


def run_build(args: argparse.Namespace) -> int:
    from ..data.builder import BuildConfig, build_dataset
    from ..geometry.sampling import SamplingConfig
    from .progress_bar import print_json_progress, run_with_progress_bar

    config = BuildConfig(
        shapes=args.shapes if args.shapes is not None or args.meshes else 100,
        views=args.views,
        seed=args.seed,
        image_size=args.image_size,
        depth_size=args.depth_size,
        depth_layers=args.depth_layers,
        render_style=args.render_style,
        meshes=str(args.meshes.resolve()) if args.meshes else None,
        sampling=SamplingConfig(surface_points=args.surface_points, uniform_points=args.uniform_points),
    )
    work = build_dataset(args.out, config, workers=args.workers)
    report = run_to_completion(work, print_json_progress) if args.json_progress else run_with_progress_bar(work)
    for item in report.skipped:
        print(f"skipped {item['name']}: {item['reason']}")
    for item in report.repaired:
        print(f"repaired {item['id']}: {item['note']}")
    print(
        f"{args.out}: {report.shapes} shapes x {args.views} views "
        f"({report.built_now} shards built now, {len(report.skipped)} inputs skipped, "
        f"{len(report.repaired)} repaired) in {report.seconds:.1f} s"
    )
    return 0


def run_mix(args: argparse.Namespace) -> int:
    from ..data.mix import write_mix

    mix = write_mix(args.out, args.data, val_from_first=args.val_from_first)
    counts = ", ".join(f"{len(mix['splits'][split]):,} {split}" for split in ("train", "val", "test"))
    print(f"{args.out}: a mix of {len(args.data)} data sets, {len(mix['shards'])} shards; shapes {counts}")
    return 0
