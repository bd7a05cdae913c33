"""Safe file writing shared by every layer that saves user data.

A write goes to a temporary file in the destination's folder and is renamed
over the destination only once complete and flushed, so a crash, a full disk
or a permission error never leaves a half-written file or destroys the old
one.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image


def _default_file_mode() -> int:
    """0666 less the process umask, as ``open()`` would create a file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: str | Path, data: bytes, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically; refuse an existing file unless ``overwrite``.

    Raises ``FileExistsError`` or ``OSError`` (with the original cause) and
    leaves any previous file untouched on failure.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory")
    folder = path.parent if str(path.parent) else Path(".")
    mode = path.stat().st_mode & 0o777 if path.exists() else _default_file_mode()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, mode)  # mkstemp creates 0600; keep the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str, overwrite: bool = True) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def atomic_write_png(path: str | Path, image: "Image.Image", overwrite: bool = True) -> Path:
    """Encode a Pillow image as PNG and write it with :func:`atomic_write_bytes`."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return atomic_write_bytes(path, buffer.getvalue(), overwrite)
