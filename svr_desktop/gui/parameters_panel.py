"""Reconstruction parameters: projection ``a, b``, grid resolution, iso-level, turned
copies of the photo, device, a known real size, and the checkpoint.

``a`` and ``b`` (DESIGN.md section 1) stretch the reconstruction along x and
y relative to the depth the network infers.  With *Auto from silhouette* on
they follow the photo's silhouette (:func:`~svr_desktop.inference.preprocess.auto_ab`)
and the spin boxes only show them; switched off, they keep their values for
the user to tune, linked (``a = b``) or not.  The panel only collects
values; loading a checkpoint is the window's job.

The *method* picker beside the checkpoint shows the loaded model's method
and offers the methods that have a checkpoint in the models folder
(:func:`~svr_desktop.model.catalog.method_checkpoints`); picking one asks
the window to load that checkpoint, as *Choose…* does.  Methods without a
checkpoint are listed disabled, saying how to train one.

A *known size* belongs to one part: the window clears it when a new photo
comes in (:meth:`ParametersPanel.clear_known_size`) and says so, and it is
not switched on again at the next start; the last value stays in the box as
a suggestion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import trimesh
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..geometry.frames import PADDED_HALF
from ..inference.export import ExportUnits
from ..inference.settings import APPLICATION_RESOLUTIONS as RESOLUTIONS
from ..inference.settings import ReconstructionSettings
from ..inference.turns import DEFAULT_TURNS, MAX_TURNS, TURN_STEP_DEGREES
from ..model.methods import METHODS
from .settings import read_bool, read_float, read_int, read_str

DEFAULT_RESOLUTION = 256
#: a and b of a training render (half-width 0.55): the starting values.
DEFAULT_AB = 1.0 / PADDED_HALF
#: (label, device name for Reconstructor.from_checkpoint).
DEVICES = (("Automatic", "auto"), ("CPU", "cpu"), ("GPU (CUDA)", "cuda"))
#: Bounding-box dimensions a known size can be given for: (label, export dimension).
SIZE_DIMENSIONS = (("longest side", "longest"), ("width (x)", "x"), ("height (y)", "y"), ("depth (z)", "z"))
#: Iso-level ranges (low, high, step, decimals): occupancy probability, or signed distance
#: for SDF models.  Three decimals hold every level `svr-desktop calibrate` chooses (steps of
#: 0.025): a spin box rounds what it is given to its decimals.
THRESHOLD_RANGES = {"occupancy": (0.01, 0.99, 0.05, 3), "sdf": (-0.1, 0.1, 0.005, 3)}
#: Why the threshold is off for a point-cloud model.
NO_THRESHOLD_FOR_POINTS = "This model outputs points directly: there is no field, so no threshold applies"
THRESHOLD_TIP = "Iso-level of the implicit field: lower = fatter part, higher = thinner"
TURNS_TIP = (
    f"Copies of the photo read, turned by +-{TURN_STEP_DEGREES:g} degrees, +-{2 * TURN_STEP_DEGREES:g} degrees, ...: "
    "their predicted depth is averaged, which steadies it; 1 reads the photo alone (a little faster)"
)
#: Why the turned copies are off for a model without a depth head.
NO_TURNS_WITHOUT_DEPTH = "This model predicts no depth layers: it reads the photo alone"
CHECKPOINT_FILTER = "SVR Desktop checkpoints (*.safetensors);;All files (*)"


@dataclass(frozen=True)
class ReconstructionParameters:
    """What :meth:`Reconstructor.reconstruct_photo` needs from the panel.

    ``a``/``b`` are ``None`` when they follow the silhouette; ``settings``
    holds the resolution, threshold and device.
    """

    a: float | None
    b: float | None
    settings: ReconstructionSettings


class ParametersPanel(QGroupBox):
    """Spin boxes, combos and the checkpoint row."""

    checkpoint_requested = Signal(str)  # a file the user chose
    default_checkpoint_requested = Signal()
    device_changed = Signal(str)
    known_size_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Parameters", parent)
        self._threshold_kind: str | None = None  # set by set_threshold_kind below
        self._threshold_default: float | None = None  # the loaded model's own iso-level

        self.a_spin = self._ab_spin("a: projection scale along x (larger = narrower part)")
        self.b_spin = self._ab_spin("b: projection scale along y (larger = shorter part)")
        self.link_button = QToolButton(self)
        self.link_button.setText("Link")
        self.link_button.setCheckable(True)
        self.link_button.setChecked(True)
        self.link_button.setToolTip("Keep a and b equal")
        self.auto_ab_button = QPushButton("Auto from silhouette", self)
        self.auto_ab_button.setCheckable(True)
        self.auto_ab_button.setChecked(True)
        self.auto_ab_button.setToolTip(
            "a and b follow the photo's silhouette (assumes the part's longest side faces the camera); "
            "switch off to tune them"
        )
        self.a_spin.valueChanged.connect(lambda value: self._linked(self.b_spin, value))
        self.b_spin.valueChanged.connect(lambda value: self._linked(self.a_spin, value))
        self.link_button.toggled.connect(self._link_toggled)
        self.auto_ab_button.toggled.connect(self._update_ab_enabled)

        self.resolution_combo = QComboBox(self)
        for resolution in RESOLUTIONS:
            self.resolution_combo.addItem(f"{resolution}³", resolution)
        self.resolution_combo.setToolTip("Effective grid resolution of the surface extraction (higher = finer, slower)")
        self.turns_spin = QSpinBox(self)
        self.turns_spin.setRange(1, MAX_TURNS)
        self.turns_spin.setValue(DEFAULT_TURNS)
        self.turns_spin.setToolTip(TURNS_TIP)
        self.threshold_spin = QDoubleSpinBox(self)
        self.threshold_spin.setToolTip(THRESHOLD_TIP)
        self.device_combo = QComboBox(self)
        for label, name in DEVICES:
            self.device_combo.addItem(label, name)
        if not torch.cuda.is_available():
            gpu = self.device_combo.model().item(self.device_combo.findData("cuda"))
            gpu.setEnabled(False)
            gpu.setToolTip("No CUDA GPU is available on this computer (or this PyTorch build has no CUDA support)")
        self.device_combo.currentIndexChanged.connect(lambda _: self.device_changed.emit(self.device()))

        self.size_check = QCheckBox("Known size:", self)
        self.size_check.setToolTip(
            "A real dimension of this part: the viewer and exports use millimetres (cleared when a new photo is opened)"
        )
        self.size_dimension = QComboBox(self)
        for label, name in SIZE_DIMENSIONS:
            self.size_dimension.addItem(label, name)
        self.size_mm = QDoubleSpinBox(self)
        self.size_mm.setRange(0.01, 100_000.0)
        self.size_mm.setDecimals(2)
        self.size_mm.setSuffix(" mm")
        self.size_mm.setValue(100.0)
        for signal in (self.size_check.toggled, self.size_dimension.currentIndexChanged, self.size_mm.valueChanged):
            signal.connect(self._known_size_edited)

        self.checkpoint_label = QLabel("(none)", self)
        self.checkpoint_label.setWordWrap(True)
        self.checkpoint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.choose_button = QPushButton("Choose…", self)
        self.choose_button.setToolTip("Use another trained model (a .safetensors checkpoint)")
        self.choose_button.clicked.connect(self.ask_checkpoint)
        self.default_button = QPushButton("Default", self)
        self.default_button.setToolTip("Use the model shipped with SVR Desktop")
        self.default_button.clicked.connect(self.default_checkpoint_requested)
        self.method_combo = QComboBox(self)
        for name in METHODS:
            self.method_combo.addItem(name, name)
        self.method_combo.setPlaceholderText("no model")
        self.method_combo.setCurrentIndex(-1)
        self._shown_checkpoint: Path | None = None  # the loaded model's file (show_checkpoint)
        self.method_combo.setToolTip("The loaded model's method; pick another to load its checkpoint")
        self._method_checkpoints: dict[str, Path] = {}
        self.method_combo.activated.connect(self._method_picked)
        self.set_method_checkpoints({})

        self._build_layout()
        self.set_threshold_kind("occupancy", 0.5)
        self.resolution_combo.setCurrentIndex(RESOLUTIONS.index(DEFAULT_RESOLUTION))
        self._update_ab_enabled()
        self._known_size_edited()

    def _ab_spin(self, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(self)
        spin.setRange(0.1, 10.0)
        spin.setDecimals(3)
        spin.setSingleStep(0.05)
        spin.setValue(DEFAULT_AB)
        spin.setToolTip(tip)
        return spin

    def _build_layout(self) -> None:
        ab_row = QHBoxLayout()
        for widget in (QLabel("a"), self.a_spin, QLabel("b"), self.b_spin, self.link_button):
            ab_row.addWidget(widget)
        size_row = QHBoxLayout()
        size_row.addWidget(self.size_check)
        size_row.addWidget(self.size_dimension)
        size_row.addWidget(self.size_mm)
        model_buttons = QHBoxLayout()
        model_buttons.addWidget(self.method_combo)
        model_buttons.addWidget(self.choose_button)
        model_buttons.addWidget(self.default_button)
        model_buttons.addStretch(1)
        form = QFormLayout()
        form.addRow("Projection:", ab_row)
        form.addRow("", self.auto_ab_button)
        form.addRow("Resolution:", self.resolution_combo)
        form.addRow("Threshold:", self.threshold_spin)
        form.addRow("Turned copies:", self.turns_spin)
        form.addRow("Device:", self.device_combo)
        form.addRow(size_row)
        form.addRow("Model:", self.checkpoint_label)
        form.addRow("Method:", model_buttons)
        layout = QVBoxLayout(self)
        layout.addLayout(form)

    # --- a and b -------------------------------------------------------------

    def _linked(self, other: QDoubleSpinBox, value: float) -> None:
        if self.link_button.isChecked() and other.value() != value:
            other.setValue(value)

    def _link_toggled(self, linked: bool) -> None:
        if linked:
            self.b_spin.setValue(self.a_spin.value())

    def _update_ab_enabled(self) -> None:
        manual = not self.auto_ab_button.isChecked()
        for widget in (self.a_spin, self.b_spin, self.link_button):
            widget.setEnabled(manual)

    def follows_silhouette(self) -> bool:
        return self.auto_ab_button.isChecked()

    def show_silhouette_ab(self, a: float, b: float) -> None:
        """The silhouette's a, b: taken when following it, ignored otherwise."""
        if self.follows_silhouette():
            self._set_ab(a, b)

    def set_manual_ab(self, a: float, b: float) -> None:
        """Fix a and b (e.g. a data-set view's own); stops following the silhouette."""
        self.auto_ab_button.setChecked(False)
        self._set_ab(a, b)

    def _set_ab(self, a: float, b: float) -> None:
        self.link_button.setChecked(self.link_button.isChecked() and a == b)
        self.a_spin.setValue(a)
        self.b_spin.setValue(b)

    # --- other values ----------------------------------------------------------

    def parameters(self) -> ReconstructionParameters:
        """The values to reconstruct with (threshold ``None`` for a point-cloud model: it has no field)."""
        auto = self.follows_silhouette()
        return ReconstructionParameters(
            a=None if auto else self.a_spin.value(),
            b=None if auto else self.b_spin.value(),
            settings=ReconstructionSettings(
                resolution=int(self.resolution_combo.currentData()),
                threshold=None if self._threshold_kind == "points" else self.threshold_spin.value(),
                device=self.device(),
                turns=self.turns_spin.value(),
            ),
        )

    def set_resolution(self, resolution: int) -> None:
        if resolution not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {', '.join(map(str, RESOLUTIONS))}, got {resolution}")
        self.resolution_combo.setCurrentIndex(RESOLUTIONS.index(resolution))

    def device(self) -> str:
        return self.device_combo.currentData()

    def set_device(self, name: str) -> None:
        """Show ``name`` as the device choice without announcing a change (no reload)."""
        index = self.device_combo.findData(name)
        if index >= 0:
            self.device_combo.blockSignals(True)
            self.device_combo.setCurrentIndex(index)
            self.device_combo.blockSignals(False)

    def set_threshold_kind(self, kind: str, default: float | None) -> None:
        """Adapt the threshold to a newly loaded model: its field's range (``occupancy`` or
        ``sdf``) and its own iso-level ``default`` (0.5 or 0, or the level it was calibrated
        at).  The value moves to ``default`` unless the user chose another value for a model
        of the same kind: a threshold still at the previous model's level follows the new
        model.  ``points`` (no field, ``default`` None) disables the threshold and says why."""
        points = kind == "points"
        self.threshold_spin.setEnabled(not points)
        if points:
            self.threshold_spin.setToolTip(NO_THRESHOLD_FOR_POINTS)
            self._threshold_kind = kind
            return
        self.threshold_spin.setToolTip(f"{THRESHOLD_TIP} (this model's own level: {default:g})")
        low, high, step, decimals = THRESHOLD_RANGES[kind]
        self.threshold_spin.setDecimals(decimals)
        self.threshold_spin.setRange(low, high)
        self.threshold_spin.setSingleStep(step)
        value = self.threshold_spin.value()
        # Within half a displayed digit: a level with more decimals than shown was rounded when set.
        untouched = self._threshold_default is not None and math.isclose(
            value, self._threshold_default, abs_tol=0.5 * 10**-decimals
        )
        if kind != self._threshold_kind or untouched or not low <= value <= high:
            self.threshold_spin.setValue(default)
        self._threshold_kind, self._threshold_default = kind, default

    def set_turns_available(self, available: bool) -> None:
        """Enable the turned copies for a model that reads them (a depth-guided one); otherwise
        disable them and say why.  The user's count is kept for the next model that reads them."""
        self.turns_spin.setEnabled(available)
        self.turns_spin.setToolTip(TURNS_TIP if available else NO_TURNS_WITHOUT_DEPTH)

    # --- known size ------------------------------------------------------------

    def _known_size_edited(self) -> None:
        enabled = self.size_check.isChecked()
        self.size_dimension.setEnabled(enabled)
        self.size_mm.setEnabled(enabled)
        self.known_size_changed.emit()

    def known_size_units(self) -> ExportUnits:
        """Millimetres from the known size, or normalized units when none is set."""
        if not self.size_check.isChecked():
            return ExportUnits.normalized()
        return ExportUnits.from_dimension(self.size_dimension.currentData(), self.size_mm.value())

    def known_size_text(self) -> str:
        """The known size in words (``longest side 120 mm``), or ``""`` when none is set."""
        if not self.size_check.isChecked():
            return ""
        return f"{self.size_dimension.currentText()} {self.size_mm.value():g} mm"

    def set_known_size(self, units: ExportUnits) -> None:
        """Take a real size given elsewhere (the export dialog); normalized units leave the panel as it is."""
        if units.kind != "dimension":
            return
        self.size_dimension.setCurrentIndex(max(self.size_dimension.findData(units.dimension), 0))
        self.size_mm.setValue(float(units.value))
        self.size_check.setChecked(True)

    def clear_known_size(self) -> str:
        """Switch the known size off (a new part); returns what it was, ``""`` if none was set."""
        was = self.known_size_text()
        self.size_check.setChecked(False)
        return was

    def mm_per_unit(self, mesh: trimesh.Trimesh) -> float | None:
        """Millimetres per normalized unit for ``mesh``, or ``None`` without a known size
        (or when the mesh is flat along the chosen dimension)."""
        units = self.known_size_units()
        if units.unit == "normalized":
            return None
        try:
            return units.scale_for(mesh)
        except ValueError:
            return None

    # --- checkpoint ------------------------------------------------------------

    def show_checkpoint(self, path: Path | None, note: str = "") -> None:
        """Show the model in use (``None``: none) and an optional note under it."""
        self._shown_checkpoint = path
        text = "(none)" if path is None else path.name
        self.checkpoint_label.setText(text + (f"\n{note}" if note else ""))
        self.checkpoint_label.setToolTip("" if path is None else str(path))

    def set_method_checkpoints(self, checkpoints: dict[str, Path]) -> None:
        """The checkpoint of each method that has one; the others are listed disabled, saying how to get one."""
        self._method_checkpoints = dict(checkpoints)
        model = self.method_combo.model()
        for row in range(self.method_combo.count()):
            name = self.method_combo.itemData(row)
            item = model.item(row)
            path = self._method_checkpoints.get(name)
            item.setEnabled(path is not None)
            item.setToolTip(
                f"{METHODS[name].summary} ({path.name})" if path is not None
                else f"No {name} checkpoint in the models folder: train one with "
                f"`svr-desktop train --method {name}` and save it as models/{name}.safetensors"
            )

    def show_method(self, name: str | None) -> None:
        """Show ``name`` as the loaded model's method (``None``: no model), without asking for a load."""
        self.method_combo.setCurrentIndex(self.method_combo.findData(name) if name is not None else -1)

    def method(self) -> str:
        """The method shown in the picker."""
        return self.method_combo.currentData()

    def _method_picked(self, index: int) -> None:
        """The user picked a method: ask for its checkpoint, unless that is the loaded model already."""
        path = self._method_checkpoints.get(self.method_combo.itemData(index))
        if path is not None and path != self._shown_checkpoint:
            self.checkpoint_requested.emit(str(path))

    def ask_checkpoint(self) -> None:
        """Let the user pick a checkpoint file; emits :attr:`checkpoint_requested`."""
        settings = QSettings()
        folder = read_str(settings, "paths/checkpoint_folder")
        path, _ = QFileDialog.getOpenFileName(self, "Choose a model checkpoint", folder, CHECKPOINT_FILTER)
        if path:
            settings.setValue("paths/checkpoint_folder", str(Path(path).parent))
            self.checkpoint_requested.emit(path)

    # --- settings ------------------------------------------------------------

    def save_settings(self, settings: QSettings) -> None:
        settings.setValue("parameters/a", self.a_spin.value())
        settings.setValue("parameters/b", self.b_spin.value())
        settings.setValue("parameters/link_ab", self.link_button.isChecked())
        settings.setValue("parameters/auto_ab", self.auto_ab_button.isChecked())
        settings.setValue("parameters/resolution", int(self.resolution_combo.currentData()))
        settings.setValue("parameters/threshold", self.threshold_spin.value())
        settings.setValue("parameters/threshold_kind", self._threshold_kind)
        settings.setValue("parameters/threshold_default", self._threshold_default)
        settings.setValue("parameters/turns", self.turns_spin.value())
        settings.setValue("parameters/device", self.device())
        settings.setValue("parameters/known_size_dimension", self.size_dimension.currentData())
        settings.setValue("parameters/known_size_mm", self.size_mm.value())

    def restore_settings(self, settings: QSettings) -> None:
        self.auto_ab_button.setChecked(read_bool(settings, "parameters/auto_ab", True))
        self.link_button.setChecked(False)
        self.a_spin.setValue(read_float(settings, "parameters/a", DEFAULT_AB))
        self.b_spin.setValue(read_float(settings, "parameters/b", DEFAULT_AB))
        self.link_button.setChecked(read_bool(settings, "parameters/link_ab", True))
        resolution = read_int(settings, "parameters/resolution", DEFAULT_RESOLUTION)
        self.set_resolution(resolution if resolution in RESOLUTIONS else DEFAULT_RESOLUTION)
        kind = read_str(settings, "parameters/threshold_kind", "occupancy")
        if kind in THRESHOLD_RANGES:
            low, high, _, _ = THRESHOLD_RANGES[kind]
            self._threshold_kind = kind
            self.threshold_spin.setRange(low, high)
            self.threshold_spin.setValue(read_float(settings, "parameters/threshold", self.threshold_spin.value()))
            # The level of the model it was saved with: a value still at it follows the next model loaded.
            self._threshold_default = read_float(settings, "parameters/threshold_default", self._threshold_default)
        turns = read_int(settings, "parameters/turns", DEFAULT_TURNS)
        self.turns_spin.setValue(turns if 1 <= turns <= MAX_TURNS else DEFAULT_TURNS)
        device = self.device_combo.findData(read_str(settings, "parameters/device", "auto"))
        if device >= 0 and self.device_combo.model().item(device).isEnabled():
            self.device_combo.setCurrentIndex(device)
        dimension = self.size_dimension.findData(read_str(settings, "parameters/known_size_dimension", "longest"))
        self.size_dimension.setCurrentIndex(max(dimension, 0))
        self.size_mm.setValue(read_float(settings, "parameters/known_size_mm", 100.0))
