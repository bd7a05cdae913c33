"""Atomic writes keep the old file on failure and never leave temporaries."""

import os
import stat

import pytest

from svr_desktop.files import atomic_write_bytes, atomic_write_png, atomic_write_text


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
