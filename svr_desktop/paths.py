"""Where the application finds its shipped files (default model, resources).

In a source checkout they live next to the package (``models/``,
``resources/``); in a PyInstaller bundle under ``sys._MEIPASS``.  The
``SVR_DESKTOP_MODEL`` environment variable overrides the default model.
The part segmenter (``models/segmenter.safetensors``) sits beside the
default model, so an overridden default model brings its own, or none.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_MODEL_NAME = "default.safetensors"
SEGMENTER_NAME = "segmenter.safetensors"


def install_root() -> Path:
    """The folder holding ``models/`` and ``resources/``."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if bundle else Path(__file__).resolve().parents[1]


def default_model_path() -> Path:
    """The shipped default checkpoint (it may not exist yet)."""
    override = os.environ.get("SVR_DESKTOP_MODEL")
    return Path(override) if override else install_root() / "models" / DEFAULT_MODEL_NAME


def shipped_segmenter_path() -> Path | None:
    """The segmenter shipped beside the default model, or None when there is none."""
    path = default_model_path().with_name(SEGMENTER_NAME)
    return path if path.is_file() else None


#: The segmenter choice that means "no dedicated segmenter: the reconstruction model's own head".
OWN_HEAD = "model"


def chosen_segmenter_path(choice: str | None) -> Path | None:
    """The segmenter checkpoint an option names: None -> the shipped one (None when there is none);
    :data:`OWN_HEAD` -> None; anything else is a path, which must be a file (``ValueError``)."""
    if choice is None:
        return shipped_segmenter_path()
    if choice == OWN_HEAD:
        return None
    if not Path(choice).is_file():
        raise ValueError(f"segmenter {choice}: no such checkpoint file (or '{OWN_HEAD}' for the model's own depth head)")
    return Path(choice)


def resources_dir() -> Path:
    return install_root() / "resources"
