"""Helpers shared by test files: the repository's scripts as modules, and a killed writer's leftovers."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
#: The development meshes, beside the checkout (as in CI); tests that need them skip without them.
DEV_MESHES = ROOT.parent / "shared" / "dev-meshes"


def load_script(relative: str) -> ModuleType:
    """A script of the repository (``benchmarks/...``, ``docs/...``) imported as a module.

    It is registered in ``sys.modules`` first: dataclasses look their module
    up while being built.
    """
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(f"{path.stem}_script", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def dead_pid() -> int:
    """The PID of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def make_temp(folder: Path, name: str, age_s: float, contents: bytes = b"partial") -> Path:
    """A temporary file called ``name`` last written ``age_s`` seconds ago."""
    path = folder / name
    path.write_bytes(contents)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def killed_writers_temp(target: Path, age_s: float, contents: bytes = b"partial") -> Path:
    """The temporary file that a writer of ``target``, killed ``age_s`` seconds ago, left beside it."""
    return make_temp(target.parent, f".{target.name}.{dead_pid()}.k1lled00.tmp", age_s, contents)
