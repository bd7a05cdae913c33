"""``svr-desktop train-segmenter``: fine-tune a model's depth head into the part segmenter, and ship it."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

# torch, the data set and the trainer are imported inside the handler (see cli/__init__.py).
from ..paths import SEGMENTER_NAME, default_model_path
from ..progress import run_to_completion
from .options import integer


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-segmenter",
        help="train the segmenter that finds the part in photos",
        description="Fine-tune the layered-depth head of --init into a segmenter on the training views of DATA_DIR, "
        "made to look like photographs (dark parts and grounds, cast shadows, reframing, noise, JPEG). "
        "Writes RUN_DIR/last.safetensors; Ctrl+C (or SIGTERM) saves it and --resume continues. "
        f"--ship copies the result to a file for models/ (the application uses models/{SEGMENTER_NAME}).",
    )
    parser.add_argument("--data", type=Path, required=True, help="data-set folder (svr-desktop dataset build; photo-style renders)")
    parser.add_argument("--out", type=Path, required=True, help="run folder")
    parser.add_argument("--init", type=Path, default=None, help="checkpoint with a depth head to start from (default: the shipped model)")
    parser.add_argument("--steps", type=integer(1, 10_000_000), default=None, help="optimizer steps (default 3000, 16 views each)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out with its own settings")
    parser.add_argument("--ship", type=Path, default=None, metavar="FILE", help="when done, write the segmenter here (float16 weights)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_train_segmenter)


def run_train_segmenter(args: argparse.Namespace) -> int:
    if args.resume and (args.init or args.steps):
        raise ValueError("--resume continues with the run's own settings; drop --init/--steps")
    init = args.init or default_model_path()
    import torch

    from ..data.dataset import load_manifest
    from ..devices import threads_per_training_process
    from ..training.checkpoint import ship_checkpoint
    from ..training.segmenter import LAST, SegmenterSettings, train_segmenter
    from .progress_bar import run_with_progress_bar

    load_manifest(args.data)  # a missing or broken data set is refused before anything is loaded
    settings = SegmenterSettings() if args.steps is None else SegmenterSettings(steps=args.steps)
    torch.set_num_threads(threads_per_training_process())
    requested = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: requested.append(signum)) for sig in (signal.SIGINT, signal.SIGTERM)}
    work = train_segmenter(args.data, init, args.out, settings, resume=args.resume, should_stop=lambda: bool(requested))
    try:
        summary = run_to_completion(work) if args.quiet else run_with_progress_bar(work)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if summary.finished:
        print(f"{args.out}: segmenter trained, {summary.steps:,} steps, last loss {summary.last_loss:.4f}")
    else:
        print(f"{args.out}: stopped at step {summary.steps:,}; continue with: svr-desktop train-segmenter "
              f"--data {args.data} --out {args.out} --resume")
    if args.ship is not None:
        if not summary.finished:
            print(f"not shipped to {args.ship}: the run is not finished")
            return 1
        ship_checkpoint(args.out / LAST, args.ship)
        print(f"shipped to {args.ship}")
    return 0
