"""Choosing an occupancy model's iso-level on validation views.

An occupancy network trained with soft labels (the paper's ``v(d, s)``) need
not put its best surface at probability 0.5.  The shipped models do not: on
held-out views their fields stay around 0.6-0.7 well inside the part and
fall slowly outside it, so the 0.5 level makes meshes too full
(docs/method.md, "The iso-level, calibrated", has the curves).  As
occupancy_networks chooses its threshold on the validation split, this
measures the field's volumetric IoU against the truth at a range of levels
over validation views and picks one.

The IoU is the evaluation's (DESIGN.md 3): uniform points in the padded cube,
seeded per view, inside tested on the true mesh; the field is thresholded
directly, without a mesh, which is what the mesh's IoU follows up to the
grid's resolution and fragment removal.

**The choice.** The lowest level whose mean IoU is within ``tolerance`` of the
best.  The curve falls faster above its peak than below it (an inside that
hovers near 0.65 vanishes once the level passes it), and the peak sits at
different levels for different kinds of parts, so a level just below the
peak loses little where the peak is higher and much less than the peak
level loses where it is lower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geometry.frames import PADDED_HALF
from ..geometry.metrics import iou_of_occupancy, occupancy
from ..geometry.sampling import sample_uniform
from ..inference.reconstructor import Reconstructor
from ..progress import Progress, ProgressGenerator
from .views import EvalView

#: Candidate occupancy levels: 0.30 to 0.80 in steps of 0.025.
OCCUPANCY_LEVELS = tuple(round(0.30 + 0.025 * step, 3) for step in range(21))

#: Uniform points per view (the evaluation uses 100,000 for one mesh; a mean over many views needs fewer).
CALIBRATION_POINTS = 50_000

#: How much mean IoU the chosen level may give up against the best one (see the module docstring).
DEFAULT_TOLERANCE = 0.005

CALIBRATE = "calibrating the iso-level"


@dataclass(frozen=True)
class IsoLevelCalibration:
    """The mean IoU at every candidate level over ``views`` views, and the level chosen."""

    levels: tuple[float, ...]
    mean_iou: tuple[float, ...]
    iso_level: float
    views: int
    tolerance: float

    @property
    def best_level(self) -> float:
        return self.levels[int(np.argmax(self.mean_iou))]

    def iou_at(self, level: float) -> float:
        return self.mean_iou[self.levels.index(level)]

    def record(self, data: list[str]) -> dict:
        """What a checkpoint stores (``iso_level`` is what inference reads; the rest says how it was chosen)."""
        return {
            "iso_level": self.iso_level,
            "views": self.views,
            "tolerance": self.tolerance,
            "data": data,
            "mean_iou": {f"{level:g}": round(iou, 5) for level, iou in zip(self.levels, self.mean_iou)},
        }


def choose_level(levels: tuple[float, ...], mean_iou: tuple[float, ...], tolerance: float) -> float:
    """The lowest of the (ascending) ``levels`` whose mean IoU is within ``tolerance`` of the best."""
    best = max(mean_iou)
    return next(level for level, iou in zip(levels, mean_iou) if iou >= best - tolerance)


def calibrate_iso_level(
    reconstructor: Reconstructor,
    views: list[EvalView],
    levels: tuple[float, ...] = OCCUPANCY_LEVELS,
    points: int = CALIBRATION_POINTS,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> ProgressGenerator[IsoLevelCalibration]:
    """Mean IoU of the field at each of ``levels`` over ``views`` and the level chosen (occupancy models only)."""
    if reconstructor.output_kind != "occupancy":
        raise ValueError(f"only an occupancy model's iso-level can be calibrated; this model outputs {reconstructor.output_kind}")
    if not views:
        raise ValueError("no views to calibrate on")
    levels = tuple(sorted(levels))
    ious = np.zeros((len(views), len(levels)))
    yield Progress(CALIBRATE, 0, len(views))
    for row, view in enumerate(views):
        samples = sample_uniform(points, np.random.default_rng([seed, row]), PADDED_HALF)
        probability = reconstructor.field(view.image, view.a, view.b)(samples)
        inside = occupancy(view.ground_truth, samples)
        ious[row] = [iou_of_occupancy(probability > level, inside) for level in levels]
        yield Progress(CALIBRATE, row + 1, len(views))
    mean_iou = tuple(float(value) for value in ious.mean(axis=0))
    return IsoLevelCalibration(levels, mean_iou, choose_level(levels, mean_iou, tolerance), len(views), tolerance)
