"""What the bundle carries besides code: the default model, its card, resources/ and the icon.

The spec (``svr-desktop.spec``) and the tests share this module, so the tests
check the very list the build uses without running PyInstaller.  Entries are
``(destination inside the bundle, source file)`` pairs; the destinations are
what ``svr_desktop.paths`` looks for under ``sys._MEIPASS``.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Where the shipped model lives in a checkout and in the bundle.
MODEL_DEST = "models/default.safetensors"
CARD_NAME = "MODEL_CARD.md"
#: Application icons drawn by resources/icons/make_icon.py, one PNG per size.
ICON_PATTERN = re.compile(r"svr-desktop-(\d+)\.png")
#: Files under resources/ that only serve development (sample generators, caches).
DEV_ONLY_SUFFIXES = {".py", ".pyc"}


class MissingModelError(RuntimeError):
    """The default model to bundle does not exist."""


def default_model(root: Path = ROOT) -> Path:
    return root / MODEL_DEST


def model_files(model: Path, allow_missing: bool = False) -> list[tuple[str, Path]]:
    """The model (renamed to ``models/default.safetensors``), the card and the other methods'
    checkpoints beside it, when present.

    The card is taken from the model's own folder so that a stand-in model
    never ships under another model's card.
    """
    if not model.is_file():
        if allow_missing:
            return []
        raise MissingModelError(
            f"no model to bundle at {model}: add the trained default model there, pass --model PATH, "
            "or build without a model with --allow-missing-model"
        )
    files = [(MODEL_DEST, model)]
    card = model.parent / CARD_NAME
    if card.is_file():
        files.append((f"models/{CARD_NAME}", card))
    # The other methods' checkpoints beside it (``occnet.safetensors``, ...), so that the
    # method picker finds them in the bundle as in a checkout.
    from svr_desktop.model.catalog import method_checkpoints

    files += [(f"models/{path.name}", path) for path in method_checkpoints(model).values() if path != model]
    return files


def resource_files(root: Path = ROOT) -> list[tuple[str, Path]]:
    """Everything under resources/ (sample photos with their licenses, icons) but development scripts."""
    resources = root / "resources"
    return [
        (path.relative_to(root).as_posix(), path)
        for path in sorted(resources.rglob("*"))
        if path.is_file() and path.suffix not in DEV_ONLY_SUFFIXES and "__pycache__" not in path.parts
    ]


def app_icon(root: Path = ROOT) -> Path | None:
    """The largest application icon PNG, or None while resources/icons/ has none.

    PyInstaller turns it into the .ico (Windows) or .icns (macOS) it needs
    with Pillow at build time.
    """
    icons = [
        (int(match.group(1)), path)
        for path in (root / "resources" / "icons").glob("svr-desktop-*.png")
        if (match := ICON_PATTERN.fullmatch(path.name))
    ]
    return max(icons)[1] if icons else None
