"""The core never imports Qt (DESIGN.md section 4)."""

import importlib.util
import json
import subprocess
import sys

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
