"""Where the application finds its shipped files (default model, resources).

In a source checkout they live next to the package (``models/``,
``resources/``); in a PyInstaller bundle under ``sys._MEIPASS``.  The
``SVR_DESKTOP_MODEL`` environment variable overrides the default model.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_MODEL_NAME = "default.safetensors"


def install_root() -> Path:
    """The folder holding ``models/`` and ``resources/``."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if bundle else Path(__file__).resolve().parents[1]


def default_model_path() -> Path:
    """The shipped default checkpoint (it may not exist yet)."""
    override = os.environ.get("SVR_DESKTOP_MODEL")
    return Path(override) if override else install_root() / "models" / DEFAULT_MODEL_NAME


def resources_dir() -> Path:
    return install_root() / "resources"
