"""The training panel: build a data set, train or fine-tune a model, follow the run live, load its best model.

Training and data-set builds run as ``svr-desktop`` commands in a child
process (:mod:`.process_runner`), exactly as on the command line, so a run
started here can be resumed from a terminal and the other way round.  The
panel follows ``RUN_DIR/metrics.jsonl`` with a timer and plots loss, F1, s
and validation IoU as the lines arrive.  Both commands report their progress
as JSON lines (``--json-progress``): a build's drive its progress bar, a
run's the line under the run's bar (the latest step only), so the log keeps
what a person should read: the command, its messages and its errors.
Closing the application while a command runs asks first
(:meth:`TrainingPanel.confirm_close`) and never leaves a process behind
(:meth:`TrainingPanel.shutdown`).  "Load best model" warns before loading a
run whose best validation IoU is below the shipped model's.  "Start from"
fine-tunes a trained checkpoint (``train --init-from``) instead of starting
a new network from a config.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..data.dataset_views import dataset_contents
from ..paths import default_model_path
from ..training.checkpoint import CheckpointError, read_checkpoint, recorded_best_val_iou
from ..training.config import TrainConfig, fine_tune_config, load_config, preset_names
from ..training.metrics_log import MetricsFollower
from ..training.trainer import BEST, LAST, steps_per_epoch
from .live_plots import LivePlots
from .process_runner import CommandEnd, CommandRunner
from .run_history import RunHistory
from .status_label import StatusLabel

#: How often the metrics file is read while a run goes on.
POLL_MS = 500
#: Lines kept in the log view.
LOG_LINES = 2000


class TrainingPanel(QDockWidget):
    """Data set, preset and run folder in; a live view of the run and its best checkpoint out."""

    checkpoint_chosen = Signal(str)  # a finished or stopped run's best checkpoint

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Training", parent)
        self.setObjectName("TrainingPanel")
        self._runner = CommandRunner(self)
        self._runner.output.connect(self._on_output)
        self._runner.ended.connect(self._on_ended)
        self._job: str | None = None  # "build" or "train" while a command runs
        self._history: RunHistory | None = None
        self._follower: MetricsFollower | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._read_metrics)
        self._build_ui()
        self._restore_settings()
        self._update_buttons()

    # ------------------------------------------------------------ layout

    def _build_ui(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)

        data_box = QGroupBox("Data set")
        data_form = QFormLayout(data_box)
        self.data_dir_edit = QLineEdit()
        self.data_dir_edit.setPlaceholderText("folder made by 'svr-desktop dataset build'")
        data_form.addRow("Folder", self._with_button(self.data_dir_edit, "Browse…", self._choose_data_dir))
        self.build_shapes = self._spin(1, 100_000, 100)
        self.build_views = self._spin(1, 64, 4)
        self.build_image_size = self._spin(32, 1024, 224)
        self.build_button = QPushButton("Build data set")
        self.build_button.setToolTip("Generate parts, render views and label points into the folder above")
        self.build_button.clicked.connect(self.build_dataset)
        build_row = QHBoxLayout()
        for label, widget in (("parts", self.build_shapes), ("views", self.build_views), ("px", self.build_image_size)):
            build_row.addWidget(widget)
            build_row.addWidget(QLabel(label))
        build_row.addWidget(self.build_button)
        data_form.addRow("New", build_row)
        self.build_progress = QProgressBar()
        self.build_progress.setFormat("%v / %m shapes")
        data_form.addRow("", self.build_progress)
        layout.addWidget(data_box)

        run_box = QGroupBox("Run")
        run_form = QFormLayout(run_box)
        self.preset_combo = QComboBox()
        self.preset_combo.addItems(preset_names())
        self.preset_combo.setToolTip("A preset, or a YAML config file")
        run_form.addRow("Config", self._with_button(self.preset_combo, "YAML…", self._choose_yaml))
        self.overrides_edit = QLineEdit()
        self.overrides_edit.setPlaceholderText("optional overrides, e.g. optim.epochs=5 data.batch_size=8")
        run_form.addRow("Overrides", self.overrides_edit)
        self.init_from_edit = QLineEdit()
        self.init_from_edit.setPlaceholderText("optional: a trained model to fine-tune (its own config; overrides apply)")
        self.init_from_edit.setToolTip(
            "Start from this checkpoint's weights with a fresh optimizer, e.g. the shipped model on your own parts. "
            "The config above is then not used: the network stays the checkpoint's."
        )
        run_form.addRow("Start from", self._with_button(self.init_from_edit, "Browse…", self._choose_init_from))
        self.run_dir_edit = QLineEdit()
        self.run_dir_edit.setPlaceholderText("folder for metrics and checkpoints")
        self.run_dir_edit.textChanged.connect(self._update_buttons)
        run_form.addRow("Output", self._with_button(self.run_dir_edit, "Browse…", self._choose_run_dir))
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.resume_button = QPushButton("Resume")
        self.load_best_button = QPushButton("Load best model")
        self.start_button.clicked.connect(self.start_training)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(self.resume_training)
        self.load_best_button.clicked.connect(self._load_best)
        for button in (self.start_button, self.stop_button, self.resume_button, self.load_best_button):
            buttons.addWidget(button)
        run_form.addRow(buttons)
        self.run_progress = QProgressBar()
        self.run_progress.setFormat("%p%")
        self.step_label = QLabel("")
        self.step_label.setToolTip("The running command's latest progress report")
        self.eta_label = QLabel("")
        run_form.addRow(self.run_progress)
        run_form.addRow(self.step_label)
        run_form.addRow(self.eta_label)
        layout.addWidget(run_box)

        self.status_label = StatusLabel("")
        layout.addWidget(self.status_label)
        self.plots = LivePlots()
        layout.addWidget(self.plots, stretch=2)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.log, stretch=1)
        self.setWidget(body)

    @staticmethod
    def _spin(lo: int, hi: int, value: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(lo, hi)
        spin.setValue(value)
        return spin

    @staticmethod
    def _with_button(widget: QWidget, text: str, slot) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(widget, stretch=1)
        button = QPushButton(text)
        button.clicked.connect(slot)
        row.addWidget(button)
        return row

    # ------------------------------------------------------------ public API

    def is_running(self) -> bool:
        """True while training or a data-set build runs."""
        return self._runner.is_running()

    def confirm_close(self) -> bool:
        """Ask before closing over a running command; Yes stops it (and waits), Cancel keeps it."""
        if not self.is_running():
            return True
        what = "Training" if self._job == "train" else "A data-set build"
        answer = QMessageBox.question(
            self,
            "Stop and close?",
            f"{what} is still running. Stop it and close?\n\n"
            "Training writes a checkpoint before it stops; Resume continues it later.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.shutdown()
        return True

    def shutdown(self) -> None:
        """Stop any running command and wait until it and everything it started are gone."""
        self._runner.stop_and_wait()
        self._poll.stop()

    @property
    def runner(self) -> CommandRunner:
        """The child-process runner: its pid and process state, for diagnostics and tests."""
        return self._runner

    # ------------------------------------------------------------ actions

    def build_dataset(self) -> None:
        """Build (or resume building) a data set of generated parts into the data-set folder."""
        if self._refuse_while_running():
            return
        folder = self.data_dir_edit.text().strip()
        if not folder:
            self.status_label.show_error("Choose a folder for the new data set first.")
            return
        self.build_progress.setRange(0, self.build_shapes.value())
        self.build_progress.setValue(0)
        arguments = [
            "dataset", "build", "--out", folder, "--shapes", str(self.build_shapes.value()),
            "--views", str(self.build_views.value()), "--image-size", str(self.build_image_size.value()),
            "--json-progress",
        ]
        self._save_settings()
        self._launch("build", arguments, f"Building a data set in {folder}…")

    def start_training(self) -> None:
        self._start(resume=False)

    def resume_training(self) -> None:
        self._start(resume=True)

    def stop(self) -> None:
        """Ask the running command to stop; training writes a checkpoint first."""
        if self.is_running():
            self._runner.stop()
            self.status_label.show_status("Stopping… (training finishes its step and writes a checkpoint)")
            self.stop_button.setEnabled(False)

    def _start(self, resume: bool) -> None:
        if self._refuse_while_running():
            return
        try:
            arguments, config, steps_per_epoch = self._training_request(resume)
        except ValueError as exc:
            self.status_label.show_error(str(exc))
            return
        run_dir = Path(self.run_dir_edit.text().strip())
        self._history = RunHistory(steps_per_epoch, config.optim.epochs)
        self._follower = MetricsFollower(run_dir / "metrics.jsonl")
        self.plots.clear()
        self.run_progress.setRange(0, self._history.total_steps)
        self.run_progress.setValue(0)
        self.eta_label.setText("")
        self._save_settings()
        self._launch("train", arguments, f"{'Resuming' if resume else 'Training'} in {run_dir}…")
        if self.is_running():
            self._poll.start()

    def _training_request(self, resume: bool) -> tuple[list[str], TrainConfig, int]:
        """Command-line arguments, resolved config and steps per epoch; ``ValueError`` says what is wrong."""
        data_text, run_text = self.data_dir_edit.text().strip(), self.run_dir_edit.text().strip()
        if not data_text:
            raise ValueError("Choose a data-set folder first (or build one).")
        if not run_text:
            raise ValueError("Choose an output folder for the run.")
        contents = dataset_contents(data_text)
        run_dir = Path(run_text)
        arguments = ["train", "--data", data_text, "--out", run_text, "--json-progress"]
        if resume:
            if not (run_dir / LAST).exists():
                raise ValueError(f"{run_dir}: nothing to resume (no {LAST}); press Start for a new run.")
            config = load_config(run_dir / "config.yaml")
            arguments.append("--resume")
        else:
            if (run_dir / LAST).exists():
                raise ValueError(f"{run_dir} already holds a run: press Resume to continue it or choose another folder.")
            overrides = shlex.split(self.overrides_edit.text())
            start_from = self.init_from_edit.text().strip()
            if start_from:
                config = fine_tune_config(read_checkpoint(start_from).config, overrides)
                arguments += ["--init-from", start_from]
            else:
                source = self.preset_combo.currentText()
                config = load_config(source, overrides)
                arguments += ["--config", source]
            for override in overrides:
                arguments += ["--set", override]
        train_views = len(contents.splits["train"]) * contents.views
        return arguments, config, steps_per_epoch(train_views, config.data.batch_size)

    def _launch(self, job: str, arguments: list[str], status: str) -> None:
        self._job = job
        self.step_label.setText("")
        self.log.appendPlainText("$ svr-desktop " + shlex.join(arguments))
        self.status_label.show_status(status)
        self._runner.start(arguments)
        self._update_buttons()

    def _load_best(self) -> None:
        best = Path(self.run_dir_edit.text().strip()) / BEST
        if not best.exists():
            self.status_label.show_error(f"{best}: no best checkpoint yet (it is written after the first epoch)")
            return
        warning = self._weaker_than_shipped(best)
        if warning:
            answer = QMessageBox.question(
                self, "Load a weaker model?", warning + "\n\nLoad it anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                self.status_label.show_status("The run's model was not loaded; the main window keeps its model.")
                return
        self.checkpoint_chosen.emit(str(best))

    @staticmethod
    def _weaker_than_shipped(best: Path) -> str:
        """Why the run's best model is worse than the shipped one, or ``""`` when it is not (or either is unknown).

        Both figures are the best validation IoU their runs recorded, each on
        its own data set's validation views: different data sets score
        differently, so this is a warning for the user to weigh, not a refusal.
        """
        shipped = default_model_path()
        try:
            run_iou = recorded_best_val_iou(best)
            shipped_iou = recorded_best_val_iou(shipped) if shipped.exists() else None
        except CheckpointError:
            return ""  # loading reports an unreadable run checkpoint itself; a broken shipped one says nothing here
        if run_iou is None or shipped_iou is None or run_iou >= shipped_iou:
            return ""
        return (
            f"This run's best validation IoU is {run_iou:.3f}, below the shipped model's {shipped_iou:.3f} "
            f"({shipped.name}); each was measured on its own data set's validation views."
        )

    # ------------------------------------------------------------ process events

    def _on_output(self, line: str) -> None:
        """Progress lines drive the build's bar or the run's step line; every other line goes to the log."""
        if line.startswith("{"):
            try:
                event = json.loads(line)
                stage, done, total = str(event["stage"]), int(event["done"]), int(event["total"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                pass  # not a progress line after all: show it
            else:
                if self._job == "build":
                    self.build_progress.setRange(0, total)
                    self.build_progress.setValue(done)
                else:
                    self.step_label.setText(f"{stage}: step {done:,} of {total:,}")
                return
        self.log.appendPlainText(line)

    def _on_ended(self, end: CommandEnd) -> None:
        job, self._job = self._job, None
        self._poll.stop()
        if job == "train":
            self._read_metrics()
        what = "Training" if job == "train" else "Data-set build"
        if end.error is not None:
            self.status_label.show_error(f"{what} failed: {end.error}")
        elif end.stop_requested:
            self.status_label.show_status(f"{what} stopped." + (" Resume continues it." if job == "train" else " Build again to resume it."))
        else:
            self.status_label.show_status(f"{what} finished.")
        self._update_buttons()

    def _read_metrics(self) -> None:
        if self._follower is None or self._history is None:
            return
        records = self._follower.read_new()
        if not records:
            return
        self._history.add(records)
        self.plots.show_history(self._history)
        self.run_progress.setValue(min(self._history.step, self._history.total_steps))
        self.eta_label.setText(self._history.summary())

    # ------------------------------------------------------------ helpers

    def _refuse_while_running(self) -> bool:
        """One command at a time: say so instead of starting a second one."""
        if self.is_running():
            self.status_label.show_error("A command is still running; stop it first.")
        return self.is_running()

    def _update_buttons(self) -> None:
        running = self.is_running()
        run_text = self.run_dir_edit.text().strip()
        has_best = bool(run_text) and (Path(run_text) / BEST).exists()
        for button in (self.start_button, self.resume_button, self.build_button):
            button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.load_best_button.setEnabled(not running and has_best)

    def _choose_data_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data-set folder", self.data_dir_edit.text())
        if folder:
            self.data_dir_edit.setText(folder)
            self._save_settings()

    def _choose_init_from(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model to fine-tune", self.init_from_edit.text(), "Checkpoints (*.safetensors)")
        if path:
            self.init_from_edit.setText(path)
            self._save_settings()

    def _choose_run_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Run folder", self.run_dir_edit.text())
        if folder:
            self.run_dir_edit.setText(folder)
            self._save_settings()

    def _choose_yaml(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Training config", self.preset_combo.currentText(), "YAML files (*.yaml *.yml)")
        if path:
            self._select_config(path)
            self._save_settings()

    def _select_config(self, source: str) -> None:
        """Select a preset name or a YAML path, adding the path to the list if new."""
        if self.preset_combo.findText(source) < 0:
            self.preset_combo.addItem(source)
        self.preset_combo.setCurrentText(source)

    def _save_settings(self) -> None:
        settings = QSettings()
        settings.setValue("training/data_dir", self.data_dir_edit.text().strip())
        settings.setValue("training/run_dir", self.run_dir_edit.text().strip())
        settings.setValue("training/config", self.preset_combo.currentText())
        settings.setValue("training/overrides", self.overrides_edit.text())
        settings.setValue("training/init_from", self.init_from_edit.text().strip())
        settings.setValue("training/build", [self.build_shapes.value(), self.build_views.value(), self.build_image_size.value()])

    def _restore_settings(self) -> None:
        settings = QSettings()
        self.data_dir_edit.setText(str(settings.value("training/data_dir", "")))
        self.run_dir_edit.setText(str(settings.value("training/run_dir", "")))
        self.overrides_edit.setText(str(settings.value("training/overrides", "")))
        self.init_from_edit.setText(str(settings.value("training/init_from", "")))
        source = str(settings.value("training/config", ""))
        if source and (source in preset_names() or Path(source).is_file()):
            self._select_config(source)
        build = settings.value("training/build")
        if isinstance(build, list) and len(build) == 3:
            for spin, value in zip((self.build_shapes, self.build_views, self.build_image_size), build):
                spin.setValue(int(value))
