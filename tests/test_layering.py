"""Layering (DESIGN.md section 4): the core never imports Qt, and the import-linter contracts hold."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

CORE_PACKAGES = [
    "svr_desktop.geometry",
    "svr_desktop.data",
    "svr_desktop.model",
    "svr_desktop.training",
    "svr_desktop.inference",
    "svr_desktop.evaluation",
    "svr_desktop.cli",
]
QT_MODULES = ("PySide6", "pyvistaqt", "vtkmodules.qt", "PyQt5", "PyQt6", "shiboken6")


def loaded_modules_after_import(packages: list[str]) -> list[str]:
    code = (
        "import importlib, json, pkgutil, sys\n"
        f"for name in {packages!r}:\n"
        "    pkg = importlib.import_module(name)\n"
        "    for info in pkgutil.walk_packages(getattr(pkg, '__path__', []), name + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_core_imports_no_qt():
    existing = [name for name in CORE_PACKAGES if importlib.util.find_spec(name) is not None]
    assert "svr_desktop.geometry" in existing
    modules = loaded_modules_after_import(existing)
    assert "svr_desktop.geometry.labels" in modules  # the walk really imported submodules
    offending = [m for m in modules if m.split(".")[0] in QT_MODULES or m.startswith(QT_MODULES)]
    assert offending == []


def test_import_linter_contracts_hold():
    """pyproject.toml's import-linter contracts: no Qt in the core, no torch in geometry,
    inference never imports training, and the layer order (the whole static import graph)."""
    root = Path(__file__).resolve().parents[1]
    code = "from importlinter.cli import lint_imports; raise SystemExit(lint_imports(no_cache=True))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "4 kept, 0 broken" in out.stdout
