"""Smoke test of a built bundle: does the frozen application really work after trimming?

    python installer/smoke_test.py dist/svr-desktop

Runs the bundle's own executable, as a user would, with a fresh home folder
(so no remembered settings) and no ``SVR_DESKTOP_MODEL`` (so the bundled
default model is the one used):

1. ``--version`` and ``-m svr_desktop --version`` (the form the GUI uses for
   its child processes) print the version;
2. ``reconstruct`` turns a bundled sample photo into an STL, headless;
3. ``gui PHOTO --reconstruct --screenshot PNG --quit`` opens the real window
   (under Xvfb when there is no display), reconstructs and saves a screenshot.

Any failure raises ``SmokeTestError`` with the command's output.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = "flange_studio.png"
RESOLUTION = "64"
#: Generous: the first start of a bundle unpacks nothing but loads torch, Qt and VTK.
TIMEOUT_S = 600


class SmokeTestError(RuntimeError):
    """The frozen application failed one of the checks."""


def executable(bundle: Path) -> Path:
    return bundle / ("svr-desktop.exe" if os.name == "nt" else "svr-desktop")


def contents(bundle: Path) -> Path:
    """The folder holding models/ and resources/ (PyInstaller's contents directory)."""
    return bundle / "_internal"


def _environment(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "SVR_DESKTOP_MODEL"}
    env.update(HOME=str(home), USERPROFILE=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    return env


def _gui_prefix() -> list[str]:
    """Xvfb on a Linux machine without a display; nothing elsewhere."""
    if sys.platform != "linux" or os.environ.get("DISPLAY"):
        return []
    if shutil.which("xvfb-run") is None:
        raise SmokeTestError("no display and no xvfb-run: install xvfb (./setup.sh env does) to test the GUI")
    return ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24"]


def _run(command: list[str], env: dict[str, str]) -> str:
    started = time.perf_counter()
    print("smoke test: $", " ".join(command), flush=True)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    output = (result.stdout + result.stderr).strip()
    print(f"  exit {result.returncode} in {time.perf_counter() - started:.1f} s\n  " + output.replace("\n", "\n  "), flush=True)
    if result.returncode != 0:
        raise SmokeTestError(f"{' '.join(command)} exited with {result.returncode}:\n{output}")
    return output


def _require_file(path: Path, what: str) -> None:
    if not path.is_file() or path.stat().st_size == 0:
        raise SmokeTestError(f"{what} was not written ({path})")
    print(f"  {what}: {path} ({path.stat().st_size:,} bytes)")


def run_smoke_test(bundle: Path, keep: Path | None = None) -> None:
    """Run every check on ``bundle``; the STL and screenshot stay in ``keep`` when given."""
    from svr_desktop import __version__

    program = str(executable(bundle))
    photo = contents(bundle) / "resources" / "samples" / SAMPLE
    with tempfile.TemporaryDirectory(prefix="svr-smoke-") as scratch:
        work = keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        (Path(scratch) / "home").mkdir()
        env = _environment(Path(scratch) / "home")
        for command in ([program, "--version"], [program, "-m", "svr_desktop", "--version"]):
            if _run(command, env) != f"svr-desktop {__version__}":
                raise SmokeTestError(f"{' '.join(command[1:])} did not print 'svr-desktop {__version__}'")
        stl = work / "smoke_reconstruct.stl"
        stl.unlink(missing_ok=True)
        _run([program, "reconstruct", str(photo), "--out", str(stl), "--resolution", RESOLUTION], env)
        _require_file(stl, "reconstructed STL")
        screenshot = work / "smoke_gui.png"
        screenshot.unlink(missing_ok=True)
        gui = [program, "gui", str(photo), "--resolution", RESOLUTION, "--reconstruct", "--screenshot", str(screenshot), "--quit"]
        _run(_gui_prefix() + gui, env)
        _require_file(screenshot, "GUI screenshot")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the one-folder build (dist/svr-desktop)")
    parser.add_argument("--keep", type=Path, default=None, help="folder for the STL and the screenshot")
    args = parser.parse_args()
    try:
        run_smoke_test(args.bundle, args.keep)
    except (SmokeTestError, subprocess.TimeoutExpired, OSError) as error:
        print(f"smoke test failed: {error}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
