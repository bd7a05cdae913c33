"""``svr-desktop train``: train or resume a run (also under ``torchrun``)."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

# torch, pydantic, the data set and the trainer are imported inside run_train, so that
# --help, --version and option errors do not pay seconds for them (issue 15).
from ..progress import run_to_completion  # plain Python: no cost to import here
from ..training.method_presets import METHOD_PRESETS, preset_names
from .options import device_name, number

if TYPE_CHECKING:
    from ..training.trainer import TrainSummary


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a reconstruction model on a data set",
        description="Train on DATA_DIR, writing metrics.jsonl and checkpoints to RUN_DIR. "
        "Ctrl+C (or SIGTERM) saves a checkpoint and exits cleanly; --resume continues "
        "exactly where the run stopped. Under 'torchrun --nproc-per-node N' the same "
        "command trains with DistributedDataParallel.",
    )
    parser.add_argument("--data", type=Path, required=True, help="data-set folder (svr-desktop dataset build)")
    parser.add_argument("--out", type=Path, required=True, help="run folder")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", default=None, help=f"preset ({', '.join(preset_names())}) or YAML file (default cpu-small)")
    source.add_argument(
        "--method", choices=list(METHOD_PRESETS), default=None,
        help="train this method from its own preset (" + ", ".join(f"{name}: {preset}" for name, preset in METHOD_PRESETS.items()) + ")",
    )
    parser.add_argument(
        "--stage1", type=Path, default=None, metavar="CHECKPOINT",
        help="d-occnet only: the trained occnet checkpoint that is its (frozen) stage 1; needed for a new run",
    )
    parser.add_argument(
        "--init-from", type=Path, default=None, metavar="CHECKPOINT",
        help="fine-tune: start a new run from this trained checkpoint's weights and config, with a fresh "
        "optimizer; change data, optimizer or schedule settings with --set",
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a config value, e.g. optim.epochs=5 (repeatable)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--max-minutes", type=number(0.0), default=None, help="stop (with a checkpoint) after this many minutes")
    parser.add_argument("--device", type=device_name, default="auto", help="auto (CUDA, MPS, CPU), cpu, cuda, cuda:1, ...")
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument("--quiet", action="store_true", help="no progress bar")
    progress.add_argument("--json-progress", action="store_true", help="instead of a progress bar, print each progress event as one JSON line on stdout (for the desktop application)")
    parser.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    if args.resume and (args.config or args.method or args.overrides or args.init_from):
        raise ValueError("--resume continues with the run's own config; drop --config/--method/--set/--init-from")
    if args.init_from and (args.config or args.method):
        raise ValueError("--init-from fine-tunes with the checkpoint's own config; drop --config/--method and change it with --set")
    from ..devices import pick_device, threads_per_training_process
    from ..training.checkpoint import read_checkpoint
    from ..training.config import fine_tune_config, load_config

    device = pick_device(args.device)
    source = METHOD_PRESETS[args.method] if args.method else args.config
    init_from = read_checkpoint(args.init_from) if args.init_from else None
    if args.resume:
        config = None
    elif init_from is not None:
        config = fine_tune_config(init_from.config, args.overrides)
    else:
        config = load_config(source, args.overrides)
    # Only a valid config is worth loading the data set, the trainer and their VTK / OpenCV imports for.
    import torch

    from ..data.dataset import load_manifest
    from ..model.checkpoint import read_model_checkpoint
    from ..training.trainer import train
    from .progress_bar import print_json_progress, run_with_progress_bar

    stage_one = read_model_checkpoint(args.stage1) if args.stage1 else None
    load_manifest(args.data)  # a missing or broken data set is refused before the model is built
    torch.set_num_threads(threads_per_training_process())
    requested = []

    def request_stop(signum, _frame) -> None:
        requested.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    work = train(
        args.data, args.out, config, resume=args.resume, device=device, max_minutes=args.max_minutes,
        should_stop=lambda: bool(requested), stage_one=stage_one, init_from=init_from,
    )
    try:
        summary = run_to_completion(work, print_json_progress) if args.json_progress else run_with_progress_bar(work, quiet=args.quiet)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun, rank 0 reports for the run
    print(summary_sentence(summary, args.data))
    return 0


def counted(count: int, noun: str) -> str:
    """``1 step``, ``3 steps``, ``0 epochs``: a count with its noun in the right number."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def summary_sentence(summary: TrainSummary, data_dir: Path) -> str:
    """How the run ended, in sentences: where it stands, its best validation score (IoU; Chamfer-L1
    for a point-cloud method) and, if it stopped early, how to continue it."""
    done = f"{counted(summary.steps, 'step')} and {counted(summary.epochs_done, 'complete epoch')} in {summary.seconds / 60:.1f} min"
    if summary.best_val_chamfer_l1 is not None:
        best = f"best validation Chamfer-L1 {summary.best_val_chamfer_l1:.4f} normalized units"
    elif summary.best_val_iou >= 0:
        best = f"best validation IoU {summary.best_val_iou:.4f}"
    else:
        best = "no validation yet (it runs at the end of each epoch)"
    if summary.stopped:
        return (
            f"{summary.run_dir}: training stopped ({summary.stopped}) after {done}; {best}. "
            f"Continue it with: svr-desktop train --data {data_dir} --out {summary.run_dir} --resume"
        )
    return f"{summary.run_dir}: training finished after {done}; {best}."
