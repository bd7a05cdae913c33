"""The paper's ablation (Table 2, Fig. 6): encoders and label modes on equal budgets.

Every variant trains on the same data with the same config, seed and number
of epochs (hence the same steps and points), differing only in
``model.encoder`` and the label mode; it is then evaluated on the test split
with :mod:`.evaluate` (final weights, ``last.safetensors``: equal budgets,
no model selection).  The headline pair, ``fpn+binary`` and ``fpn+v(d,s)``,
runs with several seeds; the other variants with the first.

Layout of the work folder ``OUT``::

    OUT/ablation.json        the settings that fix the budget (a rerun must match)
    OUT/data/manifest.json   the data subset, when --shapes limits it
    OUT/runs/<variant>-seed<k>/   training runs (config, metrics.jsonl, checkpoints)
    OUT/eval/<variant>-seed<k>/   evaluation reports (+ the qualitative inputs' predictions)

**Resumable.** A run whose ``last.safetensors`` has done every epoch is
skipped, a run with a partial checkpoint resumes where it stopped (the
trainer continues bit-for-bit), and a finished run without a report is
evaluated.  ``max_minutes`` bounds one session's training, so a multi-hour
ablation continues in the next session by repeating the command.  The
ablation page (:mod:`.ablation_report`) is rewritten at the end of every
session with what is finished.

**Data subsets.** Limiting the shapes writes a manifest in ``OUT/data``
that lists the first shapes of each split and points at the original
shards by absolute path (``Path(root) / absolute`` is the absolute path),
so no shard is copied.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from ..data.build_settings import SPLITS
from ..data.dataset import load_manifest
from ..devices import pick_device
from ..files import atomic_write_text
from ..inference.reconstructor import Reconstructor
from ..progress import Progress, ProgressGenerator
from ..training.checkpoint import read_checkpoint
from ..training.config import load_config
from ..training.trainer import LAST, train
from .ablation_report import write_ablation_page
from .evaluate import EvaluationSettings, prediction_path, run_evaluation, save_prediction
from .views import EvalView, dataset_views


@dataclass(frozen=True)
class Variant:
    """One ablation variant: a display name, a folder-safe slug and its config overrides."""

    name: str
    slug: str
    overrides: tuple[str, ...]


def _fixed(s: float) -> Variant:
    return Variant(f"fpn+v(d,{s})", f"fpn-fixed-{s}", ("model.encoder=fpn", "labels.mode=fixed", f"labels.fixed_s={s}"))


VARIANTS = (
    Variant("global+binary", "global-binary", ("model.encoder=global", "labels.mode=binary")),
    Variant("multilevel+binary", "multilevel-binary", ("model.encoder=multilevel", "labels.mode=binary")),
    Variant("fpn+binary", "fpn-binary", ("model.encoder=fpn", "labels.mode=binary")),
    _fixed(0.5),
    Variant("fpn+v(d,s)", "fpn-adaptive", ("model.encoder=fpn", "labels.mode=adaptive")),
    _fixed(0.9),
    _fixed(0.7),
    _fixed(0.1),
)
VARIANT_NAMES = tuple(v.name for v in VARIANTS)
#: The variant whose final validation IoU the others race to.
REFERENCE = "fpn+binary"
#: The pair trained with every seed.
HEADLINE = ("fpn+binary", "fpn+v(d,s)")


@dataclass(frozen=True)
class AblationSettings:
    """Everything an ablation needs; the fields in :meth:`budget` must not change between sessions."""

    data: Path
    out: Path
    doc: Path
    epochs: int
    config: str = "cpu-small"
    overrides: tuple[str, ...] = ()
    image_size: int | None = None
    train_shapes: int | None = None
    val_shapes: int | None = None
    test_shapes: int | None = None
    seed: int = 0
    seeds: int = 2  # runs of each headline variant, seeds seed .. seed + seeds - 1
    variants: tuple[str, ...] = VARIANT_NAMES
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)
    eval_views: int = 1
    qualitative: int = 4  # inputs in the qualitative figure
    device: str = "auto"
    max_minutes: float | None = None  # training time of this session
    command: str = ""  # the command line, quoted in the page

    def __post_init__(self) -> None:
        unknown = [name for name in self.variants if name not in VARIANT_NAMES]
        if unknown:
            raise ValueError(f"unknown variant(s) {', '.join(unknown)} (choose from {', '.join(VARIANT_NAMES)})")
        if REFERENCE not in self.variants:
            raise ValueError(f"the ablation needs its reference variant '{REFERENCE}'")
        if self.epochs < 1:
            raise ValueError("epochs must be at least 1")
        if self.seeds < 2:
            raise ValueError("the headline pair needs at least 2 seeds to show a spread")

    def budget(self) -> dict:
        """The settings every run and evaluation of this folder shares (JSON-ready)."""
        evaluation = asdict(self.evaluation)
        del evaluation["save_meshes"], evaluation["grid_shapes"]
        return {
            "data": str(Path(self.data).resolve()),
            "config": self.config,
            "overrides": list(self.overrides),
            "image_size": self.image_size,
            "epochs": self.epochs,
            "shapes": {"train": self.train_shapes, "val": self.val_shapes, "test": self.test_shapes},
            "seed": self.seed,
            "evaluation": {**evaluation, "views": self.eval_views},
        }

    def variant_overrides(self, variant: Variant, seed: int) -> list[str]:
        """Config overrides of one run: the user's, the budget, then the variant's own."""
        sizing = [f"optim.epochs={self.epochs}", f"seed={seed}"]
        if self.image_size:
            sizing.append(f"model.image_size={self.image_size}")
        return [*self.overrides, *sizing, *variant.overrides]


@dataclass(frozen=True)
class PlannedRun:
    variant: Variant
    seed: int
    run_dir: Path
    eval_dir: Path

    @property
    def label(self) -> str:
        return f"{self.variant.slug}-seed{self.seed}"


def plan_runs(settings: AblationSettings) -> list[PlannedRun]:
    """The runs in variant order; the headline pair once per seed."""
    runs = []
    for variant in VARIANTS:
        if variant.name not in settings.variants:
            continue
        count = settings.seeds if variant.name in HEADLINE else 1
        for seed in range(settings.seed, settings.seed + count):
            label = f"{variant.slug}-seed{seed}"
            runs.append(PlannedRun(variant, seed, settings.out / "runs" / label, settings.out / "eval" / label))
    return runs


def check_budget(settings: AblationSettings) -> None:
    """Record the budget in ``OUT/ablation.json``, or refuse a folder holding another one."""
    path = settings.out / "ablation.json"
    wanted = settings.budget()
    if path.exists():
        try:
            recorded = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: unreadable ablation settings ({exc})") from exc
        if recorded != wanted:
            changed = sorted(key for key in set(recorded) | set(wanted) if recorded.get(key) != wanted.get(key))
            raise ValueError(
                f"{settings.out} holds an ablation with other settings ({', '.join(changed)}); "
                "repeat the original options to resume it, or choose another --out"
            )
    else:
        settings.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(wanted, indent=1))


def subset_manifest(settings: AblationSettings) -> dict | None:
    """The manifest of the data subset the shape limits select (None without limits).

    Checks that the data set has all three splits.  The subset lists the first
    shapes of each split and refers to the original shards by absolute path.
    """
    limits = {"train": settings.train_shapes, "val": settings.val_shapes, "test": settings.test_shapes}
    manifest = load_manifest(settings.data)
    for split in SPLITS:
        if not manifest["splits"].get(split):
            raise ValueError(f"{settings.data}: the data set has no '{split}' shapes; the ablation needs all three splits")
    if not any(limits.values()):
        return None
    splits = {split: manifest["splits"][split][: limits[split] or None] for split in SPLITS}
    chosen = {shape for ids in splits.values() for shape in ids}
    root = Path(settings.data).resolve()
    shards = [
        {"file": str(root / shard["file"]), "shapes": [s for s in shard["shapes"] if s in chosen]}
        for shard in manifest["shards"]
        if chosen.intersection(shard["shapes"])
    ]
    return {**manifest, "shards": shards, "splits": splits, "shapes": len(chosen), "subset_of": str(root)}


def prepare_data(settings: AblationSettings) -> Path:
    """The data folder to train on: the original, or the subset manifest written to ``OUT/data``."""
    subset = subset_manifest(settings)
    if subset is None:
        return Path(settings.data)
    folder = settings.out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "manifest.json", json.dumps(subset, indent=1, sort_keys=True))
    return folder


def training_done(run: PlannedRun) -> tuple[int, int] | None:
    """(epochs done, epochs planned) from the run's last checkpoint; None before the first one."""
    path = run.run_dir / LAST
    if not path.exists():
        return None
    checkpoint = read_checkpoint(path)
    return int(checkpoint.training_state.get("epoch", 0)), checkpoint.config.optim.epochs


def is_evaluated(run: PlannedRun) -> bool:
    return (run.eval_dir / "summary.json").exists()


#: Statuses of a run that has trained to its full budget.
DONE_STATUSES = ("finished earlier", "trained", "resumed and finished")


@dataclass(frozen=True)
class RunOutcome:
    """What this session did with one run: one of :data:`DONE_STATUSES`, or why it is not done."""

    run: PlannedRun
    status: str

    @property
    def done(self) -> bool:
        return self.status in DONE_STATUSES


@dataclass(frozen=True)
class AblationOutcome:
    outcomes: list[RunOutcome]
    complete: bool  # every run trained and evaluated
    doc: Path


def _labelled(work: ProgressGenerator, label: str) -> ProgressGenerator:
    """Pass ``work``'s events on with ``label`` in front of their stage, and return its result."""
    try:
        while True:
            try:
                event = next(work)
            except StopIteration as stop:
                return stop.value
            yield Progress(f"{label}: {event.stage}", event.done, event.total)
    finally:
        work.close()


def _evaluate(run: PlannedRun, views: list[EvalView], settings: AblationSettings) -> ProgressGenerator[None]:
    """Evaluate a finished run's final weights; keep the qualitative inputs' predictions as PLY."""
    reconstructor = Reconstructor.from_checkpoint(run.run_dir / LAST, settings.device)
    evaluation = replace(settings.evaluation, save_meshes=False, grid_shapes=settings.qualitative)
    facts = [("checkpoint", str(run.run_dir / LAST)), ("variant", f"{run.variant.name}, seed {run.seed}")]
    result = yield from _labelled(
        run_evaluation(reconstructor, views, run.eval_dir, evaluation, f"Ablation: {run.variant.name}", facts),
        f"{run.label} evaluation",
    )
    for index, mesh in result.predictions.items():
        save_prediction(prediction_path(run.eval_dir, views[index]), mesh)


def _unfinished(done: tuple[int, int] | None) -> str:
    return "not started" if done is None else f"stopped after {done[0]} of {done[1]} epochs"


def run_ablation(
    settings: AblationSettings, should_stop: Callable[[], bool] = lambda: False
) -> ProgressGenerator[AblationOutcome]:
    """Train, evaluate and report every planned run that is not done yet (see the module docstring)."""
    subset_manifest(settings)  # a data set that cannot serve fails before anything is written
    check_budget(settings)
    data_dir = prepare_data(settings)
    views = dataset_views(data_dir, "test", settings.eval_views)
    device = pick_device(settings.device)
    runs = plan_runs(settings)
    session_start = time.monotonic()
    outcomes: list[RunOutcome] = []
    stopping = False
    for run in runs:
        done = training_done(run)
        if done is not None and done[0] >= done[1]:
            status = "finished earlier"
        else:
            remaining = None
            if settings.max_minutes is not None:
                remaining = settings.max_minutes - (time.monotonic() - session_start) / 60.0
            stopping = stopping or should_stop() or (remaining is not None and remaining <= 0)
            if stopping:
                outcomes.append(RunOutcome(run, _unfinished(done)))
                continue
            resume = done is not None
            config = None if resume else load_config(settings.config, settings.variant_overrides(run.variant, run.seed))
            summary = yield from _labelled(
                train(data_dir, run.run_dir, config, resume=resume, device=device, max_minutes=remaining, should_stop=should_stop),
                run.label,
            )
            if summary.stopped:
                stopping = True
                outcomes.append(RunOutcome(run, f"stopped: {summary.stopped}"))
                continue
            status = "resumed and finished" if resume else "trained"
        if not is_evaluated(run) and not (stopping or should_stop()):
            yield from _evaluate(run, views, settings)
        outcomes.append(RunOutcome(run, status))
    yield Progress("ablation page", 0, 1)
    write_ablation_page(settings, runs, views, REFERENCE, HEADLINE)
    yield Progress("ablation page", 1, 1)
    complete = not stopping and all(is_evaluated(run) for run in runs)
    return AblationOutcome(outcomes, complete, settings.doc)
