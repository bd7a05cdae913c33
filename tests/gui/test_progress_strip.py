"""The status bar's progress strip: one bar for the whole job, its stage, the time left, Cancel."""

from PySide6.QtCore import Qt

from svr_desktop.gui.progress_strip import ProgressStrip
from svr_desktop.progress import Progress


def test_mise_levels_and_export_move_one_bar_forward_only(qtbot):
    strip = ProgressStrip()
    qtbot.addWidget(strip)
    plan = [("mise 32^3", 1.0), ("mise 256^3", 7.0), ("simplify", 1.0), ("write", 1.0)]
    strip.start("Reconstructing…", plan, "Stop the reconstruction (Esc)")
    assert strip.isVisible() and strip.bar.maximum() == 0  # busy until the first event
    assert strip.cancel_button.toolTip() == "Stop the reconstruction (Esc)"

    values = []
    for event in (Progress("mise 32^3", 91, 100), Progress("mise 256^3", 2, 100), Progress("write", 0, 1)):
        strip.show_progress(event)
        values.append(strip.bar.value())
        assert strip.stage_label.text() == event.stage
        assert strip.bar.format().startswith(f"{strip.status.percent} %")
    # "mise 32^3 91 %" then "mise 256^3 2 %" used to jump back; now 9 %, 11 %, 90 %.
    assert values == sorted(values) and values[0] == 91 and values[-1] == 900

    with qtbot.waitSignal(strip.cancel_requested):
        qtbot.mouseClick(strip.cancel_button, Qt.MouseButton.LeftButton)
    assert strip.stage_label.text() == "cancelling…" and not strip.cancel_button.isEnabled()
    strip.finish()
    assert not strip.isVisible()

    strip.start("Exporting part.stl…", plan)  # a new job starts from zero
    strip.show_progress(Progress("mise 32^3", 0, 100))
    assert strip.bar.value() == 0 and strip.cancel_button.isEnabled()
