"""The ablation page: table, learning curves, qualitative figure, steps to the reference.

Reads what the runs left on disk, so the page can be rewritten at any time
from finished and unfinished runs alike:

* ``runs/<run>/metrics.jsonl``: the validation IoU (uniform points of the
  validation shapes, measured at the end of every epoch) against the step;
* ``runs/<run>/last.safetensors``: steps done and training time;
* ``eval/<run>/summary.json`` and ``predictions/``: test metrics and the
  predictions of the qualitative inputs;
* ``<page>_findings.md`` beside the page, if present: the interpretation a
  person wrote, included as it is so that rewriting the page keeps it.

"Steps to reach" is, per run, the first step whose validation IoU reaches
the reference variant's final validation IoU (mean over its seeds); its
resolution is one epoch, since validation runs at the end of each epoch.
Several seeds show as mean ± standard deviation.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..files import atomic_write_bytes, atomic_write_png, atomic_write_text
from ..geometry.metrics import UNITS
from ..training.checkpoint import read_checkpoint
from ..training.trainer import LAST
from .evaluate import load_prediction, prediction_path
from .figures import MeshPainter, labelled_blank, picture_grid, sample_rows
from .report import units_note
from .views import EvalView

if TYPE_CHECKING:
    from .ablation import AblationSettings, PlannedRun


@dataclass(frozen=True)
class RunResult:
    """What one run has produced so far."""

    run: PlannedRun
    steps: int
    epochs_done: int
    epochs: int
    minutes: float
    curve: list[tuple[int, float]]  # (step, validation IoU), one per finished epoch
    test: dict | None  # overall means of the evaluation (summary.json), once evaluated

    @property
    def finished(self) -> bool:
        return self.epochs_done >= self.epochs

    @property
    def final_val_iou(self) -> float | None:
        return self.curve[-1][1] if self.curve else None


def read_curve(metrics_path: Path) -> list[tuple[int, float]]:
    """(step, val IoU) of every validation record, one per step (the last wins after a resume)."""
    by_step: dict[int, float] = {}
    try:
        lines = metrics_path.read_text().splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("kind") == "val" and record.get("val_iou") is not None:
            by_step[int(record["step"])] = float(record["val_iou"])
    return sorted(by_step.items())


def read_run(run: PlannedRun) -> RunResult | None:
    """The run's progress and results, or None before its first checkpoint."""
    last = run.run_dir / LAST
    if not last.exists():
        return None
    checkpoint = read_checkpoint(last)
    state = checkpoint.training_state
    summary = run.eval_dir / "summary.json"
    test = json.loads(summary.read_text())["overall"] if summary.exists() else None
    return RunResult(
        run=run,
        steps=int(state.get("step", 0)),
        epochs_done=int(state.get("epoch", 0)),
        epochs=checkpoint.config.optim.epochs,
        minutes=float(state.get("elapsed", 0.0)) / 60.0,
        curve=read_curve(run.run_dir / "metrics.jsonl"),
        test=test,
    )


def steps_to_reach(curve: list[tuple[int, float]], target: float) -> int | None:
    """First step whose validation IoU is at least ``target`` (None if it never is)."""
    return next((step for step, value in curve if value >= target), None)


def _spread(values: list[float], decimals: int) -> str:
    """``mean ± sd`` of the defined values, the value alone when they all agree; ``n/a`` if there are none."""
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return "n/a"
    if len(set(values)) == 1:
        return f"{values[0]:.{decimals}f}"
    return f"{np.mean(values):.{decimals}f} ± {np.std(values, ddof=1):.{decimals}f}"


#: Test columns of the table: (summary.json key, header, decimals).
TEST_COLUMNS = (("iou", "test IoU", 3), ("cd_l1", "CD-L1", 4), ("ecd", "ECD", 4), ("fscore", "F-score@1%", 3), ("nc", "NC", 3))


def ablation_table(variants: list[str], results: dict[str, list[RunResult]], planned: dict[str, int], target: float | None) -> str:
    """The markdown table: one line per variant, seeds aggregated."""
    header = ["variant", "runs done", "steps", "train min", "final val IoU", *(title for _, title, _ in TEST_COLUMNS),
              "empty", "steps to reach ref."]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for name in variants:
        done = [r for r in results.get(name, []) if r.finished and r.test is not None]
        cells = [name, f"{len(done)} / {planned[name]}"]
        if done:
            reach = [steps_to_reach(r.curve, target) if target is not None else None for r in done]
            reached = [s for s in reach if s is not None]
            if target is None:
                reach_cell = "n/a"
            elif len(reached) == len(done):
                reach_cell = _spread(reached, 0)
            else:
                reach_cell = f"not reached ({len(done) - len(reached)} of {len(done)} runs)"
            cells += [
                _spread([r.steps for r in done], 0),
                _spread([r.minutes for r in done], 1),
                _spread([r.final_val_iou for r in done], 3),
                *(_spread([r.test[key] for r in done], decimals) for key, _, decimals in TEST_COLUMNS),
                _spread([r.test["empty"] for r in done], 1),
                reach_cell,
            ]
        else:
            cells += ["—"] * (len(header) - 2)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def curves_figure(variants: list[str], results: dict[str, list[RunResult]], target: float | None, reference: str) -> bytes:
    """Validation IoU against step, every run of every variant on one plot (PNG bytes)."""
    figure = Figure(figsize=(8, 5), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    palette = [f"C{i}" for i in range(10)]
    for index, name in enumerate(variants):
        for seed_index, result in enumerate(results.get(name, [])):
            if not result.curve:
                continue
            steps, values = zip(*result.curve)
            axes.plot(steps, values, color=palette[index % 10], marker="o", markersize=3, linewidth=1.5,
                      linestyle="-" if seed_index == 0 else "--", label=name if seed_index == 0 else None)
    if target is not None:
        axes.axhline(target, color="grey", linewidth=0.8, linestyle=":", label=f"{reference} final (mean)")
    axes.set_xlabel("training step")
    axes.set_ylabel("validation IoU (uniform points)")
    axes.set_title("Learning curves (later seeds dashed)")
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8, loc="best")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _first_seed_prediction(results: list[RunResult], view: EvalView) -> Path | None:
    """The saved prediction of ``view`` by a variant's first run, once that run is evaluated."""
    if not results or results[0].test is None:
        return None
    path = prediction_path(results[0].run.eval_dir, view)
    return path if path.exists() else None


def qualitative_figure(variants: list[str], results: dict[str, list[RunResult]], views: list[EvalView], rows: list[int]):
    """Same inputs, every variant (its first seed): input, ground truth, then one column per variant."""
    grid_rows, titles = [], []
    with MeshPainter() as painter:
        for index in rows:
            view = views[index]
            cells = [view.image, painter.paint(view.ground_truth)]
            for name in variants:
                path = _first_seed_prediction(results.get(name, []), view)
                size = painter.renderer.image_size
                cells.append(painter.paint(load_prediction(path)) if path else labelled_blank(size, "not run"))
            grid_rows.append(cells)
            titles.append(f"{view.family} | {view.shape} view {view.view}")
    return picture_grid(grid_rows, ["input", "ground truth", *variants], titles)


def _header_lines(
    settings: AblationSettings, views: list[EvalView], results: dict[str, list[RunResult]],
    reference: str, headline: tuple[str, ...], finals: list[float],
) -> list[str]:
    """The page's introduction: what was compared, on what budget, how it was scored."""
    budget = settings.budget()
    shapes, evaluation = budget["shapes"], budget["evaluation"]
    steps = sorted({r.steps for rs in results.values() for r in rs if r.finished})
    reference_line = f"{np.mean(finals):.3f} (mean of {len(finals)} run(s))" if finals else "not available yet"
    return [
        "# Ablation: encoders and label modes",
        "",
        "Every variant trains on the same data with the same config, seed and number of epochs "
        "(so the same steps and training points); only the encoder and the label mode differ "
        "(paper Table 2 and Fig. 6). Each is evaluated with its final weights on the test split "
        "(`svr_desktop/evaluation`, the same pipeline as `svr-desktop evaluate`).",
        "",
        f"- **command**: `{settings.command or '(library call)'}`",
        f"- **data**: `{budget['data']}`; shapes used (first of each split): train {shapes['train'] or 'all'}, "
        f"val {shapes['val'] or 'all'}, test {shapes['test'] or 'all'}",
        f"- **config**: `{settings.config}`, overrides `{' '.join(settings.overrides) or 'none'}`, "
        f"image size {settings.image_size or 'from the config'}, {settings.epochs} epochs "
        f"({', '.join(map(str, steps)) or '?'} steps), seed {settings.seed}; "
        f"{' and '.join(headline)} with {settings.seeds} seeds, the others with one",
        f"- **evaluation**: {evaluation['views']} view(s) per test shape, {len(views)} test views in all, "
        f"{evaluation['resolution']}^3 reconstruction, metric seed {evaluation['seed']}",
        f"- **reference**: {reference}, final validation IoU {reference_line}",
        "",
    ]


def _unfinished_lines(results: dict[str, list[RunResult]], missing: list[PlannedRun]) -> list[str]:
    """Runs still to train or evaluate, and how to continue."""
    lines = [
        f"- {r.run.label}: {r.epochs_done} of {r.epochs} epochs ({r.steps} steps)"
        if not r.finished else f"- {r.run.label}: trained, not evaluated yet"
        for rs in results.values() for r in rs if not r.finished or r.test is None
    ]
    lines += [f"- {run.label}: not started" for run in missing]
    if not lines:
        return []
    return ["## Not finished yet", "", *lines, "", "Repeat the command to continue: finished runs are skipped, stopped ones resume.", ""]


def _findings_lines(doc: Path) -> list[str]:
    """What a person concluded from the runs: ``<page>_findings.md`` beside the page, kept across rewrites."""
    findings = doc.with_name(f"{doc.stem}_findings.md")
    return [findings.read_text(encoding="utf-8").rstrip(), ""] if findings.is_file() else []


def write_ablation_page(
    settings: AblationSettings, runs: list[PlannedRun], views: list[EvalView], reference: str, headline: tuple[str, ...]
) -> None:
    """Write the markdown page and its two images (next to it, in ``images/``).

    ``reference`` is the variant the others race to; ``headline`` the variants run with every seed.
    """
    variants = list(dict.fromkeys(run.variant.name for run in runs))
    results: dict[str, list[RunResult]] = {}
    planned: dict[str, int] = {}
    missing = []
    for run in runs:
        planned[run.variant.name] = planned.get(run.variant.name, 0) + 1
        result = read_run(run)
        if result is None:
            missing.append(run)
        else:
            results.setdefault(run.variant.name, []).append(result)
    finals = [r.final_val_iou for r in results.get(reference, []) if r.finished and r.final_val_iou is not None]
    target = float(np.mean(finals)) if finals else None

    doc = Path(settings.doc)
    images = doc.parent / "images"
    images.mkdir(parents=True, exist_ok=True)
    curves, qualitative = f"{doc.stem}_curves.png", f"{doc.stem}_qualitative.png"
    atomic_write_bytes(images / curves, curves_figure(variants, results, target, reference))
    atomic_write_png(images / qualitative, qualitative_figure(variants, results, views, sample_rows(views, settings.qualitative)))

    lines = [
        *_header_lines(settings, views, results, reference, headline, finals),
        ablation_table(variants, results, planned, target),
        "",
        "\"runs done\": runs trained to the full budget and evaluated. \"final val IoU\": validation IoU after "
        "the last epoch (uniform points of the validation shapes, no meshing). \"empty\": test views whose "
        "prediction was empty (mean per run). \"steps to reach ref.\": first step at which a run's validation IoU "
        "reached the reference's final validation IoU, measured once per epoch. Distances in " + UNITS + ".",
        "",
        f"![learning curves](images/{curves})",
        "",
        f"![qualitative comparison](images/{qualitative})",
        "",
        "Same test inputs for every variant (its first seed); \"not run\" marks variants without a finished, "
        "evaluated run yet.",
        "",
        *_findings_lines(doc),
        "## Metrics",
        "",
        *(f"- {line}" for line in units_note(settings.evaluation.metrics)),
        "",
        *_unfinished_lines(results, missing),
    ]
    atomic_write_text(doc, "\n".join(lines))
