"""One view through the full pipeline: image -> reconstruct -> mesh -> metrics.

The image goes through :meth:`Reconstructor.reconstruct_input`, the same
code the GUI and the ``reconstruct`` command run after their photo
preparation.  Evaluation views are renders already framed like training
inputs (stored data-set views, or meshes rendered by the data-set renderer),
with their true ``a, b``; preparing them as photos would re-crop them and
estimate ``a, b`` from the silhouette, which measures the preprocessing as
much as the network.  So the evaluation enters at ``reconstruct_input``.

Metrics are :func:`~svr_desktop.geometry.metrics.compare_meshes` against
the ground truth in the view frame, from a generator seeded by
``(seed, row)`` so that a report's every number can be recomputed.

**Empty predictions** (the field has no inside at the threshold) score IoU,
F-score and normal consistency 0 as ``compare_meshes`` gives them, and their
distances (Chamfer-L1 and its halves, ECD, EMD) with a documented fallback
instead of infinity: the prediction is taken to be the single point at the
centre of the view frame (the origin, the centre of the normalized shape).
So accuracy is the distance from the origin to the nearest ground-truth
sample and completeness the mean distance of the ground-truth samples to
the origin, with the same sample counts as the real metric.  That keeps
means finite and still penalizes a failure by about half the shape's size,
and reports count empty predictions separately.

**Point clouds** (a ``points`` checkpoint) are scored by
:func:`~svr_desktop.geometry.metrics.compare_points`: Chamfer-L1, F-score
and exact EMD on the predicted points; IoU, normal consistency and ECD need
a surface and are NaN in the row, which the report writes as ``n/a``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import trimesh

from ..geometry.edges import edge_points
from ..geometry.metrics import MeshComparison, MetricSettings, compare_meshes, compare_points
from ..geometry.sampling import sample_surface
from ..inference.reconstructor import Reconstructor
from ..inference.settings import ReconstructionSettings
from ..inference.turns import DEFAULT_TURNS
from ..progress import Progress, ProgressGenerator, run_to_completion
from .views import EvalView

#: What an empty prediction is scored as (see the module docstring).
EMPTY_FALLBACK = (
    "an empty prediction scores IoU, F-score and normal consistency 0; its distances treat it "
    "as the single point at the view-frame origin (the centre of the normalized shape)"
)


@dataclass(frozen=True)
class EvalRow:
    """The scores of one view (distances in normalized units) and what the reconstruction took."""

    row: int
    shape: str
    view: int
    category: str
    family: str
    iou: float
    chamfer_l1: float
    accuracy: float
    completeness: float
    edge_chamfer: float  # NaN when a non-empty mesh has no edge points
    fscore: float
    precision: float
    recall: float
    normal_consistency: float
    emd: float
    pred_edge_points: int
    gt_edge_points: int
    pred_empty: bool
    faces: int
    watertight: bool
    reconstruct_seconds: float
    metric_seconds: float
    prediction: str = "mesh"  # or "points": IoU, NC and ECD are then not applicable (NaN, "n/a" in reports)

    def as_dict(self) -> dict:
        return asdict(self)


def metric_rng(seed: int, row: int) -> np.random.Generator:
    """The generator that drives the metric sampling of report row ``row``."""
    return np.random.default_rng([seed, row])


def _distance_to_origin(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points, axis=1)


def score_empty_prediction(
    comparison: MeshComparison, ground_truth: trimesh.Trimesh, rng: np.random.Generator
) -> MeshComparison:
    """Replace the infinite distances of an empty prediction by the origin-point fallback."""
    settings = comparison.settings
    surface = _distance_to_origin(sample_surface(ground_truth, settings.surface_points, rng)[0])
    edges = _distance_to_origin(
        edge_points(
            ground_truth, rng, settings.edge_surface_samples, settings.edge_eps, settings.edge_threshold, settings.edge_points
        )[0]
    )
    emd_samples = _distance_to_origin(sample_surface(ground_truth, settings.emd_points, rng)[0])
    accuracy, completeness = float(surface.min()), float(surface.mean())
    edge_chamfer = 0.5 * (float(edges.min()) + float(edges.mean())) if len(edges) else np.nan
    return replace(
        comparison,
        chamfer_l1=0.5 * (accuracy + completeness),
        accuracy=accuracy,
        completeness=completeness,
        edge_chamfer=edge_chamfer,
        # A point mass at the origin is matched to every sample: EMD is their mean distance.
        emd=float(emd_samples.mean()),
        gt_edge_points=len(edges),
    )


def evaluate_view(
    reconstructor: Reconstructor,
    view: EvalView,
    row: int,
    resolution: int = 128,
    settings: MetricSettings = MetricSettings(),
    seed: int = 0,
    turns: int = DEFAULT_TURNS,
) -> tuple[EvalRow, trimesh.Trimesh | trimesh.PointCloud]:
    """Reconstruct one view (reading ``turns`` turned copies of it, :mod:`..inference.turns`) and score it;
    returns the row and the prediction (view frame)."""
    start = time.perf_counter()
    reconstruction = ReconstructionSettings(resolution=resolution, turns=turns)
    mesh, stats = run_to_completion(reconstructor.reconstruct_input(view.image, view.a, view.b, reconstruction))
    reconstruct_seconds = time.perf_counter() - start
    start = time.perf_counter()
    rng = metric_rng(seed, row)
    points = isinstance(mesh, trimesh.PointCloud)
    if points:
        comparison = compare_points(mesh.vertices, view.ground_truth, rng, settings)
    else:
        comparison = compare_meshes(mesh, view.ground_truth, rng, settings)
        if comparison.pred_empty:
            comparison = score_empty_prediction(comparison, view.ground_truth, rng)
    values = comparison.as_dict()
    del values["gt_empty"]
    result = EvalRow(
        row=row,
        shape=view.shape,
        view=view.view,
        category=view.category,
        family=view.family,
        **values,
        faces=stats.faces,
        watertight=stats.watertight,
        reconstruct_seconds=reconstruct_seconds,
        metric_seconds=time.perf_counter() - start,
        prediction="points" if points else "mesh",
    )
    return result, mesh


def evaluate_views(
    reconstructor: Reconstructor,
    views: list[EvalView],
    resolution: int = 128,
    settings: MetricSettings = MetricSettings(),
    seed: int = 0,
    keep: set[int] = frozenset(),
    on_prediction=None,
    turns: int = DEFAULT_TURNS,
) -> ProgressGenerator[tuple[list[EvalRow], dict[int, trimesh.Trimesh]]]:
    """Evaluate every view in order (row ``i`` is ``views[i]``).

    Returns the rows and the predicted meshes of the rows in ``keep`` (for
    figures; keeping every mesh of a large evaluation would cost gigabytes).
    ``on_prediction(view, mesh)``, if given, sees every prediction as it is
    made (e.g. to save it).
    """
    rows, kept = [], {}
    yield Progress("evaluating views", 0, len(views))
    for index, view in enumerate(views):
        row, mesh = evaluate_view(reconstructor, view, index, resolution, settings, seed, turns)
        rows.append(row)
        if index in keep:
            kept[index] = mesh
        if on_prediction is not None:
            on_prediction(view, mesh)
        yield Progress("evaluating views", index + 1, len(views))
    return rows, kept
