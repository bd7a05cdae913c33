"""The training panel runs real ``svr-desktop`` commands, plots them live and never leaves a process behind."""

import glob
import json
import math
import os
import shutil

import pytest
from PySide6.QtCore import QProcess
from PySide6.QtWidgets import QMessageBox

from svr_desktop.gui.live_plots import LivePlots
from svr_desktop.gui.run_history import RunHistory, format_duration
from svr_desktop.gui.training_panel import TrainingPanel
from svr_desktop.model.methods import get_model
from svr_desktop.progress import run_to_completion
from svr_desktop.training.checkpoint import save_checkpoint
from svr_desktop.training.config import load_config
from svr_desktop.training.metrics_log import MetricsFollower
from svr_desktop.training.trainer import train
from conftest import TINY_RUN_OVERRIDES

#: The tiny model on the tiny set (1 step per epoch), a metric line every step and
#: epochs enough that it never finishes on its own: the tests decide when it stops.
ENDLESS_TINY_RUN = [o for o in TINY_RUN_OVERRIDES if not o.startswith(("optim.epochs=", "log_every="))] + [
    "optim.epochs=100000",
    "log_every=1",
]
#: Generous waits for a process that imports torch on a busy 2-core machine.
WAIT_MS = 90_000


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def session_processes(session_leader: int) -> list[int]:
    """Live processes in the process group a command started (its pid is the group id; Linux /proc)."""
    members = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[2]) == session_leader and fields[0] != "Z":
            members.append(int(stat.split("/")[2]))
    return members


def loss_steps(panel) -> list[float]:
    xs, _ = panel.plots.curve("loss").getData()
    return [] if xs is None else list(xs)


@pytest.fixture
def panel(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    yield panel
    panel.shutdown()


def start_endless_run(panel, data_dir, run_dir):
    panel.data_dir_edit.setText(str(data_dir))
    panel.run_dir_edit.setText(str(run_dir))
    panel.preset_combo.setCurrentText("cpu-small")
    panel.overrides_edit.setText(" ".join(ENDLESS_TINY_RUN))
    panel.start_button.click()
    assert panel.is_running(), panel.status_label.text()


def test_history_collects_curves_and_estimates_the_time_left():
    history = RunHistory(steps_per_epoch=10, epochs=5)
    history.add([
        {"kind": "event", "event": "started", "step": 0, "epoch": 0},
        {"kind": "train", "step": 5, "epoch": 0, "loss": 0.9, "f1": 0.2, "s": 0.6, "elapsed": 10.0},
        {"kind": "train", "step": 10, "epoch": 0, "loss": 0.7, "f1": 0.4, "s": 0.6, "elapsed": 20.0},
        {"kind": "val", "step": 10, "epoch": 1, "val_iou": 0.3, "f1": 0.4, "s": 0.5, "elapsed": 24.0},
    ])
    assert history.curves["loss"] == ([5.0, 10.0], [0.9, 0.7])
    assert history.curves["val_iou"] == ([10.0], [0.3])
    assert history.eta_seconds() == pytest.approx(40 * 2.4)  # 40 steps left at 2.4 s per step so far
    assert history.summary() == "step 10 of 50, epoch 2 of 5, about 2 min left"
    history.add([{"kind": "event", "event": "stopped", "step": 12, "epoch": 1, "elapsed": 30.0}])
    assert history.summary() == "step 12 of 50, epoch 2 of 5: stopped"
    assert [format_duration(s) for s in (4.2, 125, 3 * 3600 + 5 * 60)] == ["4 s", "2 min", "3 h 05 min"]


def test_history_keeps_one_point_per_step_when_a_resume_goes_back():
    history = RunHistory(steps_per_epoch=10, epochs=5)
    history.add([{"kind": "train", "step": step, "epoch": 0, "loss": 1.0} for step in (1, 2, 3)])
    # Resumed from the checkpoint of step 1 (or the cut metrics file read again from its start).
    history.add([{"kind": "train", "step": step, "epoch": 0, "loss": 0.5} for step in (2, 3, 4)])
    assert history.curves["loss"] == ([1.0, 2.0, 3.0, 4.0], [1.0, 0.5, 0.5, 0.5])
    history.add([{"kind": "train", "step": step, "epoch": 0, "loss": 0.25} for step in (1, 2)])
    assert history.curves["loss"] == ([1.0, 2.0], [0.25, 0.25])


def test_a_run_is_plotted_live_stopped_gracefully_and_its_best_model_loaded(qtbot, panel, tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("SVR_DESKTOP_MODEL", str(tmp_path / "no_shipped_model.safetensors"))  # nothing to compare with
    run_dir = tmp_path / "run"
    start_endless_run(panel, tiny_dataset, run_dir)
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    pid = panel.runner.pid
    panel.build_dataset()  # one command at a time
    assert "still running" in panel.status_label.text() and panel.runner.pid == pid

    qtbot.waitUntil(lambda: len(loss_steps(panel)) >= 2, timeout=WAIT_MS)
    xs, ys = panel.plots.curve("loss").getData()
    assert list(xs[:2]) == [1.0, 2.0] and all(math.isfinite(y) and y > 0 for y in ys)
    assert "of 100,000" in panel.eta_label.text() and "left" in panel.eta_label.text()
    # Progress reports update one line; the log keeps only the command and its messages.
    qtbot.waitUntil(lambda: panel.step_label.text().startswith("epoch "), timeout=WAIT_MS)
    assert "step 1 of 1" in panel.step_label.text()
    log = panel.log.toPlainText()
    assert log.startswith("$ svr-desktop train") and not any(line.startswith(("epoch", "{")) for line in log.splitlines())

    with qtbot.waitSignal(panel.runner.ended, timeout=WAIT_MS) as ended:
        panel.stop_button.click()
    assert ended.args[0].stop_requested and ended.args[0].error is None
    assert panel.runner.process.state() == QProcess.ProcessState.NotRunning
    assert not process_exists(pid)
    # Stopped the graceful way: a checkpoint to resume from and the trainer's own 'stopped' line.
    assert (run_dir / "last.safetensors").exists()
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "stopped"
    assert "stopped" in panel.eta_label.text() and "stopped" in panel.status_label.text()

    assert panel.load_best_button.isEnabled() and panel.start_button.isEnabled()
    with qtbot.waitSignal(panel.checkpoint_chosen, timeout=1000) as chosen:
        panel.load_best_button.click()
    assert chosen.args == [str(run_dir / "best.safetensors")]


def test_confirm_close_cancel_keeps_the_run_yes_stops_it_and_resume_continues(qtbot, panel, tiny_dataset, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    start_endless_run(panel, tiny_dataset, run_dir)
    qtbot.waitUntil(lambda: len(loss_steps(panel)) >= 1, timeout=WAIT_MS)
    pid = panel.runner.pid

    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Cancel)
    assert panel.confirm_close() is False
    assert panel.is_running() and process_exists(pid)

    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes)
    assert panel.confirm_close() is True
    assert panel.runner.process.state() == QProcess.ProcessState.NotRunning
    assert not process_exists(pid)
    assert (run_dir / "last.safetensors").exists()
    stopped_at = loss_steps(panel)[-1]

    panel.resume_button.click()
    assert panel.is_running(), panel.status_label.text()
    qtbot.waitUntil(lambda: max(loss_steps(panel), default=0) > stopped_at, timeout=WAIT_MS)
    steps = loss_steps(panel)
    assert steps == sorted(steps) and steps[0] == 1.0  # the old curve continues, not restarts
    resumed_pid = panel.runner.pid
    panel.shutdown()
    assert not panel.is_running() and not process_exists(resumed_pid)
    assert panel.confirm_close() is True  # nothing runs: no question asked


def test_bad_input_is_refused_with_its_cause_and_starts_nothing(panel, tiny_dataset, tmp_path):
    panel.run_dir_edit.setText(str(tmp_path / "run"))
    panel.data_dir_edit.setText(str(tmp_path))  # no manifest.json there
    panel.start_button.click()
    assert "manifest.json" in panel.status_label.text() and panel.runner.pid is None

    panel.data_dir_edit.setText(str(tiny_dataset))
    panel.overrides_edit.setText("optim.no_such_key=1")
    panel.start_button.click()
    assert "no_such_key" in panel.status_label.text() and panel.runner.pid is None

    panel.overrides_edit.setText("")  # cpu-small's batch of 16 is more than the tiny set's 4 training views
    panel.start_button.click()
    message = panel.status_label.text()
    assert "4 views, fewer than one batch of 16" in message and panel.runner.pid is None
    assert "data.batch_size=4" in message and "more shapes" in message  # how to fix it

    panel.resume_button.click()
    assert "nothing to resume" in panel.status_label.text() and panel.runner.pid is None

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.safetensors").write_bytes(b"")
    panel.start_button.click()
    assert "Resume" in panel.status_label.text() and panel.runner.pid is None
    assert not panel.is_running()


def test_a_trained_model_is_fine_tuned_from_the_panel(qtbot, panel, tiny_dataset, tiny_run, tmp_path):
    """'Start from' runs train --init-from with the checkpoint's own config; a bad choice starts nothing."""
    start = tiny_run[0] / "last.safetensors"
    panel.data_dir_edit.setText(str(tiny_dataset))
    panel.run_dir_edit.setText(str(tmp_path / "missing-start"))
    panel.init_from_edit.setText(str(tmp_path / "nowhere.safetensors"))
    panel.start_button.click()
    assert "no such checkpoint file" in panel.status_label.text() and panel.runner.pid is None
    panel.init_from_edit.setText(str(start))
    panel.overrides_edit.setText("model.width=8")
    panel.start_button.click()
    assert "keeps the checkpoint's network" in panel.status_label.text() and panel.runner.pid is None

    run_dir = tmp_path / "tuned"
    panel.run_dir_edit.setText(str(run_dir))
    panel.preset_combo.setCurrentText("paper")  # not used: the network is the checkpoint's
    panel.overrides_edit.setText("optim.epochs=100000 log_every=1 optim.lr=1e-4")
    panel.start_button.click()
    assert panel.is_running(), panel.status_label.text()
    command = panel.log.toPlainText().splitlines()[0]
    assert f"--init-from {start}" in command and "--config" not in command
    qtbot.waitUntil(lambda: len(loss_steps(panel)) >= 1, timeout=WAIT_MS)
    with qtbot.waitSignal(panel.runner.ended, timeout=WAIT_MS):
        panel.stop_button.click()
    started = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[0])
    assert started["event"] == "started" and started["init_from"] == str(start)


def test_a_failing_command_shows_its_error(qtbot, panel, tiny_dataset, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(tiny_dataset / "manifest.json", broken / "manifest.json")  # the shards are missing
    panel.data_dir_edit.setText(str(broken))
    panel.run_dir_edit.setText(str(tmp_path / "run"))
    panel.overrides_edit.setText(" ".join(ENDLESS_TINY_RUN))
    with qtbot.waitSignal(panel.runner.ended, timeout=WAIT_MS) as ended:
        panel.start_button.click()
    assert ended.args[0].exit_code == 2 and not ended.args[0].stop_requested
    message = panel.status_label.text()
    assert message.startswith("Training failed") and "exit code 2" in message and "shard" in message
    assert "shard" in panel.log.toPlainText()  # the error is in the log too, not filtered away
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()


def test_a_data_set_is_built_with_progress(qtbot, panel, tmp_path):
    folder = tmp_path / "new_set"
    panel.data_dir_edit.setText(str(folder))
    panel.build_shapes.setValue(2)
    panel.build_views.setValue(1)
    panel.build_image_size.setValue(64)
    with qtbot.waitSignal(panel.runner.ended, timeout=WAIT_MS) as ended:
        panel.build_button.click()
        assert panel.is_running() and not panel.start_button.isEnabled()
    assert ended.args[0].error is None, panel.log.toPlainText()
    assert json.loads((folder / "manifest.json").read_text())["shapes"] == 2
    assert panel.build_progress.maximum() == 2 and panel.build_progress.value() == 2
    assert '"stage"' not in panel.log.toPlainText()  # progress lines drive the bar, not the log
    assert "2 shapes x 1 views" in panel.log.toPlainText()
    assert "finished" in panel.status_label.text()


def test_stopping_a_build_ends_its_worker_processes_too(qtbot, panel, tmp_path):
    panel.data_dir_edit.setText(str(tmp_path / "big_set"))
    panel.build_shapes.setValue(500)
    panel.build_image_size.setValue(64)
    panel.build_button.click()
    pid = panel.runner.pid
    qtbot.waitUntil(lambda: len(session_processes(pid)) >= 2, timeout=WAIT_MS)  # the build and its workers
    with qtbot.waitSignal(panel.runner.ended, timeout=WAIT_MS) as ended:
        panel.stop_button.click()
    assert ended.args[0].stop_requested and ended.args[0].error is None
    assert session_processes(pid) == []
    assert "stopped" in panel.status_label.text()


def test_a_command_that_cannot_start_is_reported(qtbot, panel, tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.executable", str(tmp_path / "no-python-here"))
    panel.data_dir_edit.setText(str(tiny_dataset))
    panel.run_dir_edit.setText(str(tmp_path / "run"))
    panel.overrides_edit.setText(" ".join(ENDLESS_TINY_RUN))
    panel.start_button.click()
    assert "could not start" in panel.status_label.text() and "no-python-here" in panel.status_label.text()
    assert not panel.is_running() and panel.start_button.isEnabled()


#: A model small enough to train a few steps in seconds.
SMALL_MODEL = [
    "model.image_size=64", "model.width=8", "model.fpn_channels=16", "model.global_features=32",
    "model.decoder_hidden=[32,32,32,32]", "data.points_per_view=256",
]


def test_a_run_shorter_than_log_every_plots_loss_f1_and_s_from_its_first_step(qtbot, tiny_dataset, tmp_path):
    # 4 training views at batch 1: 4 steps, fewer than one logging interval of 10.
    config = load_config("cpu-small", [*SMALL_MODEL, "data.batch_size=1", "optim.epochs=1", "log_every=10"])
    run_to_completion(train(tiny_dataset, tmp_path / "run", config))
    history = RunHistory(steps_per_epoch=4, epochs=1)
    history.add(MetricsFollower(tmp_path / "run" / "metrics.jsonl").read_new())
    plots = LivePlots()
    qtbot.addWidget(plots)
    plots.show_history(history)
    for name in ("loss", "f1", "s"):
        xs, ys = plots.curve(name).getData()
        assert list(xs) == [1.0, 4.0], name  # the first step and the last
        assert all(math.isfinite(y) for y in ys), name


def write_checkpoint(path, best_val_iou):
    config = load_config("cpu-small", SMALL_MODEL)
    save_checkpoint(path, get_model(config.model), config, {"step": 1, "epoch": 1, "best_val_iou": best_val_iou})
    return path


def test_load_best_model_warns_when_the_run_is_weaker_than_the_shipped_model(qtbot, panel, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_checkpoint(run_dir / "best.safetensors", 0.21)
    monkeypatch.setenv("SVR_DESKTOP_MODEL", str(write_checkpoint(tmp_path / "shipped.safetensors", 0.29)))
    panel.run_dir_edit.setText(str(run_dir))
    asked = []

    def answer(reply):
        def question(parent, title, text, *args):
            asked.append(text)
            return reply
        return question

    chosen = []
    panel.checkpoint_chosen.connect(chosen.append)
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    panel.load_best_button.click()
    assert chosen == [] and "0.210" in asked[0] and "0.290" in asked[0] and "not loaded" in panel.status_label.text()
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    panel.load_best_button.click()
    assert chosen == [str(run_dir / "best.safetensors")]

    # A run at least as good as the shipped model loads without a question.
    write_checkpoint(run_dir / "best.safetensors", 0.35)
    asked.clear()
    panel.load_best_button.click()
    assert asked == [] and len(chosen) == 2
