"""The paper's ablation: train every encoder / label variant on one budget, evaluate, write the page.

Variants: global+binary, multilevel+binary, fpn+binary, fpn+v(d,0.5),
fpn+v(d,s) (adaptive), fpn+v(d,0.9), fpn+v(d,0.7), fpn+v(d,0.1); the headline
pair fpn+binary / fpn+v(d,s) once per seed (--seeds).  All runs share the
data, config, seed and epochs; the logic lives in
``svr_desktop.evaluation.ablation``.

    python benchmarks/ablation.py --data DATA_DIR --out WORK_DIR --epochs E
        [--doc docs/ablation.md] [--config cpu-small] [--set KEY=VALUE ...]
        [--image-size PX] [--shapes N] [--val-shapes N] [--test-shapes N]
        [--seeds 2] [--variants NAME ...] [--eval-resolution 128]
        [--eval-views 1] [--metric-points 100000] [--edge-samples N] [--max-minutes M]

Resumable: repeat the same command and finished runs are skipped, stopped
ones resume (Ctrl+C or --max-minutes stop with a checkpoint).  Sizing on the
2-core development CPU: a cpu-small step takes about 0.5 s at 160 px with
batch 16 (less at --image-size 96 or 128), so 11 runs of E epochs over N
training shapes x 4 views cost about 11 * E * 4N / 16 steps; evaluation adds
about 4 s per test view at 100,000 metric points.

Ends with one JSON line: runs planned and finished, whether the ablation is
complete, and the page written.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
from pathlib import Path

from svr_desktop.cli.progress_bar import run_with_progress_bar
from svr_desktop.evaluation.ablation import VARIANT_NAMES, AblationSettings, run_ablation
from svr_desktop.evaluation.evaluate import EvaluationSettings, sampled_metrics
from svr_desktop.geometry.metrics import IOU_POINTS


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="data-set folder with train/val/test splits")
    parser.add_argument("--out", type=Path, required=True, help="work folder for runs and evaluations (resumable)")
    parser.add_argument("--doc", type=Path, default=Path("docs/ablation.md"), help="page to write (default docs/ablation.md)")
    parser.add_argument("--epochs", type=int, required=True, help="epochs of every run (the equal budget)")
    parser.add_argument("--config", default="cpu-small", help="training preset or YAML file (default cpu-small)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="config override for every run (repeatable)")
    parser.add_argument("--image-size", type=int, default=None, help="model.image_size of every run (a multiple of 32)")
    parser.add_argument("--shapes", type=int, default=None, help="train on the first N training shapes only")
    parser.add_argument("--val-shapes", type=int, default=None, help="validate on the first N validation shapes only")
    parser.add_argument("--test-shapes", type=int, default=None, help="evaluate on the first N test shapes only")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds of the headline pair fpn+binary / fpn+v(d,s) (default 2)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANT_NAMES), metavar="NAME", help="a subset of: " + "  ".join(VARIANT_NAMES))
    parser.add_argument("--eval-resolution", type=int, default=128, help="reconstruction grid of the evaluation (default 128)")
    parser.add_argument("--eval-views", type=int, default=1, help="views per test shape evaluated (default 1)")
    parser.add_argument("--metric-points", type=int, default=IOU_POINTS, help=f"IoU / surface points per view, at most 2,048 for EMD (default {IOU_POINTS:,})")
    parser.add_argument("--edge-samples", type=int, default=None, help="dense samples per mesh for ECD edge detection (default: area-scaled)")
    parser.add_argument("--qualitative", type=int, default=4, help="inputs in the qualitative figure (default 4)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop training (with checkpoints) after this many minutes")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace, command: str) -> AblationSettings:
    return AblationSettings(
        data=args.data,
        out=args.out,
        doc=args.doc,
        epochs=args.epochs,
        config=args.config,
        overrides=tuple(args.overrides),
        image_size=args.image_size,
        train_shapes=args.shapes,
        val_shapes=args.val_shapes,
        test_shapes=args.test_shapes,
        seed=args.seed,
        seeds=args.seeds,
        variants=tuple(args.variants),
        evaluation=EvaluationSettings(resolution=args.eval_resolution, metrics=sampled_metrics(args.metric_points, args.edge_samples)),
        eval_views=args.eval_views,
        qualitative=args.qualitative,
        device=args.device,
        max_minutes=args.max_minutes,
        command=command,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["python", "benchmarks/ablation.py", *(sys.argv[1:] if argv is None else argv)])
    requested: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: requested.append(signum)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        outcome = run_with_progress_bar(run_ablation(settings_from(args, command), should_stop=lambda: bool(requested)), quiet=args.quiet)
    except (ValueError, OSError) as exc:
        print(f"ablation: error: {exc}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for item in outcome.outcomes:
        print(f"{item.run.label}: {item.status}")
    finished = sum(item.done for item in outcome.outcomes)
    if not outcome.complete:
        print("not complete: repeat the same command to continue")
    print(json.dumps({"runs": len(outcome.outcomes), "finished": finished, "complete": outcome.complete, "doc": str(outcome.doc)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
