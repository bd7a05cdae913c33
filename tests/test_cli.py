"""The command line: version, help, one-line errors, mesh and data-set commands."""

import json
import subprocess
import sys

import pytest
import trimesh

from svr_desktop import __version__
from svr_desktop.cli import main
from svr_desktop.data.shards import read_shard
from svr_desktop.device_names import check_device_name
from svr_desktop.devices import pick_device
from svr_desktop.geometry.mesh_io import load_mesh


def run_cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "svr_desktop", *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_version_and_help_without_qt():
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"svr-desktop {__version__}"
    probe = "import sys; from svr_desktop.cli import main; main(['--help'])"
    result = subprocess.run([sys.executable, "-c", probe + "\n"], capture_output=True, text=True)
    assert "compare" in result.stdout and "remesh" in result.stdout and "train" in result.stdout
    leaked = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom svr_desktop.cli import build_parser\nbuild_parser()\nprint(any(m.startswith(('PySide6', 'pyvistaqt')) for m in sys.modules))"],
        capture_output=True,
        text=True,
    )
    assert leaked.stdout.strip() == "False"


#: Libraries that take seconds to import: building the parser and refusing a bad option must not need them.
HEAVY_MODULES = ("torch", "trimesh", "PySide6")


@pytest.mark.parametrize("command", [["reconstruct", "photo.png", "--out", "part.stl"], ["train", "--data", "data", "--out", "run"]])
def test_options_are_parsed_and_refused_without_heavy_imports(command):
    """Issue 15: a bad option is refused within 2 s, so parsing pays for neither torch, trimesh nor Qt."""
    probe = (
        "import json, sys\n"
        "from svr_desktop.cli import build_parser, main\n"
        f"heavy = lambda: sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY_MODULES!r})\n"
        "build_parser()\n"
        "after_parser = heavy()\n"
        "code = main(sys.argv[1:])\n"
        "print(json.dumps({'after_parser': after_parser, 'code': code, 'after_error': heavy()}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, *command, "--device", "tpu"], capture_output=True, text=True)
    assert json.loads(result.stdout) == {"after_parser": [], "code": 2, "after_error": []}
    (line,) = result.stderr.strip().splitlines()
    assert f"svr-desktop {command[0]}: error: argument --device: unknown device 'tpu'" in line


@pytest.mark.parametrize("name", ["auto", "cpu", "cuda", "cuda:0", "cuda:12", "mps", "cpu:0"])
def test_device_names_are_checked_by_their_spelling(name):
    assert check_device_name(name) == name


@pytest.mark.parametrize("name", ["tpu", "meta", "cuda:01", "cuda:-1", "cuda: 1", "CUDA", "cuda:128", ""])
def test_bad_device_names_are_refused_by_the_option_and_by_pick_device_alike(name):
    with pytest.raises(ValueError, match="unknown device") as by_spelling:
        check_device_name(name)
    if name:  # pick_device takes "" for auto
        with pytest.raises(ValueError) as by_pick:
            pick_device(name)
        assert str(by_pick.value) == str(by_spelling.value)


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: svr-desktop" in capsys.readouterr().out


@pytest.fixture
def meshes(tmp_path):
    box = trimesh.creation.box((40.0, 20.0, 10.0))
    box.export(tmp_path / "box.stl")
    shifted = box.copy()
    shifted.apply_translation([4.0, 0, 0])
    shifted.apply_scale(1.05)
    shifted.export(tmp_path / "other.obj")
    return tmp_path


def test_compare_prints_every_metric_and_a_json_line(meshes):
    result = run_cli("compare", meshes / "box.stl", meshes / "other.obj", "--json")
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["iou"] == pytest.approx(1.0, abs=0.02)  # normalization removes shift and scale
    assert "Chamfer-L1" in result.stdout and "100,000 surface points" in result.stdout


@pytest.mark.parametrize(
    "name,expected",
    [
        ("missing.stl", "no such file"),
        (".", "is a directory"),
        ("notes.txt", "unsupported mesh type"),
        ("empty.stl", "empty"),
    ],
)
def test_bad_mesh_files_give_one_line_errors(meshes, name, expected):
    (meshes / "notes.txt").write_text("not a mesh")
    (meshes / "empty.stl").write_bytes(b"")
    result = run_cli("compare", meshes / name, meshes / "box.stl")
    assert result.returncode == 2
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_remesh_writes_a_watertight_copy_in_original_units_and_respects_existing_files(meshes):
    out = meshes / "box_watertight.ply"
    result = run_cli("remesh", meshes / "box.stl", "--out", out, "--resolution", "64")
    assert result.returncode == 0, result.stderr
    remeshed = load_mesh(out)
    assert remeshed.is_watertight
    assert remeshed.extents == pytest.approx([40.0, 20.0, 10.0], rel=0.03)
    again = run_cli("remesh", meshes / "box.stl", "--out", out, "--resolution", "64")
    assert again.returncode == 2 and "--force" in again.stderr
    bad_ext = run_cli("remesh", meshes / "box.stl", "--out", meshes / "box.xyz")
    assert bad_ext.returncode == 2 and "cannot write" in bad_ext.stderr


def test_dataset_build_command(tmp_path):
    result = run_cli(
        "dataset", "build", "--out", tmp_path / "ds", "--shapes", 2, "--views", 1, "--image-size", 64,
        "--workers", 1, "--surface-points", 700, "--uniform-points", 300,
    )
    assert result.returncode == 0, result.stderr
    assert "2 shapes x 1 views" in result.stdout
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["shapes"] == 2
    assert (manifest["config"]["sampling"]["surface_points"], manifest["config"]["sampling"]["uniform_points"]) == (700, 300)
    record = read_shard(tmp_path / "ds" / manifest["shards"][0]["file"])[0]
    assert len(record.train_points) == 1000
    clash = run_cli("dataset", "build", "--out", tmp_path / "ds", "--shapes", 3, "--views", 1, "--image-size", 64)
    assert clash.returncode == 2 and "other settings" in clash.stderr
