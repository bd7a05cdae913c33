"""The evaluation of one checkpoint on a list of views, written into a report folder.

``run_evaluation`` is a progress generator: it reconstructs and scores every
view (:mod:`.runner`), then writes into the folder

* ``metrics.csv``: one row per shape and view (:mod:`.report`);
* ``summary.md`` and ``summary.json``: means per category and overall, with
  units and counts;
* ``grid.png``: input, prediction, ground truth and edge points for a sample
  of shapes (:mod:`.figures`);
* ``predictions/`` (only with ``save_meshes``): every predicted mesh as PLY,
  in the view frame, named ``<shape>_view<k>.ply``.  The predictions of an
  earlier report in the folder are removed first.

The ``evaluate`` command and the ablation runner both call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from ..files import atomic_write_bytes, atomic_write_png, atomic_write_text
from ..geometry.metrics import EMD_POINTS, IOU_POINTS, MetricSettings
from ..inference.reconstructor import Reconstructor
from ..inference.turns import DEFAULT_TURNS
from ..progress import Progress, ProgressGenerator
from .figures import evaluation_grid, sample_rows
from .report import GroupSummary, summarize, summary_json, summary_markdown, write_metrics_csv
from .runner import EvalRow, evaluate_views
from .views import EvalView

#: Files whose presence marks a folder as holding a report.
REPORT_FILES = ("metrics.csv", "summary.md", "summary.json", "grid.png")
#: Shapes shown in the picture grid.
GRID_SHAPES = 8


@dataclass(frozen=True)
class EvaluationSettings:
    """How predictions are made and scored."""

    resolution: int = 128  # effective marching-cubes grid (MISE from 32^3)
    turns: int = DEFAULT_TURNS  # turned copies of each input whose depth layers are averaged (inference.turns)
    seed: int = 0  # metric sampling: row r uses a generator seeded by (seed, r)
    metrics: MetricSettings = MetricSettings()
    save_meshes: bool = False
    grid_shapes: int = GRID_SHAPES


@dataclass(frozen=True)
class EvaluationResult:
    out_dir: Path
    rows: list[EvalRow]
    groups: list[GroupSummary]  # per category, then overall
    predictions: dict[int, trimesh.Trimesh | trimesh.PointCloud]  # the picture grid's predictions, by row


def sampled_metrics(points: int = IOU_POINTS, edge_samples: int | None = None) -> MetricSettings:
    """Metric settings from one sample budget: ``points`` uniform points for IoU and surface
    points per mesh for CD / F-score / NC, at most that many for EMD; ``edge_samples`` dense
    samples for ECD's edge detection (None: scaled with the area).  The defaults are DESIGN.md 3."""
    return MetricSettings(
        iou_points=points, surface_points=points, emd_points=min(points, EMD_POINTS), edge_surface_samples=edge_samples
    )


def score_label(row: EvalRow) -> str:
    """The score a picture-grid row is titled with: IoU, or Chamfer-L1 for a point cloud (which has no IoU)."""
    return f"CD-L1 {row.chamfer_l1:.4f}" if row.prediction == "points" else f"IoU {row.iou:.3f}"


def holds_report(folder: str | Path) -> bool:
    return any((Path(folder) / name).exists() for name in REPORT_FILES)


def prediction_path(out_dir: Path, view: EvalView) -> Path:
    return out_dir / "predictions" / f"{view.name}.ply"


def remove_predictions(out_dir: Path) -> None:
    """Delete the PLY files of an earlier report in ``out_dir``, so that a replaced
    report never mixes its predictions with stale ones."""
    folder = out_dir / "predictions"
    for path in folder.glob("*.ply"):
        path.unlink()
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def save_prediction(path: Path, mesh: trimesh.Trimesh | trimesh.PointCloud) -> None:
    """Write a predicted mesh or point cloud as binary PLY (atomically; an empty mesh gives an empty PLY)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, trimesh.exchange.ply.export_ply(mesh, encoding="binary"))


def load_prediction(path: Path) -> trimesh.Trimesh:
    """Read a mesh written by :func:`save_prediction` (an empty PLY reads back as an empty mesh)."""
    loaded = trimesh.load(str(path), file_type="ply", process=False)
    if isinstance(loaded, trimesh.Trimesh):
        return loaded
    return trimesh.Trimesh(vertices=np.zeros((0, 3)), faces=np.zeros((0, 3), dtype=np.int64))


def _turns_read(reconstructor: Reconstructor, turns: int) -> str:
    """How the fields were read, for the report (:meth:`Reconstructor.angles_read`)."""
    copies = len(reconstructor.angles_read(turns))
    return f"depth layers averaged over {copies} turned copies of each input" if copies > 1 else "each input read alone (no turned copies)"


def run_evaluation(
    reconstructor: Reconstructor,
    views: list[EvalView],
    out_dir: str | Path,
    settings: EvaluationSettings = EvaluationSettings(),
    title: str = "Evaluation",
    facts: list[tuple[str, str]] = (),
    skipped: list[str] = (),
) -> ProgressGenerator[EvaluationResult]:
    """Evaluate ``views`` and write the report into ``out_dir`` (created if needed).

    ``facts`` (label, value) head ``summary.md`` (checkpoint, inputs, ...);
    ``skipped`` lists inputs that could not be used, with reasons.
    """
    if not views:
        raise ValueError("nothing to evaluate: no views")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_predictions(out_dir)

    def save(view: EvalView, mesh: trimesh.Trimesh) -> None:
        save_prediction(prediction_path(out_dir, view), mesh)

    grid_rows = set(sample_rows(views, settings.grid_shapes))
    rows, predictions = yield from evaluate_views(
        reconstructor,
        views,
        settings.resolution,
        settings.metrics,
        settings.seed,
        keep=grid_rows,
        turns=settings.turns,
        on_prediction=save if settings.save_meshes else None,
    )
    groups = summarize(rows)
    facts = [
        *facts,
        (
            "reconstruction",
            f"point cloud of {reconstructor.model.config.pointcloud_points:,} points (no grid, no threshold), device {reconstructor.device}"
            if reconstructor.output_kind == "points"
            else f"{settings.resolution}^3 effective grid (MISE from 32^3), threshold {reconstructor.default_threshold}, "
            f"{_turns_read(reconstructor, settings.turns)}, device {reconstructor.device}",
        ),
        ("metric sampling seed", f"{settings.seed} (row r of metrics.csv draws from numpy default_rng([{settings.seed}, r]))"),
        ("time", f"{sum(r.reconstruct_seconds for r in rows):.1f} s reconstructing, {sum(r.metric_seconds for r in rows):.1f} s scoring ({len(rows)} views)"),
    ]
    write_metrics_csv(out_dir / "metrics.csv", rows)
    atomic_write_text(out_dir / "summary.md", summary_markdown(title, facts, groups, settings.metrics, list(skipped)))
    atomic_write_text(out_dir / "summary.json", summary_json(facts, groups, list(skipped)))
    yield Progress("picture grid", 0, 1)
    scores = {index: score_label(rows[index]) for index in predictions}
    atomic_write_png(out_dir / "grid.png", evaluation_grid(views, predictions, scores, settings.metrics, settings.seed))
    yield Progress("picture grid", 1, 1)
    return EvaluationResult(out_dir, rows, groups, predictions)
