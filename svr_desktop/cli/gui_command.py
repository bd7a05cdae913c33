"""``svr-desktop gui``: open the desktop application, optionally scripted.

Qt is imported inside the handler only, so that the rest of the command
line (``svr-desktop --help`` included) never loads it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

#: Grid resolutions the application offers (as its parameters panel).
RESOLUTIONS = (64, 128, 256, 512)


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "gui",
        help="open the desktop application",
        description="Open the desktop application, optionally with a photo. With --reconstruct, "
        "--screenshot and --quit it runs unattended (documentation, tests): errors are printed on "
        "stderr and the exit code is 2.",
    )
    parser.add_argument("image", nargs="?", type=Path, metavar="IMAGE", help="photo to open")
    parser.add_argument("--checkpoint", type=Path, default=None, help="model checkpoint (default: the last one used, else the shipped model)")
    parser.add_argument("--resolution", type=int, choices=RESOLUTIONS, default=None, help="grid resolution to set")
    parser.add_argument("--reconstruct", action="store_true", help="reconstruct IMAGE once the model is loaded")
    parser.add_argument("--screenshot", type=Path, default=None, metavar="PNG", help="save a PNG of the whole window when done")
    parser.add_argument("--quit", action="store_true", help="quit when done (or at the first error)")
    parser.set_defaults(handler=run_gui)


def run_gui(args: argparse.Namespace) -> int:
    if args.reconstruct and args.image is None:
        raise ValueError("--reconstruct needs an IMAGE to reconstruct")
    if args.screenshot is not None and args.screenshot.suffix.lower() != ".png":
        raise ValueError(f"{args.screenshot}: the screenshot is written as PNG; give a .png file name")
    from ..gui.app import run_app

    return run_app(
        image=args.image,
        checkpoint=args.checkpoint,
        resolution=args.resolution,
        reconstruct=args.reconstruct,
        screenshot=args.screenshot,
        quit_when_done=args.quit,
    )
