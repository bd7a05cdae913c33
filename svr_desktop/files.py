"""Safe file writing shared by every layer that saves user data.

A write goes to a temporary file in the destination's folder and is renamed
over the destination only once complete and flushed, so a crash, a full disk
or a permission error never leaves a half-written file or destroys the old
one.  Only a kill (or a power cut) can leave the temporary file behind; its
name, ``.NAME.PID.RANDOM.tmp``, says which process wrote it, so that
:func:`remove_orphan_temp_files` can later delete it without ever touching
the temporary file of a write still going on.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image


def _default_file_mode() -> int:
    """0666 less the process umask, as ``open()`` would create a file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


#: A temporary file untouched for this long is no longer being written, even by
#: a process of another machine sharing the folder (whose PID means nothing here):
#: a writer writes its temporary file in one go and renames it at once.
ORPHAN_MIN_AGE_S = 60.0
#: Where the writer cannot be checked (a name without a PID, from an older
#: version, or a system without POSIX signals) the file must be this old.
ORPHAN_UNKNOWN_WRITER_AGE_S = 3600.0


def _process_alive(pid: int) -> bool | None:
    """Whether process ``pid`` runs on this machine; ``None`` where that cannot be asked."""
    if os.name != "posix":
        return None  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except (ProcessLookupError, OverflowError):  # gone, or a number no PID can be
        return False
    except PermissionError:
        return True  # exists, but belongs to another user
    return True


def _is_orphan(temp: Path, writer_pid: int | None) -> bool:
    """Whether ``temp`` is left over from a write that will never finish."""
    try:
        age = time.time() - temp.stat().st_mtime
    except FileNotFoundError:
        return False  # renamed or removed meanwhile
    if age < ORPHAN_MIN_AGE_S:
        return False
    alive = None if writer_pid is None else _process_alive(writer_pid)
    if alive is None:
        return age >= ORPHAN_UNKNOWN_WRITER_AGE_S
    return not alive


def remove_orphan_temp_files(path: str | Path) -> list[Path]:
    """Delete the temporary files that killed writes of ``path`` left beside it; return them.

    A temporary file counts as left over when it has not changed for
    :data:`ORPHAN_MIN_AGE_S` and the process that wrote it is gone (a PID
    still running, a reused one included, keeps it).  Problems are ignored:
    cleaning up must never stop the write that follows.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    # .NAME.PID.RANDOM.tmp, or .NAME.RANDOM.tmp from versions before the PID was added.
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(?:(\d+)\.)?[^.]+\.tmp")
    removed = []
    with contextlib.suppress(OSError):
        for temp in folder.iterdir():
            match = pattern.fullmatch(temp.name)
            if match and _is_orphan(temp, None if match[1] is None else int(match[1])):
                with contextlib.suppress(OSError):
                    temp.unlink()
                    removed.append(temp)
    return removed


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
    # .NAME.PID.RANDOM.tmp: the PID tells remove_orphan_temp_files whether the writer still runs.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
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
