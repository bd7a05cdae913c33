"""``svr-desktop train``: train or resume a run (also under ``torchrun``)."""

from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

import torch

from ..data.dataset import load_manifest
from ..devices import pick_device, threads_per_training_process
from ..model.methods import METHODS
from ..training.config import METHOD_PRESETS, load_config, preset_names
from ..training.trainer import train
from .options import number
from .progress_bar import run_with_progress_bar


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
        "--method", choices=list(METHODS), default=None,
        help="train this method from its own preset (" + ", ".join(f"{name}: {preset}" for name, preset in METHOD_PRESETS.items()) + ")",
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a config value, e.g. optim.epochs=5 (repeatable)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--max-minutes", type=number(0.0), default=None, help="stop (with a checkpoint) after this many minutes")
    parser.add_argument("--device", default="auto", help="auto (CUDA, MPS, CPU), cpu, cuda, cuda:1, ...")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    if args.resume and (args.config or args.method or args.overrides):
        raise ValueError("--resume continues with the run's own config; drop --config/--method/--set")
    source = METHOD_PRESETS[args.method] if args.method else args.config
    config = None if args.resume else load_config(source, args.overrides)
    device = pick_device(args.device)
    load_manifest(args.data)  # a missing or broken data set is refused before the model is built
    torch.set_num_threads(threads_per_training_process())
    requested = []

    def request_stop(signum, _frame) -> None:
        requested.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        summary = run_with_progress_bar(
            train(args.data, args.out, config, resume=args.resume, device=device, max_minutes=args.max_minutes, should_stop=lambda: bool(requested)),
            quiet=args.quiet,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun, rank 0 reports for the run
    state = f"stopped ({summary.stopped}); resume with --resume" if summary.stopped else "finished"
    best = f"{summary.best_val_iou:.4f}" if summary.best_val_iou >= 0 else "n/a"
    print(f"{summary.run_dir}: {state} after {summary.steps} steps, {summary.epochs_done} epochs, best val IoU {best}, {summary.seconds / 60:.1f} min")
    return 0
