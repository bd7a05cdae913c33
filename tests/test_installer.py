"""The installer's sources, checked without running PyInstaller (the build takes minutes).

The spec's data-file list comes from ``installer/bundle_contents.py``, the
very module the spec uses, so these tests see what a build would bundle.
"""

import ast
import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / "installer"
sys.path.insert(0, str(INSTALLER))

import bundle_contents
import launcher
import trim
import vtk_modules

DESKTOP_FILE = INSTALLER / "linux" / "svr-desktop.desktop"
IMAGE_TYPES = {"image/png", "image/jpeg", "image/tiff", "image/bmp", "image/webp"}


def spec_tree() -> ast.Module:
    return ast.parse((INSTALLER / "svr-desktop.spec").read_text())


def test_spec_references_existing_files():
    tree = spec_tree()
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    for helper in ("bundle_contents", "trim", "vtk_modules"):
        assert helper in imported and (INSTALLER / f"{helper}.py").is_file()
    strings = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert "launcher.py" in strings and (INSTALLER / "launcher.py").is_file()
    calls = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= calls  # one folder, and the macOS .app


def test_resource_files_exist_and_leave_out_dev_scripts():
    files = bundle_contents.resource_files()
    dests = {dest for dest, _ in files}
    assert all(source.is_file() for _, source in files)
    assert all(dest.startswith("resources/") for dest in dests)
    samples = {dest for dest in dests if dest.startswith("resources/samples/") and dest.endswith(".png")}
    assert len(samples) >= 1 and "resources/samples/README.md" in dests  # photos ship with their licenses
    assert not any(dest.endswith(".py") for dest in dests)


def test_smoke_test_sample_is_bundled():
    import smoke_test

    assert f"resources/samples/{smoke_test.SAMPLE}" in {dest for dest, _ in bundle_contents.resource_files()}


def test_model_is_renamed_with_its_own_card(tmp_path):
    model = tmp_path / "best.safetensors"
    model.write_bytes(b"weights")
    assert bundle_contents.model_files(model) == [("models/default.safetensors", model)]
    (tmp_path / "MODEL_CARD.md").write_text("card")
    assert [dest for dest, _ in bundle_contents.model_files(model)] == ["models/default.safetensors", "models/MODEL_CARD.md"]


def test_the_other_methods_checkpoints_beside_the_model_are_bundled(tmp_path):
    shipped = {dest for dest, _ in bundle_contents.model_files(bundle_contents.default_model())}
    for name in ("occnet", "disn", "pointcloud", "d-occnet"):
        assert f"models/{name}.safetensors" in shipped
    # A file named after a method but not one of ours stays out.
    model = tmp_path / "default.safetensors"
    model.write_bytes(b"weights")
    (tmp_path / "occnet.safetensors").write_bytes(b"not a checkpoint")
    assert bundle_contents.model_files(model) == [("models/default.safetensors", model)]


def test_missing_model_fails_unless_allowed(tmp_path):
    with pytest.raises(bundle_contents.MissingModelError, match="--allow-missing-model"):
        bundle_contents.model_files(tmp_path / "default.safetensors")
    assert bundle_contents.model_files(tmp_path / "default.safetensors", allow_missing=True) == []
    assert bundle_contents.default_model() == ROOT / "models" / "default.safetensors"


def test_app_icon_is_the_largest_size(tmp_path):
    assert bundle_contents.app_icon(tmp_path) is None
    icons = tmp_path / "resources" / "icons"
    icons.mkdir(parents=True)
    for name in ("svr-desktop-32.png", "svr-desktop-256.png", "svr-desktop-64.png", "other-512.png"):
        (icons / name).write_bytes(b"png")
    assert bundle_contents.app_icon(tmp_path) == icons / "svr-desktop-256.png"


def test_trim_rules():
    assert trim.drop("torch/test/test_api") and trim.drop("PySide6/Qt/translations/qtbase_de.qm")
    assert trim.drop("torch/bin/test_jit") and trim.drop("torch\\lib\\libtorchbind_test.so")
    for kept in ("torch/lib/libtorch_cpu.so", "torch/bin/torch_shm_manager", "models/default.safetensors",
                 "PySide6/Qt/plugins/platforms/libqxcb.so", "resources/samples/flange_studio.png"):
        assert not trim.drop(kept), kept
    assert trim.trimmed([("torch/test/atest", "src", "BINARY"), ("torch/lib/libc10.so", "src", "BINARY")]) == [
        ("torch/lib/libc10.so", "src", "BINARY")
    ]
    assert not any(module.startswith(("PySide6.QtWidgets", "PySide6.QtMultimedia", "torch")) for module in trim.EXCLUDED_MODULES)


def test_vtk_modules_are_pyvistas_and_exist():
    import importlib.util

    modules = vtk_modules.pyvista_vtk_modules()
    assert {"vtkmodules.vtkRenderingOpenGL2", "vtkmodules.vtkInteractionStyle", "vtkmodules.vtkRenderingFreeType"} <= set(modules)
    assert all(importlib.util.find_spec(module) is not None for module in modules)
    assert "vtkmodules.vtkAcceleratorsVTKmFilters" not in modules  # the point: not all of VTK


def test_launcher_opens_the_gui_without_arguments():
    assert launcher.command_line([]) == ["gui"]
    assert launcher.command_line(["--version"]) == ["--version"]
    assert launcher.command_line(["-m", "svr_desktop", "train", "--resume"]) == ["train", "--resume"]
    assert launcher.command_line(["-m", "svr_desktop"]) == []


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(DESKTOP_FILE.read_text())
    return parser["Desktop Entry"]


def test_desktop_entry_is_valid():
    entry = desktop_entry()
    for key in ("Type", "Name", "Exec", "Icon", "MimeType", "Categories", "Terminal"):
        assert entry.get(key), key
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    assert entry["Exec"] == "svr-desktop gui %f"  # install.sh rewrites the program to an absolute path
    assert entry["MimeType"].endswith(";") and set(entry["MimeType"].rstrip(";").split(";")) == IMAGE_TYPES
    assert entry["Categories"].endswith(";")
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(["desktop-file-validate", str(DESKTOP_FILE)], capture_output=True, text=True, check=False)
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="the Linux per-user install")
def test_install_script_installs_and_uninstalls(tmp_path):
    bundle = tmp_path / "SVR Desktop"  # a space, as in a user's folder name
    icons = bundle / "_internal" / "resources" / "icons"
    icons.mkdir(parents=True)
    (icons / "svr-desktop-48.png").write_bytes(b"png")
    program = bundle / "svr-desktop"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    for name in ("install.sh", "svr-desktop.desktop"):
        shutil.copy2(INSTALLER / "linux" / name, bundle / name)
    home = tmp_path / "home"
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    subprocess.run([str(bundle / "install.sh")], env=env, check=True, capture_output=True)
    installed = home / ".local" / "share" / "applications" / "svr-desktop.desktop"
    assert f'Exec="{program}" gui %f' in installed.read_text().splitlines()
    assert (home / ".local" / "share" / "icons" / "hicolor" / "48x48" / "apps" / "svr-desktop.png").is_file()
    assert (home / ".local" / "bin" / "svr-desktop").resolve() == program
    subprocess.run([str(bundle / "install.sh"), "--uninstall"], env=env, check=True, capture_output=True)
    assert not installed.exists() and not (home / ".local" / "bin" / "svr-desktop").exists()


def test_inno_setup_script_names():
    script = (INSTALLER / "windows" / "svr-desktop.iss").read_text()
    assert '#define GuiExe "svr-desktop-gui.exe"' in script  # the spec's windowed program
    assert '#define BuildDir "..\\..\\dist\\svr-desktop"' in script  # build.py's bundle folder
    assert '""{app}\\{#GuiExe}"" gui ""%1""' in script  # Open with -> svr-desktop gui FILE
    for extension in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"):
        assert f'ValueName: "{extension}"' in script and f"Classes\\{extension}\\OpenWithList" in script
    spec = (INSTALLER / "svr-desktop.spec").read_text()
    assert 'executable(f"{NAME}-gui", console=False)' in spec and 'NAME = "svr-desktop"' in spec
