"""GUI test fixtures: isolated QSettings and the trained fixture model.

GUI tests run for real under Xvfb (``./setup.sh test`` wraps pytest in
``xvfb-run``); pyvistaqt needs a real X display, so the ``offscreen`` Qt
platform is not used.
"""

import pytest
from PySide6.QtCore import QCoreApplication, QSettings


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, qapp):
    """Every GUI test starts from empty settings stored under its own tmp dir."""
    QCoreApplication.setOrganizationName("SVR Desktop Tests")
    QCoreApplication.setApplicationName("SVR Desktop Tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    QSettings().clear()
    yield
    QSettings().clear()


@pytest.fixture(scope="session")
def fixture_checkpoint(tiny_run):
    """Path of the small trained model (best checkpoint of the tiny run)."""
    run_dir, _ = tiny_run
    return run_dir / "best.safetensors"
