"""Which method each shipped checkpoint holds, for a method picker.

The models folder holds the default model (``default.safetensors``) and
optionally one checkpoint per method, named after it
(``<method>.safetensors``, e.g. ``occnet.safetensors``).  A picker lists
every method of :data:`.methods.METHODS` and needs to know, without loading
any weights, which of them has a checkpoint there: only each file's
safetensors header is read.
"""

from __future__ import annotations

from pathlib import Path

from .checkpoint import CheckpointError, read_checkpoint_metadata
from .methods import METHODS

#: What a checkpoint written before methods existed is (see :mod:`.methods`).
_LEGACY_METHOD = "jin2022"


def checkpoint_method(path: str | Path) -> str:
    """The method a checkpoint records, read from its header alone (``CheckpointError`` if it is not ours)."""
    meta = read_checkpoint_metadata(path)
    model = ((meta or {}).get("config") or {}).get("model") if isinstance(meta, dict) else None
    method = (model or {}).get("method", _LEGACY_METHOD) if isinstance(model, dict) else _LEGACY_METHOD
    if method not in METHODS:
        raise CheckpointError(f"{path}: unknown method {method!r}")
    return method


def method_checkpoints(default_model: Path) -> dict[str, Path]:
    """The checkpoint of each method that has one beside ``default_model``.

    ``<method>.safetensors`` in the same folder is that method's; the
    default model counts for the method it records, unless that method has
    its own file.  Unreadable files are left out (loading them would fail).
    """
    found: dict[str, Path] = {}
    if default_model.is_file():
        try:
            found[checkpoint_method(default_model)] = default_model
        except CheckpointError:
            pass
    for name in METHODS:
        path = default_model.parent / f"{name}.safetensors"
        if path.is_file() and path != default_model:
            try:
                if checkpoint_method(path) == name:
                    found[name] = path
            except CheckpointError:
                pass
    return found
