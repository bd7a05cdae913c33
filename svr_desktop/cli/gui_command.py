"""``svr-desktop gui``: open the desktop application, optionally scripted.

Qt is imported inside the handler only, so that the rest of the command
line (``svr-desktop --help`` included) never loads it.  Without a display
the command says so in one line: Qt itself would abort with a page of
plugin advice ending in "Reinstalling the application may fix this problem".
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from ..inference.settings import APPLICATION_RESOLUTIONS


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
    parser.add_argument("--resolution", type=int, choices=APPLICATION_RESOLUTIONS, default=None, help="grid resolution to set")
    parser.add_argument("--reconstruct", action="store_true", help="reconstruct IMAGE once the model is loaded")
    parser.add_argument("--screenshot", type=Path, default=None, metavar="PNG", help="save a PNG of the whole window when done")
    parser.add_argument("--quit", action="store_true", help="quit when done (or at the first error)")
    parser.set_defaults(handler=run_gui)


def _needs_display(qt_platform: str) -> bool:
    """Whether Qt's platform plugin ``qt_platform`` ("": Qt's own choice) opens windows on X or Wayland.

    The others (offscreen, minimal, vnc, eglfs, linuxfb, ...) need no display server.
    """
    return qt_platform in ("", "xcb") or qt_platform.startswith("wayland")


def missing_display(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> str | None:
    """Why no window can open here, with how to run the application instead; ``None`` if one can.

    Only Linux is checked: there Qt needs an X (``DISPLAY``) or Wayland
    (``WAYLAND_DISPLAY``) display unless ``QT_QPA_PLATFORM`` names a
    platform that needs none.
    """
    if not platform.startswith("linux") or environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
        return None
    # QT_QPA_PLATFORM may list fallbacks ("wayland;xcb") and options ("offscreen:fontengine=freetype").
    chosen = [entry.split(":")[0].strip() for entry in environ.get("QT_QPA_PLATFORM", "").split(";")]
    if not all(_needs_display(name) for name in chosen):
        return None
    return (
        "no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set); run it on a desktop, "
        "or on a virtual display with ./setup.sh gui or xvfb-run -a svr-desktop gui"
    )


def run_gui(args: argparse.Namespace) -> int:
    if args.reconstruct and args.image is None:
        raise ValueError("--reconstruct needs an IMAGE to reconstruct")
    if args.screenshot is not None and args.screenshot.suffix.lower() != ".png":
        raise ValueError(f"{args.screenshot}: the screenshot is written as PNG; give a .png file name")
    problem = missing_display()
    if problem:
        raise OSError(problem)  # one line and exit code 2, as every expected error of the command line
    from ..gui.app import run_app

    return run_app(
        image=args.image,
        checkpoint=args.checkpoint,
        resolution=args.resolution,
        reconstruct=args.reconstruct,
        screenshot=args.screenshot,
        quit_when_done=args.quit,
    )
