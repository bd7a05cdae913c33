"""Atomic writes keep the old file on failure and never leave temporaries; a killed
writer's temporary file is removed later, a live writer's never."""

import os
import stat
import subprocess
import sys
import time

import pytest

from helpers import dead_pid, make_temp
from svr_desktop.files import (
    ORPHAN_MIN_AGE_S,
    ORPHAN_UNKNOWN_WRITER_AGE_S,
    atomic_write_bytes,
    atomic_write_png,
    atomic_write_text,
    remove_orphan_temp_files,
)


def test_write_replace_and_refuse(tmp_path):
    target = tmp_path / "out.stl"
    atomic_write_bytes(target, b"one")
    assert target.read_bytes() == b"one"
    with pytest.raises(FileExistsError, match="already exists"):
        atomic_write_bytes(target, b"two", overwrite=False)
    assert target.read_bytes() == b"one"
    atomic_write_text(target, "three")
    assert target.read_text() == "three"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.stl"]


def test_new_files_get_ordinary_permissions(tmp_path):
    target = atomic_write_bytes(tmp_path / "a.bin", b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"old")

    with pytest.raises(TypeError):
        atomic_write_bytes(target, object())  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_missing_folder_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write_bytes(tmp_path / "no" / "such" / "x.stl", b"x")


def test_directory_target_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError):
        atomic_write_bytes(tmp_path, b"x")


def test_png_round_trip_and_refusal(tmp_path):
    import numpy as np
    from PIL import Image

    pixels = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    path = atomic_write_png(tmp_path / "a.png", Image.fromarray(pixels))
    with Image.open(path) as image:
        np.testing.assert_array_equal(np.asarray(image), pixels)
    with pytest.raises(FileExistsError):
        atomic_write_png(path, Image.new("RGB", (1, 1)), overwrite=False)


def test_a_killed_writers_temporary_file_is_removed_by_the_next_cleanup(tmp_path):
    target = tmp_path / "last.safetensors"
    target.write_bytes(b"previous checkpoint")
    # A writer killed between writing its temporary file and renaming it.
    killed = (
        "import os, sys; from svr_desktop import files; "
        "os.replace = lambda *args: os._exit(9); files.atomic_write_bytes(sys.argv[1], b'new')"
    )
    process = subprocess.run([sys.executable, "-c", killed, str(target)], timeout=60)
    assert process.returncode == 9
    (orphan,) = [p for p in tmp_path.iterdir() if p != target]
    assert orphan.name.startswith(".last.safetensors.") and orphan.name.endswith(".tmp")

    assert remove_orphan_temp_files(target) == []  # just written: maybe by a writer elsewhere
    then = time.time() - ORPHAN_MIN_AGE_S - 1
    os.utime(orphan, (then, then))
    assert remove_orphan_temp_files(target) == [orphan]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.safetensors"]
    assert target.read_bytes() == b"previous checkpoint"


def test_live_writers_recent_files_and_other_names_are_kept(tmp_path):
    old, dead = ORPHAN_MIN_AGE_S + 60, dead_pid()
    kept = [
        make_temp(tmp_path, f".part.stl.{os.getpid()}.abcd1234.tmp", old),  # a live writer: this process
        make_temp(tmp_path, f".part.stl.{dead}.abcd1234.tmp", 1),  # maybe a writer on another machine
        make_temp(tmp_path, ".part.stl.abcd1234.tmp", old),  # no PID (older version): needs to be much older
        make_temp(tmp_path, f".other.stl.{dead}.abcd1234.tmp", old),  # another file's
        make_temp(tmp_path, f".part.stl.bak.{dead}.abcd1234.tmp", old),  # part.stl.bak's
        make_temp(tmp_path, "part.stl.tmp", old),  # not ours
    ]
    removed = [
        make_temp(tmp_path, f".part.stl.{dead}.wxyz1234.tmp", old),
        make_temp(tmp_path, ".part.stl.efgh5678.tmp", ORPHAN_UNKNOWN_WRITER_AGE_S + 60),
        make_temp(tmp_path, f".part.stl.{10**30}.abcd1234.tmp", old),  # no process has such a PID
    ]
    assert sorted(remove_orphan_temp_files(tmp_path / "part.stl")) == sorted(removed)
    assert sorted(tmp_path.iterdir()) == sorted(kept)


def test_cleaning_a_missing_folder_does_nothing(tmp_path):
    assert remove_orphan_temp_files(tmp_path / "no_such_folder" / "part.stl") == []
