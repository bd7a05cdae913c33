"""``svr-desktop reconstruct``: outputs, units, and one clear line per bad input."""

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import trimesh
from PIL import Image

from svr_desktop.geometry.mesh_io import load_mesh

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG whose header claims a huge image (a decompression bomb's shape)."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + png_chunk(b"IEND", b"")


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "svr_desktop", "reconstruct", *map(str, args)], capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def checkpoint(tiny_run):
    return tiny_run[0] / "last.safetensors"


def test_one_photo_to_an_stl_in_millimetres(checkpoint, tmp_path):
    photo = SAMPLES / "flange_studio.png"
    out = tmp_path / "flange.stl"
    result = run_cli(photo, "--out", out, "--checkpoint", checkpoint, "--resolution", 64, "--size-mm", 120)
    assert result.returncode == 0, result.stderr
    assert f"-> {out}" in result.stdout and "units=mm" in result.stdout and "watertight=True" in result.stdout
    mesh = load_mesh(out)
    assert mesh.is_watertight
    assert max(mesh.extents) == pytest.approx(120.0, rel=1e-4)
    assert b"units=mm" in out.read_bytes()[:80]
    again = run_cli(photo, "--out", out, "--checkpoint", checkpoint, "--resolution", 64)
    assert again.returncode == 2 and "--force" in again.stderr


def test_exports_are_simplified_within_the_tolerance_unless_full_is_asked(checkpoint, tmp_path):
    photo = SAMPLES / "flange_studio.png"
    common = ["--checkpoint", checkpoint, "--resolution", 128, "--size-mm", 120]
    simplified = run_cli(photo, "--out", tmp_path / "cad.stl", *common)
    full = run_cli(photo, "--out", tmp_path / "full.stl", "--faces", "full", *common)
    assert simplified.returncode == 0 and full.returncode == 0, simplified.stderr + full.stderr
    cad, every = load_mesh(tmp_path / "cad.stl"), load_mesh(tmp_path / "full.stl")
    # The fixture model's field is noisy: fewer faces, not the 8x of the shipped model (docs/benchmarks.md).
    assert cad.is_watertight and len(cad.faces) < len(every.faces)
    line = simplified.stdout.strip()
    assert f"{len(cad.faces):,} faces of {len(every.faces):,} (99.9 % within " in line
    assert f"{(tmp_path / 'cad.stl').stat().st_size / 1e6:.1f} MB" in line or " kB" in line
    assert "box " in line and line.count(" x ") == 2 and " mm" in line
    assert f"-> {tmp_path / 'full.stl'}: {len(every.faces):,} faces," in full.stdout

    budget = run_cli(photo, "--out", tmp_path / "small.stl", "--faces", 3000, *common)
    assert budget.returncode == 0 and len(load_mesh(tmp_path / "small.stl").faces) <= 3000


def test_without_a_terminal_progress_is_one_rising_line_per_step(checkpoint, tmp_path):
    photo = SAMPLES / "flange_studio.png"
    result = run_cli(photo, "--out", tmp_path / "part.stl", "--checkpoint", checkpoint, "--resolution", 64)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith(f"{photo}: ") for line in lines)
    percents = [int(line.split(" · ")[1].rstrip(" %")) for line in lines]
    assert percents == sorted(percents) and percents[-1] == 100
    stages = [line.split(": ", 1)[1].split(" · ")[0] for line in lines]
    assert stages.index("mise 32^3") < stages.index("mise 64^3") < stages.index("simplify") < stages.index("write")


@pytest.mark.parametrize("option", [["--faces", "many"], ["--faces", "2"], ["--tolerance", "0"], ["--tolerance", "0.5"]])
def test_bad_face_options_are_refused_before_the_model_loads(tmp_path, option):
    result = run_cli(SAMPLES / "flange_studio.png", "--out", tmp_path / "a.stl", "--checkpoint", tmp_path / "none", *option)
    assert result.returncode == 2 and option[0] in result.stderr and "Traceback" not in result.stderr
    assert "none" not in result.stderr  # refused while parsing, before the checkpoint is looked at


def test_several_photos_into_a_folder(checkpoint, tmp_path):
    photos = [SAMPLES / "flange_studio.png", SAMPLES / "spur_gear_transparent.png"]
    result = run_cli(*photos, "--out", tmp_path / "meshes", "--format", "ply", "--checkpoint", checkpoint, "--resolution", 32)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "meshes").iterdir()) == ["flange_studio.ply", "spur_gear_transparent.ply"]


def test_bad_inputs_each_give_one_clear_error(checkpoint, tmp_path):
    good = SAMPLES / "flange_studio.png"
    cases = {
        "truncated.png": good.read_bytes()[: good.stat().st_size // 3],
        "text.png": b"this is not an image\n",
        "empty.png": b"",
        "huge.png": png_claiming(30000, 30000),
        "archive.png": zlib.compress(b"x" * 1000),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "folder.png").mkdir()
    inputs = [*cases, "missing.png", "folder.png"]
    result = run_cli(*[tmp_path / name for name in inputs], "--out", tmp_path / "out", "--checkpoint", checkpoint, "--resolution", 32)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    # Without a terminal, progress comes as plain lines ("IMAGE: preprocess · 0 %"); errors say "error:".
    lines = [line for line in result.stderr.strip().splitlines() if " · " not in line]
    assert len(lines) == len(inputs), result.stderr
    for name, line in zip(inputs, lines):
        assert name in line and "error:" in line
    assert "too large" in lines[inputs.index("huge.png")]
    assert list((tmp_path / "out").iterdir()) == []  # nothing half-written


def test_wrong_checkpoints_and_missing_default_model(tmp_path):
    photo = SAMPLES / "flange_studio.png"
    Image.new("RGB", (8, 8)).save(tmp_path / "image.png")
    (tmp_path / "weights.safetensors").write_bytes(b"\x00" * 100)
    wrong = run_cli(photo, "--out", tmp_path / "a.stl", "--checkpoint", tmp_path / "weights.safetensors")
    assert wrong.returncode == 2 and "not a readable checkpoint" in wrong.stderr and "Traceback" not in wrong.stderr
    env = {**__import__("os").environ, "SVR_DESKTOP_MODEL": str(tmp_path / "none.safetensors")}
    missing = run_cli(photo, "--out", tmp_path / "a.stl", env=env)
    assert missing.returncode == 2 and "no default model" in missing.stderr


def test_method_picks_the_shipped_checkpoint_of_that_method(tmp_path):
    photo = SAMPLES / "flange_studio.png"
    points = run_cli(photo, "--out", tmp_path / "flange.ply", "--method", "pointcloud")
    assert points.returncode == 0, points.stderr
    assert "points (a point cloud, no surface)" in points.stdout
    assert len(trimesh.load(tmp_path / "flange.ply").vertices) > 0

    only_default = tmp_path / "models"
    only_default.mkdir()
    (only_default / "default.safetensors").write_bytes((Path(__file__).resolve().parents[1] / "models" / "default.safetensors").read_bytes())
    env = {**os.environ, "SVR_DESKTOP_MODEL": str(only_default / "default.safetensors")}
    missing = run_cli(photo, "--out", tmp_path / "b.stl", "--method", "disn", env=env)
    assert missing.returncode == 2 and "no shipped checkpoint of the disn method" in missing.stderr
    assert "shipped: jin2022" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    both = run_cli(photo, "--out", tmp_path / "c.stl", "--method", "disn", "--checkpoint", only_default / "default.safetensors")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    unknown = run_cli(photo, "--out", tmp_path / "d.stl", "--method", "psgn")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr


def test_a_fully_transparent_photo_is_refused_in_one_line(tmp_path, capsys):
    """Issue 15: an all-transparent photo was reconstructed as if something were there.  It is
    refused in one line, before the segmenter runs, and nothing is written."""
    from svr_desktop.cli import main

    Image.new("RGBA", (160, 120), (0, 0, 0, 0)).save(tmp_path / "nothing.png")
    code = main(["reconstruct", str(tmp_path / "nothing.png"), "--out", str(tmp_path / "part.stl"), "--resolution", "32"])
    out, err = capsys.readouterr()
    errors = [line for line in err.strip().splitlines() if " · " not in line]  # progress lines aside
    assert code == 2 and len(errors) == 1 and "fully transparent" in errors[0], err
    assert "Traceback" not in err
    assert not (tmp_path / "part.stl").exists()
