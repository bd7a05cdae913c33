"""The main window end to end: photos in (drop, file, camera, data-set view), reconstruction
on a worker thread, cancellation, export, bad input, checkpoints and settings."""

import io
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image
from PySide6.QtCore import QPoint, QSettings, Qt

from svr_desktop.gui import export_dialog
from svr_desktop.gui.export_dialog import ExportOptions
from svr_desktop.gui.main_window import MainWindow
from svr_desktop.gui.parameters_panel import NO_TURNS_WITHOUT_DEPTH
from svr_desktop.inference.export import ExportUnits
from svr_desktop.inference.simplify import FaceTarget
from svr_desktop.inference.reconstructor import Reconstructor

from .window_helpers import (
    LOAD_TIMEOUT_MS,
    RECONSTRUCT_TIMEOUT_MS,
    SAMPLE_PHOTO,
    close_messages,
    drop_files,
    new_window,
    open_and_wait,
    reconstruct_and_wait,
    visible_messages,
)


@pytest.fixture
def window(qtbot, fixture_checkpoint):
    window = new_window(qtbot, fixture_checkpoint)
    window.parameters.set_resolution(64)
    return window


def test_dropped_photo_is_reconstructed_shown_and_exported(qtbot, window, tmp_path, monkeypatch):
    with qtbot.waitSignal(window.photo_ready, timeout=LOAD_TIMEOUT_MS):
        drop = drop_files(window.image_panel.photo_view, [SAMPLE_PHOTO])
    assert drop.isAccepted()
    assert window.photo.name == str(SAMPLE_PHOTO)
    assert not window.image_panel.input_preview.pixmap().isNull()
    assert window.recent_files.paths() == [str(SAMPLE_PHOTO.resolve())]
    window.recent_files.menu.aboutToShow.emit()
    assert SAMPLE_PHOTO.name in window.recent_files.menu.actions()[0].text()

    reconstruct_and_wait(qtbot, window)
    assert len(window.mesh.faces) > 0
    assert window.viewer.mesh is window.mesh
    assert "mesh" in window.viewer.plotter.actors
    assert "faces" in window.summary_label.text() and "cpu" in window.summary_label.text()
    assert window.compare_panel.isEnabled()

    target = tmp_path / "part.stl"
    budget = min(2000, len(window.mesh.faces) // 2)
    monkeypatch.setattr(
        export_dialog, "ask_export_options",
        lambda *args: ExportOptions(ExportUnits.from_dimension("longest", 120.0), FaceTarget("budget", budget)),
    )
    monkeypatch.setattr(export_dialog, "ask_export_path", lambda *args: target)
    with qtbot.waitSignal(window.export_finished, timeout=RECONSTRUCT_TIMEOUT_MS) as exported:
        window.export_actions["stl"].trigger()
    written = trimesh.load(target)
    assert exported.args[0].path == target
    assert 0 < len(written.faces) == exported.args[0].faces <= len(window.mesh.faces)
    assert max(written.extents) == pytest.approx(120.0, rel=1e-3)
    assert target.read_bytes().startswith(b"svr-desktop units=mm")
    assert str(target) in window.statusBar().currentMessage()


def recorded_progress(window, monkeypatch) -> list:
    """Every overall status the progress strip shows from now on."""
    statuses = []
    original = window.progress.show_progress

    def record(event):
        original(event)
        statuses.append(window.progress.status)

    monkeypatch.setattr(window.progress, "show_progress", record)
    return statuses


def test_one_bar_across_mise_and_export_and_a_simplified_export_in_the_size_asked_for(
    qtbot, window, tmp_path, monkeypatch
):
    window.parameters.set_known_size(ExportUnits.from_dimension("longest", 100.0))  # before any photo: for the first
    open_and_wait(qtbot, window, SAMPLE_PHOTO)
    assert window.parameters.known_size_units() == ExportUnits.from_dimension("longest", 100.0)
    statuses = recorded_progress(window, monkeypatch)
    reconstruct_and_wait(qtbot, window)
    stages = [status.stage for status in statuses]
    assert stages.index("mise 32^3") < stages.index("mise 64^3") < stages.index("post-process")
    fractions = [status.fraction for status in statuses]
    assert fractions == sorted(fractions) and fractions[-1] > 0.9  # one bar, never back to 2 %

    shown = {}

    def answer(dialog):
        """What a user does: waits for the measured face count, enters the real size, presses OK."""
        qtbot.waitUntil(lambda: dialog.planned_faces() is not None, timeout=RECONSTRUCT_TIMEOUT_MS)
        assert dialog.auto_radio.isChecked() and dialog.mm_radio.isChecked() and dialog.mm_spin.value() == 100.0
        dialog.mm_spin.setValue(120.0)
        shown.update(faces=dialog.planned_faces()[0], summary=dialog.summary_label.text())
        return dialog.options()

    monkeypatch.setattr(export_dialog, "ask_export_options", answer)
    target = tmp_path / "part.stl"
    monkeypatch.setattr(export_dialog, "ask_export_path", lambda *args: target)
    statuses.clear()
    with qtbot.waitSignal(window.export_finished, timeout=RECONSTRUCT_TIMEOUT_MS) as exported:
        window.export_actions["stl"].trigger()
    report = exported.args[0]
    assert report.faces == shown["faces"] < len(window.mesh.faces)
    assert f"{shown['faces']:,} faces" in shown["summary"] and f"{report.faces:,} faces" in window.statusBar().currentMessage()
    assert max(report.extents) == pytest.approx(120.0, rel=1e-6)
    assert [status.stage for status in statuses][-1] == "write"  # measured while the dialog was open
    assert not window.progress.isVisible()

    # The size entered for the export is this part's known size: the viewer shows millimetres.
    assert window.parameters.known_size_units() == ExportUnits.from_dimension("longest", 120.0)
    assert window.viewer.size_text().endswith("mm (x × y × z)")
    # A new photo is a new part: the size is cleared, and the status bar says so.
    open_and_wait(qtbot, window, SAMPLE_PHOTO.with_name("pillow_block_slate.png"))
    assert window.parameters.known_size_units() == ExportUnits.normalized()
    assert "Known size (longest side 120 mm) cleared" in window.statusBar().currentMessage()
    assert "normalized" in window.viewer.size_text()


def hold_the_next_reconstruction(monkeypatch) -> tuple[threading.Event, list]:
    """Patch the reconstruction so that its next call pauses after its first progress event until the
    returned event is set (at most 30 s); later calls run straight through.  The list counts the calls."""
    gate, calls = threading.Event(), []
    original = Reconstructor.reconstruct_photo

    def held_after_first_event(self, *args, **kwargs):
        calls.append(1)
        work = original(self, *args, **kwargs)
        yield next(work)
        if len(calls) == 1:
            gate.wait(30)
        return (yield from work)

    monkeypatch.setattr(Reconstructor, "reconstruct_photo", held_after_first_event)
    return gate, calls


def test_cancelled_reconstruction_leaves_the_window_usable(qtbot, window, monkeypatch):
    open_and_wait(qtbot, window, SAMPLE_PHOTO)
    gate, calls = hold_the_next_reconstruction(monkeypatch)
    qtbot.mouseClick(window.reconstruct_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.progress.stage_label.text() == "preprocess", timeout=LOAD_TIMEOUT_MS)
    assert not window.reconstruct_button.isEnabled()
    qtbot.mouseClick(window.progress.cancel_button, Qt.MouseButton.LeftButton)
    gate.set()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "Reconstruction cancelled", timeout=LOAD_TIMEOUT_MS)
    assert window.mesh is None and window.viewer.mesh is None
    assert not window.progress.isVisible()

    reconstruct_and_wait(qtbot, window)
    assert len(calls) == 2
    assert window.viewer.mesh is window.mesh and len(window.mesh.faces) > 0


def test_a_second_reconstruction_replaces_the_finished_message(qtbot, window, monkeypatch):
    open_and_wait(qtbot, window, SAMPLE_PHOTO)
    reconstruct_and_wait(qtbot, window)
    assert window.statusBar().currentMessage().startswith("Reconstruction finished")
    gate, _ = hold_the_next_reconstruction(monkeypatch)
    qtbot.mouseClick(window.reconstruct_button, Qt.MouseButton.LeftButton)
    try:
        qtbot.waitUntil(lambda: window.progress.stage_label.text() == "preprocess", timeout=LOAD_TIMEOUT_MS)
        assert window.statusBar().currentMessage() == f"Reconstructing {window.photo.name}…"
    finally:
        gate.set()  # a failed check must not leave the worker waiting
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Reconstruction finished"), timeout=RECONSTRUCT_TIMEOUT_MS)


def test_closing_during_a_reconstruction_stops_it_cleanly(qtbot, window, monkeypatch):
    open_and_wait(qtbot, window, SAMPLE_PHOTO)
    gate, _ = hold_the_next_reconstruction(monkeypatch)
    finished = []
    window.reconstruction_finished.connect(finished.append)
    window.reconstruct()
    qtbot.waitUntil(lambda: window.progress.stage_label.text() == "preprocess", timeout=LOAD_TIMEOUT_MS)
    threading.Timer(0.2, gate.set).start()  # the worker's current chunk ends a moment later
    assert window.close()
    assert not window.isVisible()
    qtbot.wait(50)
    assert finished == []  # the abandoned result never reached the closed window


def png_claiming_size(width: int, height: int) -> bytes:
    """A real 8 x 8 PNG whose header says it is ``width`` x ``height`` (CRC fixed up)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 90, 90)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


def test_bad_files_give_a_message_and_change_nothing(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, SAMPLE_PHOTO)
    reconstruct_and_wait(qtbot, window)
    photo, mesh, name = window.photo, window.mesh, window.image_panel.name_label.text()

    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(SAMPLE_PHOTO.read_bytes()[: SAMPLE_PHOTO.stat().st_size // 3])
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_claiming_size(30000, 30000))

    for bad in (text, truncated, huge):
        with qtbot.waitSignal(window.error_reported, timeout=LOAD_TIMEOUT_MS) as reported:
            drop_files(window, [bad])
        assert bad.name in reported.args[0]
        assert any(bad.name in message for message in visible_messages(window))
        assert bad.name in window.statusBar().currentMessage()
        assert window.photo is photo and window.mesh is mesh and window.viewer.mesh is mesh
        assert window.image_panel.name_label.text() == name
        close_messages(window)
    assert "pixels" in reported.args[0] or "large" in reported.args[0]  # the size is named as the reason


def test_a_wrong_checkpoint_is_rejected_and_the_previous_one_kept(qtbot, window, fixture_checkpoint, tmp_path):
    model = window.reconstructor
    wrong = tmp_path / "wrong.safetensors"
    wrong.write_bytes(b"\x00" * 64)
    with qtbot.waitSignal(window.error_reported, timeout=LOAD_TIMEOUT_MS) as reported:
        window.set_checkpoint(wrong)
    assert "wrong.safetensors" in reported.args[0] and "Still using" in reported.args[0]
    assert any("wrong.safetensors" in message for message in visible_messages(window))
    assert window.reconstructor is model and window.checkpoint == Path(fixture_checkpoint)
    assert window.parameters.checkpoint_label.text().startswith(Path(fixture_checkpoint).name)
    assert QSettings().value("model/checkpoint") == str(Path(fixture_checkpoint).resolve())

    copy = tmp_path / "from_training.safetensors"
    copy.write_bytes(Path(fixture_checkpoint).read_bytes())
    with qtbot.waitSignal(window.model_ready, timeout=LOAD_TIMEOUT_MS):
        window.training_panel.checkpoint_chosen.emit(str(copy))
    assert window.checkpoint == copy and window.reconstructor is not model


def test_a_missing_default_model_asks_for_a_checkpoint(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SVR_DESKTOP_MODEL", str(tmp_path / "models" / "default.safetensors"))
    window = MainWindow()
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.model_missing, timeout=LOAD_TIMEOUT_MS) as missing:
        window.show()
    assert "does not exist" in missing.args[0]
    assert any("Choose a trained checkpoint" in message for message in visible_messages(window))
    open_and_wait(qtbot, window, SAMPLE_PHOTO)
    assert not window.reconstruct_button.isEnabled()
    assert "checkpoint" in window.reconstruct_button.toolTip()
    assert window.reconstructor is None and window.mesh is None


def test_settings_come_back_in_a_new_window(qtbot, fixture_checkpoint):
    first = new_window(qtbot, fixture_checkpoint)
    panel = first.parameters
    panel.auto_ab_button.setChecked(False)
    panel.link_button.setChecked(False)
    panel.a_spin.setValue(1.5)
    panel.b_spin.setValue(2.25)
    panel.set_resolution(128)
    panel.threshold_spin.setValue(0.35)
    panel.turns_spin.setValue(3)
    panel.size_check.setChecked(True)
    panel.size_dimension.setCurrentIndex(panel.size_dimension.findData("x"))
    panel.size_mm.setValue(120.0)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
    first.image_panel.set_background("grabcut")
    first.training_panel.raise_()
    first.resize(1300, 850)
    qtbot.waitSignal(first.model_ready, timeout=LOAD_TIMEOUT_MS).wait()  # the device change reloads
    first.close()

    second = new_window(qtbot, fixture_checkpoint)  # model loaded: the threshold survived it
    restored = second.parameters
    assert not restored.follows_silhouette() and not restored.link_button.isChecked()
    assert (restored.a_spin.value(), restored.b_spin.value()) == (1.5, 2.25)
    assert restored.parameters().settings.resolution == 128
    assert restored.threshold_spin.value() == pytest.approx(0.35)
    assert restored.parameters().settings.turns == 3
    # The fixture model has no depth head: it reads the photo alone, and the box says so.
    assert not restored.turns_spin.isEnabled() and restored.turns_spin.toolTip() == NO_TURNS_WITHOUT_DEPTH
    assert restored.device() == "cpu"
    # A known size belongs to one part: not switched on again, but offered in the box.
    assert restored.known_size_units() == ExportUnits.normalized()
    assert restored.size_dimension.currentData() == "x" and restored.size_mm.value() == 120.0
    assert second.image_panel.background() == "grabcut"
    assert (second.width(), second.height()) == (1300, 850)
    assert not second.training_panel.visibleRegion().isEmpty()  # the tab raised last is in front again


def test_capture_without_a_camera_says_so(qtbot, window):
    photo = window.photo
    with qtbot.waitSignal(window.error_reported) as reported:
        window.capture_from_camera()
    assert "camera" in reported.args[0].lower()
    assert any("camera" in message.lower() for message in visible_messages(window))
    assert window.photo is photo


def test_a_rectangle_drawn_on_the_photo_steers_background_removal(qtbot, window):
    open_and_wait(qtbot, window, SAMPLE_PHOTO)
    view = window.image_panel.photo_view
    target = view.photo_area()
    start = QPoint(round(target.x() + 0.1 * target.width()), round(target.y() + 0.1 * target.height()))
    end = QPoint(round(target.x() + 0.6 * target.width()), round(target.y() + 0.9 * target.height()))
    with qtbot.waitSignal(window.photo_ready, timeout=LOAD_TIMEOUT_MS):
        qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(view, end)
        qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=end)
    x, y, w, h = window.image_panel.rect()
    width, height = window.photo.rgb.shape[1], window.photo.rgb.shape[0]
    assert (x, y) == pytest.approx((0.1 * width, 0.1 * height), abs=3)
    assert (w, h) == pytest.approx((0.5 * width, 0.8 * height), abs=3)
    prepared = window.prepared
    assert prepared.background_method in ("grabcut", "rectangle")
    assert not prepared.photo_mask[: y - 1].any() and not prepared.photo_mask[:, x + w + 1 :].any()

    with qtbot.waitSignal(window.photo_ready, timeout=LOAD_TIMEOUT_MS):
        qtbot.mouseClick(window.image_panel.clear_rect_button, Qt.MouseButton.LeftButton)
    assert window.image_panel.rect() is None


def test_a_data_set_view_is_used_as_it_is_with_its_own_a_b(qtbot, window):
    view = np.full((64, 64, 3), 217, dtype=np.uint8)
    view[16:48, 20:44] = (60, 70, 90)
    with qtbot.waitSignal(window.photo_ready, timeout=LOAD_TIMEOUT_MS):
        window.compare_panel.sample_chosen.emit(view, 1.7, 1.9, "shape 3, view 1")
    assert not window.parameters.follows_silhouette()
    assert not window.image_panel.background_combo.isEnabled()
    assert np.array_equal(window.prepared.network_input, view)
    reconstruct_and_wait(qtbot, window)
    assert (window.stats.a, window.stats.b) == pytest.approx((1.7, 1.9))
