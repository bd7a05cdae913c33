"""The equal-budget depth comparison (issue 13): evaluate its runs, write its page.

Three variants train on one data set with one config and the same wall-clock
budget: ``paper`` (the paper's FPN + adaptive labels v(d,s)), ``head`` (+ a
dense layered-depth head) and ``full`` (+ head + depth-guided decoder), each
with one or more seeds, in ``OUT/runs/<variant>-seed<k>/`` (made by
``benchmarks/depth_comparison_queue.sh``).  This script

1. evaluates every finished run's final weights (``last.safetensors``) on the
   first ``--shapes`` test shapes, one view each, into ``OUT/eval/<run>/`` with
   the library behind ``svr-desktop evaluate`` (a run already evaluated, with a
   report newer than its checkpoint, is skipped unless ``--force``; a run still
   training is never evaluated);
2. writes the page (``docs/depth_comparison.md``) with the budget, the learning
   curves (``images/depth_comparison_curves.png`` beside it: validation IoU
   against step and against training minutes) and the test metrics per
   variant, mean ± sd over seeds, plus ``docs/depth_comparison_findings.md``
   verbatim when a person has written one;
3. prints the table, then one JSON line of the means per variant.

    python benchmarks/depth_comparison.py [--out /work/runs/depth-compare] [--data /work/data/parts1600-d160]
        [--shapes 40] [--resolution 128] [--force] [--skip-eval] [--page docs/depth_comparison.md]

``--skip-eval`` only rewrites the page from what is on disk, so it can run at
any time, also while the runs are still training.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from svr_desktop.cli.progress_bar import run_with_progress_bar
from svr_desktop.evaluation.ablation_report import TEST_COLUMNS, _spread, read_curve
from svr_desktop.evaluation.evaluate import EvaluationSettings, holds_report, run_evaluation, sampled_metrics
from svr_desktop.evaluation.report import units_note
from svr_desktop.evaluation.views import dataset_views
from svr_desktop.files import atomic_write_bytes, atomic_write_text
from svr_desktop.geometry.metrics import UNITS
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.training.trainer import LAST

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {
    "paper": "the paper's FPN encoder + adaptive labels v(d,s)",
    "head": "paper + a dense layered-depth head (auxiliary loss)",
    "full": "paper + depth head + depth-guided decoder",
}
#: Config values the page states as the shared budget (the differences are found, not listed).
HEADLINE_KEYS = ("model.encoder", "model.image_size", "model.width", "data.batch_size", "data.points_per_view",
                 "optim.lr", "optim.epochs", "optim.schedule", "optim.amp", "labels.mode")
SEED_STYLES = ("-", "--", ":", "-.")


@dataclass
class Run:
    name: str
    variant: str
    seed: int
    folder: Path
    eval_dir: Path
    config: dict  # flattened config.yaml: "model.encoder" -> value
    curve: list[tuple[int, float]]  # (step, val IoU)
    val_minutes: dict[int, float]  # step of a val record -> training minutes then
    steps: int
    minutes: float
    images_per_s: float | None  # median of the logged training windows
    end: str | None  # "finished", "stopped (reason)" or None while training
    test: dict | None  # "overall" of eval/<run>/summary.json
    eval_facts: dict  # its "facts": checkpoint, inputs, reconstruction, ...

    @property
    def final_val_iou(self) -> float | None:
        return self.curve[-1][1] if self.curve else None


def _flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def read_run(folder: Path, eval_root: Path) -> Run:
    """What a run folder holds so far: config, curve, progress, end event, test summary."""
    match = re.fullmatch(r"(.+)-seed(\d+)", folder.name)
    variant, seed = (match.group(1), int(match.group(2))) if match else (folder.name, 0)
    records = []
    metrics = folder / "metrics.jsonl"
    for line in metrics.read_text().splitlines() if metrics.exists() else []:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:  # a line being written
            continue
    train = [r for r in records if r.get("kind") == "train"]
    events = [r for r in records if r.get("kind") == "event"]
    end = None
    if events and events[-1].get("event") in ("finished", "stopped"):
        last = events[-1]
        end = last["event"] + (f" ({last['reason']})" if last.get("reason") else "")
    summary_path = eval_root / folder.name / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    config_path = folder / "config.yaml"
    return Run(
        name=folder.name, variant=variant, seed=seed, folder=folder, eval_dir=eval_root / folder.name,
        config=_flatten(yaml.safe_load(config_path.read_text()) or {}) if config_path.exists() else {},
        curve=read_curve(metrics),
        val_minutes={int(r["step"]): r["elapsed"] / 60 for r in records if r.get("kind") == "val" and "elapsed" in r},
        steps=max((int(r.get("step", 0)) for r in records), default=0),
        minutes=max((r.get("elapsed") or 0.0 for r in records), default=0.0) / 60,
        images_per_s=statistics.median(r["images_per_s"] for r in train) if train else None,
        end=end,
        test=summary.get("overall"),
        eval_facts=summary.get("facts", {}),
    )


def needs_evaluation(run: Run, force: bool) -> str | None:
    """Why the run is evaluated now, or None when it is not (still training, or already done)."""
    checkpoint = run.folder / LAST
    if not checkpoint.exists() or run.end is None:
        return None  # no final weights yet: evaluating an intermediate checkpoint would be kept as final
    summary = run.eval_dir / "summary.json"
    if force or not holds_report(run.eval_dir):
        return "forced" if force else "not evaluated yet"
    if not summary.exists() or summary.stat().st_mtime < checkpoint.stat().st_mtime:
        return "checkpoint newer than its report"
    return None


def evaluate_run(run: Run, data: Path, shapes: int, resolution: int) -> None:
    """``svr-desktop evaluate --checkpoint last --data DATA --split test --views 1 --shapes N --resolution R``."""
    checkpoint = run.folder / LAST
    reconstructor = Reconstructor.from_checkpoint(checkpoint, "auto")
    views = dataset_views(data, "test", 1, shapes)
    settings = EvaluationSettings(resolution=resolution, metrics=sampled_metrics())
    facts = [("checkpoint", str(checkpoint)), ("variant", f"{run.variant}, seed {run.seed}"),
             ("inputs", f"data set {data}, split 'test': stored renders with their a, b")]
    run_with_progress_bar(run_evaluation(reconstructor, views, run.eval_dir, settings, f"Depth comparison: {run.name}", facts))


def curves_figure(variants: list[str], runs: dict[str, list[Run]]) -> bytes:
    """Validation IoU against step (left) and training minutes (right): colour = variant, style = seed."""
    figure = Figure(figsize=(12, 4.8), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    by_step, by_time = figure.subplots(1, 2, sharey=True)
    colours = [*VARIANTS, *(v for v in variants if v not in VARIANTS)]  # fixed colours, whichever runs exist
    for variant in variants:
        for order, run in enumerate(runs[variant]):
            if not run.curve:
                continue
            steps, values = zip(*run.curve)
            minutes = [run.val_minutes.get(step, np.nan) for step in steps]
            style = dict(color=f"C{colours.index(variant) % 10}", linestyle=SEED_STYLES[order % len(SEED_STYLES)], marker="o", markersize=3,
                         linewidth=1.5, label=f"{variant} seed {run.seed}")
            by_step.plot(steps, values, **style)
            by_time.plot(minutes, values, **style)
    for axes, label in ((by_step, "training step"), (by_time, "training minutes (elapsed)")):
        axes.set_xlabel(label)
        axes.set_xlim(left=0)
        axes.grid(alpha=0.3)
    by_step.set_ylabel("validation IoU (uniform points)")
    figure.suptitle("Validation IoU at the end of each epoch")
    if by_step.get_legend_handles_labels()[0]:
        by_step.legend(fontsize=8, loc="best")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def comparison_table(variants: list[str], runs: dict[str, list[Run]]) -> str:
    """One markdown line per variant; training columns over all its runs, test columns over its evaluated ones."""
    header = ["variant", "runs (evaluated)", "steps", "train min", "images/s", "final val IoU",
              *(title for _, title, _ in TEST_COLUMNS), "empty"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for variant in variants:
        group, tested = runs[variant], [r for r in runs[variant] if r.test is not None]
        cells = [variant, f"{len(group)} ({len(tested)})", _spread([r.steps for r in group], 0),
                 _spread([r.minutes for r in group], 1), _spread([r.images_per_s for r in group], 1),
                 _spread([r.final_val_iou for r in group], 3)]
        cells += [_spread([r.test[key] for r in tested], decimals) for key, _, decimals in TEST_COLUMNS]
        cells.append(_spread([r.test["empty"] for r in tested], 1))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 6) if values else None


def variant_means(variants: list[str], runs: dict[str, list[Run]]) -> dict:
    """The JSON line's content: means per variant (None where nothing is known yet)."""
    result = {}
    for variant in variants:
        group, tested = runs[variant], [r for r in runs[variant] if r.test is not None]
        result[variant] = {"runs": len(group), "evaluated": len(tested), "steps": _mean([r.steps for r in group]),
                           "minutes": _mean([r.minutes for r in group]), "val_iou": _mean([r.final_val_iou for r in group]),
                           **{key: _mean([r.test[key] for r in tested]) for key, _, _ in TEST_COLUMNS}}
    return result


def budget_lines(variants: list[str], runs: dict[str, list[Run]], out: Path) -> list[str]:
    """What every run shares, how each variant differs, and how far each run got."""
    configs = [r.config for rs in runs.values() for r in rs if r.config]
    shared = {k: v for k, v in configs[0].items() if all(c.get(k) == v for c in configs)} if configs else {}
    lines = ["- **shared config** (`config.yaml`): " + ", ".join(f"{k} {shared[k]}" for k in HEADLINE_KEYS if k in shared)]
    for variant in variants:
        differs = {k: v for r in runs[variant] for k, v in r.config.items() if k not in shared and k != "seed"}
        lines.append(f"- **{variant}**: {VARIANTS.get(variant, '?')}; "
                     + (", ".join(f"{k} {v}" for k, v in differs.items()) or "no config differences"))
    lines.append(f"- **runs** (`{out / 'runs'}`, started by `benchmarks/depth_comparison_queue.sh`):")
    for rs in runs.values():
        for r in rs:
            speed = f"{r.images_per_s:.1f} images/s (median of the logged windows)" if r.images_per_s else "no speed logged yet"
            lines.append(f"  - {r.name}: {r.steps} steps in {r.minutes:.1f} training minutes, {speed}, "
                         f"{len(r.curve)} epoch(s) validated; {r.end or 'still training'}")
    return lines


def evaluation_lines(runs: dict[str, list[Run]]) -> list[str]:
    """How the test columns were measured, from the first evaluated run's summary (all use the same settings)."""
    tested = [r for rs in runs.values() for r in rs if r.test is not None]
    if not tested:
        return ["- **evaluation**: no run evaluated yet"]
    facts, overall = tested[0].eval_facts, tested[0].test
    return [f"- **evaluation**: {overall['views']} view(s) of {overall['shapes']} test shapes per run; "
            f"{facts.get('inputs', '?')}; {facts.get('reconstruction', '?')}"]


def write_page(page: Path, findings: Path, variants: list[str], runs: dict[str, list[Run]], args) -> str:
    """Write the page and its figure; return the table."""
    images = page.parent / "images"
    images.mkdir(parents=True, exist_ok=True)
    curves = f"{page.stem}_curves.png"
    atomic_write_bytes(images / curves, curves_figure(variants, runs))
    table = comparison_table(variants, runs)
    lines = [
        "# Depth heads: equal-budget comparison (issue 13)",
        "",
        "The variants train on the same data with the same config and the same wall-clock budget (one process, "
        "one thread each); only the depth parts differ. Each finished run is evaluated with its final weights "
        "(`last.safetensors`) on the first test shapes, one view each (`svr_desktop/evaluation`, the same "
        "pipeline as `svr-desktop evaluate`).",
        "",
        *budget_lines(variants, runs, args.out),
        *evaluation_lines(runs),
        "",
        table,
        "",
        "Training columns cover every run, test columns the evaluated ones; several runs show as mean ± sd. "
        "\"final val IoU\": validation IoU after the last finished epoch (uniform points of the validation shapes, "
        "no meshing); a run stopped by its time budget mid-epoch trained on after it, and only the test columns "
        "score its final weights. \"empty\": test views with an empty prediction. Distances in " + UNITS + ".",
        "",
        f"![validation IoU against step and training minutes](images/{curves})",
        "",
    ]
    if findings.is_file():
        lines += [findings.read_text(encoding="utf-8").rstrip(), ""]
    lines += ["## Metrics", "", *(f"- {line}" for line in units_note(sampled_metrics())), ""]
    atomic_write_text(page, "\n".join(lines))
    return table


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/work/runs/depth-compare"), help="comparison folder holding runs/ (eval/ is written there)")
    parser.add_argument("--data", type=Path, default=Path("/work/data/parts1600-d160"), help="data set whose test split is evaluated")
    parser.add_argument("--shapes", type=int, default=40, help="first N test shapes, one view each (default 40)")
    parser.add_argument("--resolution", type=int, default=128, help="effective reconstruction grid (default 128)")
    parser.add_argument("--page", type=Path, default=REPO / "docs" / "depth_comparison.md", help="page to write")
    parser.add_argument("--findings", type=Path, default=REPO / "docs" / "depth_comparison_findings.md",
                        help="interpretation written by a person, included verbatim when present")
    parser.add_argument("--force", action="store_true", help="re-evaluate runs that already have a report")
    parser.add_argument("--skip-eval", action="store_true", help="evaluate nothing, only rewrite the page")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folders = sorted(p for p in (args.out / "runs").iterdir() if p.is_dir()) if (args.out / "runs").is_dir() else []
    if not folders:
        raise SystemExit(f"{args.out / 'runs'}: no run folders")
    runs = [read_run(folder, args.out / "eval") for folder in folders]
    for index, run in enumerate(runs):
        reason = None if args.skip_eval else needs_evaluation(run, args.force)
        if reason:
            print(f"evaluating {run.name} ({reason}) -> {run.eval_dir}", flush=True)
            evaluate_run(run, args.data, args.shapes, args.resolution)
            runs[index] = read_run(run.folder, args.out / "eval")
        elif run.end is None and not args.skip_eval:
            print(f"not evaluated: {run.name} is still training")
    variants = [v for v in VARIANTS if any(r.variant == v for r in runs)]
    variants += sorted({r.variant for r in runs} - set(variants))
    by_variant = {v: sorted((r for r in runs if r.variant == v), key=lambda r: r.seed) for v in variants}
    table = write_page(args.page, args.findings, variants, by_variant, args)
    print(table)
    print(f"page: {args.page}")
    print(json.dumps({"variants": variant_means(variants, by_variant), "page": str(args.page)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
