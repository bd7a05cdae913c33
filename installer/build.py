"""Build the desktop bundle: PyInstaller one-folder build, smoke test, archive.

    python installer/build.py [--model PATH | --allow-missing-model]

``make installer`` runs it with the project's ``.venv`` (which must have the
``installer`` extra: ``pip install -e '.[installer]'``).  It writes

* ``dist/svr-desktop/``: the application (on Linux also ``install.sh`` and
  the desktop entry it installs);
* on Linux, ``dist/svr-desktop-VERSION-linux-ARCH.tar.gz`` of that folder
  (Windows: the Inno Setup script makes the installer; macOS: the .app is
  ``dist/SVR Desktop.app``; see installer/README.md),

and prints the bundle size and the time of each stage, ending with one JSON line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from smoke_test import SmokeTestError, run_smoke_test

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "svr-desktop.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "installer"
BUNDLE = DIST / "svr-desktop"
#: Files beside the Linux executable: the per-user installer and the desktop entry it installs.
LINUX_FILES = [HERE / "linux" / "install.sh", HERE / "linux" / "svr-desktop.desktop"]


def run_pyinstaller(spec_args: list[str]) -> None:
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(DIST),
               "--workpath", str(WORK), str(SPEC)]
    subprocess.run(command + (["--", *spec_args] if spec_args else []), check=True, cwd=ROOT)


def add_linux_files(bundle: Path) -> None:
    for source in LINUX_FILES:
        shutil.copy2(source, bundle / source.name)  # copy2 keeps install.sh executable


def archive(bundle: Path, version: str) -> Path:
    """A .tar.gz of the bundle folder that unpacks to ``svr-desktop/``."""
    target = DIST / f"svr-desktop-{version}-linux-{platform.machine().lower()}.tar.gz"
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname=bundle.name)
    return target


def folder_size(folder: Path) -> tuple[int, int]:
    """Bytes and number of files under ``folder``."""
    files = [path for path in folder.rglob("*") if path.is_file() and not path.is_symlink()]
    return sum(path.stat().st_size for path in files), len(files)


def main() -> int:
    parser = argparse.ArgumentParser(description="Build the SVR Desktop bundle, smoke-test it and archive it.")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model", type=Path, help="checkpoint to ship as the default model (default: models/default.safetensors)")
    model.add_argument("--allow-missing-model", action="store_true", help="build without a default model")
    args = parser.parse_args()
    if importlib.util.find_spec("PyInstaller") is None:
        sys.exit(f"build.py: PyInstaller is missing from {sys.executable}; install it with pip install -e '.[installer]'")
    from svr_desktop import __version__

    spec_args = ["--model", str(args.model.resolve())] if args.model else []
    spec_args += ["--allow-missing-model"] if args.allow_missing_model else []
    timings: dict[str, float] = {}

    started = time.perf_counter()
    try:
        run_pyinstaller(spec_args)
    except subprocess.CalledProcessError as error:
        print(f"build.py: PyInstaller failed (exit code {error.returncode}); its messages are above", file=sys.stderr)
        return 1
    timings["pyinstaller_s"] = time.perf_counter() - started
    if sys.platform == "linux":
        add_linux_files(BUNDLE)

    started = time.perf_counter()
    try:
        run_smoke_test(BUNDLE, keep=WORK / "smoke")
    except (SmokeTestError, subprocess.TimeoutExpired, OSError) as error:
        print(f"build.py: the smoke test failed, the bundle does not work: {error}", file=sys.stderr)
        return 1
    timings["smoke_test_s"] = time.perf_counter() - started

    size, files = folder_size(BUNDLE)
    result = {"version": __version__, "platform": f"{sys.platform}-{platform.machine().lower()}",
              "bundle_mb": round(size / 2**20, 1), "files": files}
    if sys.platform == "linux":
        started = time.perf_counter()
        tarball = archive(BUNDLE, __version__)
        timings["archive_s"] = time.perf_counter() - started
        result.update(archive=str(tarball.relative_to(ROOT)), archive_mb=round(tarball.stat().st_size / 2**20, 1))
    result.update({key: round(value, 1) for key, value in timings.items()})

    print(f"\nbundle {BUNDLE.relative_to(ROOT)}: {result['bundle_mb']} MiB in {files} files")
    if "archive" in result:
        print(f"archive {result['archive']}: {result['archive_mb']} MiB")
    print("times: " + ", ".join(f"{key[:-2]} {value:.0f} s" for key, value in timings.items()))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
