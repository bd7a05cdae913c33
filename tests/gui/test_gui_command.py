"""``svr-desktop gui`` scripted: photo, reconstruction, window screenshot, quit; errors on stderr."""

import colorsys
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from svr_desktop.cli import main
from svr_desktop.cli.gui_command import missing_display
from svr_desktop.gui.viewer import MESH_COLOUR

from .window_helpers import SAMPLE_PHOTO


def mesh_coloured_fraction(rgb: np.ndarray) -> float:
    """Fraction of pixels with the viewer's mesh hue (any shading), saturated enough to
    tell them from grey widgets and the viewer's background."""
    target_hue = colorsys.rgb_to_hsv(*(int(MESH_COLOUR[i : i + 2], 16) / 255 for i in (1, 3, 5)))[0]
    pixels = rgb.reshape(-1, 3).astype(np.float64) / 255
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in pixels[::7]])  # every 7th pixel is plenty
    close_hue = np.abs(hsv[:, 0] - target_hue) < 0.04
    return float(np.mean(close_hue & (hsv[:, 1] > 0.25) & (hsv[:, 2] > 0.25)))


def test_scripted_run_saves_a_screenshot_with_the_rendered_mesh(fixture_checkpoint, tmp_path, capsys):
    screenshot = tmp_path / "window.png"
    code = main([
        "gui", str(SAMPLE_PHOTO), "--checkpoint", str(fixture_checkpoint), "--resolution", "64",
        "--reconstruct", "--screenshot", str(screenshot), "--quit",
    ])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"screenshot: {screenshot}" in captured.out
    with Image.open(screenshot) as image:
        assert image.format == "PNG" and image.width >= 1000 and image.height >= 700
        rgb = np.asarray(image.convert("RGB"))
    # the photo panel is the left third; right of it, the mesh must have been rendered
    assert mesh_coloured_fraction(rgb[:, rgb.shape[1] // 3 :]) > 0.02


def test_scripted_errors_go_to_stderr_with_a_non_zero_exit_code(fixture_checkpoint, tmp_path, capsys):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    code = main(["gui", str(broken), "--checkpoint", str(fixture_checkpoint), "--reconstruct", "--quit"])
    err = capsys.readouterr().err
    assert code == 2
    assert "svr-desktop gui: error:" in err and "broken.png" in err


def test_options_are_checked_before_the_window_opens(capsys):
    assert main(["gui", "--reconstruct"]) == 2
    assert "--reconstruct needs an IMAGE" in capsys.readouterr().err
    assert main(["gui", str(SAMPLE_PHOTO), "--screenshot", "shot.jpg"]) == 2
    assert ".png" in capsys.readouterr().err


def test_without_a_display_one_line_says_how_to_run_it():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "svr_desktop", "gui"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("svr-desktop gui: error: no display")
    assert "./setup.sh gui" in result.stderr and "xvfb-run -a svr-desktop gui" in result.stderr


@pytest.mark.parametrize(
    "environ,platform,has_display",
    [
        ({}, "linux", False),
        ({"QT_QPA_PLATFORM": "xcb"}, "linux", False),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({"QT_QPA_PLATFORM": "offscreen"}, "linux", True),
        ({"QT_QPA_PLATFORM": "minimal:enable_fonts"}, "linux", True),
        ({"QT_QPA_PLATFORM": "wayland;offscreen"}, "linux", True),
        ({}, "darwin", True),
        ({}, "win32", True),
    ],
)
def test_a_missing_display_is_told_from_the_environment(environ, platform, has_display):
    assert (missing_display(environ, platform) is None) == has_display
