"""The training loop (paper section 5.1): Adam, per-mode labels, adaptive s.

Beyond the paper: a warm-up + cosine learning-rate schedule, bfloat16
autocast where the device runs it natively, and, for models with a layered
depth head, its dense loss beside the occupancy loss (issue 13).

``train`` is a progress generator: it yields a :class:`Progress` per step and
returns a :class:`TrainSummary`.  It writes ``RUN_DIR/config.yaml``,
``metrics.jsonl`` (one flushed JSON line at a time), ``last.safetensors``
(weights, Adam state and training state; atomic) after every epoch, every
``checkpoint_minutes`` and whenever it stops early, and ``best.safetensors``
(weights only) when the validation IoU improves.  A method that outputs
points (``pointcloud``) trains without labels on its own loss and is
validated by Chamfer-L1 instead, lower being better (:mod:`.point_method`).
A method built on another method's trained checkpoint (``d-occnet`` on an
``occnet``: its ``stage_one``) starts from that checkpoint, kept frozen, and
trains its second stage on point clouds sampled from each view's
ground-truth surface, noised by ``doccnet.input_noise``; it is validated
through both stages, on stage 1's output.  A resume first tidies what
a killed session left: temporary files of interrupted writes and the metric
lines of the steps after the checkpoint, which it logs again.

Determinism: the model is initialized from ``seed``, the view order of epoch
``e`` is a permutation seeded by ``(seed, e)`` and the points of each item by
``(seed, e, item)``, so a resumed run skips the batches it already did and
continues bit-for-bit (on CPU) where it stopped.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..data.dataset import ViewDataset
from ..devices import autocast, autocast_dtype
from ..files import atomic_write_text, remove_orphan_temp_files
from ..geometry.labels import AdaptiveS, confusion_counts, f1_from_counts, label_targets, update_interval
from ..model.images import fit_to_size
from ..model.checkpoint import ModelCheckpoint
from ..model.doccnet import stage_one_config
from ..model.methods import METHODS, get_model, output_kind
from ..progress import Progress, ProgressGenerator
from .checkpoint import Checkpoint, CheckpointError, model_from_checkpoint, read_checkpoint, save_checkpoint
from .config import TrainConfig
from .distributed import DistributedContext
from .losses import label_loss, layered_depth_loss, predicted_inside
from .metrics_log import MetricsWriter, drop_lines_after
from .point_method import SELECTION_METRIC, VAL_SURFACE_POINTS, point_step_loss, step_generator, validate_points
from .schedule import learning_rate

LAST, BEST = "last.safetensors", "best.safetensors"
CONFIG, METRICS = "config.yaml", "metrics.jsonl"


@dataclass
class TrainState:
    """Where a run stands; saved in every checkpoint."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch, 0-based
    batch_in_epoch: int = 0  # batches of the current epoch already done
    counts: list = field(default_factory=lambda: [0, 0, 0])  # tp, fp, fn of the current epoch
    best_val_iou: float = -1.0
    last_val_iou: float | None = None
    best_val_chamfer_l1: float | None = None  # point methods: validated by Chamfer-L1 (lower is better)
    last_val_chamfer_l1: float | None = None
    adaptive: dict | None = None  # AdaptiveS state
    elapsed: float = 0.0  # training seconds over all sessions


@dataclass(frozen=True)
class TrainSummary:
    run_dir: Path
    steps: int
    epochs_done: int
    best_val_iou: float
    last_val_iou: float | None
    stopped: str | None  # None when all epochs ran; else why it stopped early
    seconds: float
    model: torch.nn.Module  # the trained network (this process's replica under DDP)
    best_val_chamfer_l1: float | None = None  # point methods, instead of IoU


def steps_per_epoch(items: int, batch_size: int, world: int = 1) -> int:
    """Full batches of ``batch_size`` per process in one epoch over ``items`` views (``world`` processes).

    Raises ``ValueError`` saying how to fix it when not even one batch fits:
    a smaller ``data.batch_size`` (the largest that fits is named), fewer
    processes, or a data set with more shapes.
    """
    steps = items // (batch_size * world)
    if steps == 0:
        views = f"{items} view" + ("" if items == 1 else "s")
        fits = items // world
        more = "build the data set with more shapes"
        if fits >= 1:
            limit = f"{fits}" if fits == 1 else f"{fits} or less"
            fix = f"set data.batch_size to {limit} (the override data.batch_size={fits}; train --set data.batch_size={fits}), or {more}"
        elif items > 0:
            fix = f"train with at most {items} process{'' if items == 1 else 'es'}, or {more}"
        else:
            fix = more
        raise ValueError(f"the training split has {views}, fewer than one batch of {batch_size * world}: {fix}")
    return steps


def epoch_batches(items: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world: int = 1) -> list[list[int]]:
    """This rank's batches of one epoch: a seeded permutation, equal shares, last partial batch dropped."""
    steps = steps_per_epoch(items, batch_size, world)
    order = np.random.default_rng([seed, epoch]).permutation(items)[: steps * batch_size * world]
    return order.reshape(steps, world, batch_size)[:, rank, :].tolist()


def noised(points: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """``points`` moved by isotropic Gaussian noise of standard deviation ``sigma`` (normalized units)."""
    if sigma == 0:
        return points
    return points + sigma * torch.randn(points.shape, generator=generator, dtype=points.dtype)


def positive_ratio(dataset: ViewDataset) -> float:
    """Share of inside points among the training points (for the initial s)."""
    inside = sum(int(r.train_inside.sum()) for r in dataset.records)
    total = sum(len(r.train_inside) for r in dataset.records)
    return inside / total


@torch.no_grad()
def validation_iou(model: torch.nn.Module, dataset: ViewDataset, device: torch.device, views_per_shape: int, image_size: int) -> float:
    """Mean IoU of predicted occupancy on the validation points (no meshing)."""
    was_training = model.training
    model.eval()
    scores = []
    for index, (_, view) in enumerate(dataset.items):
        if view >= views_per_shape:
            continue
        item = dataset[index]
        image = fit_to_size(item["image"][None].to(device), image_size)
        output = model(image, item["points"][None].to(device), item["a"][None].to(device), item["b"][None].to(device))
        pred = predicted_inside(output)[0].cpu()
        truth = item["inside"]
        union = int((pred | truth).sum())
        scores.append(1.0 if union == 0 else int((pred & truth).sum()) / union)
    model.train(was_training)
    return float(np.mean(scores))


class _Run:
    """The mutable pieces of one training session (kept out of ``train`` for readability)."""

    def __init__(self, run_dir: Path, config: TrainConfig, state: TrainState, model, optimizer, ctx):
        self.run_dir, self.config, self.state = run_dir, config, state
        self.model, self.optimizer, self.ctx = model, optimizer, ctx
        self.last_checkpoint = time.monotonic()

    def save(self, best: bool = False) -> None:
        if not self.ctx.is_main:
            return
        save_checkpoint(self.run_dir / LAST, self.model, self.config, asdict(self.state), self.optimizer)
        if best:
            save_checkpoint(self.run_dir / BEST, self.model, self.config, asdict(self.state))
        self.last_checkpoint = time.monotonic()


def _prepare(run_dir: Path, config: TrainConfig | None, resume: bool, stage_one: ModelCheckpoint | None):
    """The config and state to start from: fresh, or from ``last.safetensors``.

    A fresh run of a method built on another method's checkpoint takes the
    network sizes of ``stage_one`` (which must be given, and of that method).
    """
    last = run_dir / LAST
    if resume and stage_one is not None:
        raise ValueError("a resumed run keeps the stage 1 it started with; drop the stage-1 checkpoint")
    if resume:
        if not last.exists():
            raise ValueError(f"{run_dir}: nothing to resume (no {LAST})")
        checkpoint = read_checkpoint(last)
        if checkpoint.optimizer_state is None:
            raise CheckpointError(f"{last}: has no optimizer state, cannot resume from it")
        try:
            state = TrainState(**checkpoint.training_state)
        except TypeError as exc:
            raise CheckpointError(f"{last}: its training state is not from this version ({exc})") from exc
        return checkpoint.config, state, checkpoint
    if last.exists():
        raise ValueError(f"{run_dir} already holds a run; use --resume to continue it or choose another folder")
    if config is None:
        raise ValueError("a new run needs a config")
    needed = METHODS[config.model.method].stage_one
    if needed is None and stage_one is not None:
        raise ValueError(f"the {config.model.method} method has no stage 1; a stage-1 checkpoint is only for {_stage_two_methods()}")
    if needed is not None:
        if stage_one is None:
            raise ValueError(
                f"the {config.model.method} method trains on top of a trained {needed} checkpoint: "
                f"give it as its stage 1 (svr-desktop train --stage1 {needed.upper()}.safetensors)"
            )
        if stage_one.method != needed:
            raise ValueError(f"{stage_one.source}: stage 1 of {config.model.method} must be {_article(needed)} checkpoint, not {_article(stage_one.method)} one")
        config = replace(config, model=stage_one_config(config.model, stage_one.model_config))
    return config, TrainState(), None


def _article(method: str) -> str:
    """``method`` with its indefinite article, for messages ("an occnet", "a disn")."""
    return f"{'an' if method[0] in 'aeiou' else 'a'} {method}"


def _stage_two_methods() -> str:
    return ", ".join(name for name, method in METHODS.items() if method.stage_one)


def _tidy_for_resume(run_dir: Path, state: TrainState) -> None:
    """Remove what a killed session left: temporary files and the metric lines after the checkpoint.

    The resumed run repeats the steps done after its checkpoint and logs
    them again; without this, each would appear twice in ``metrics.jsonl``.
    """
    for name in (LAST, BEST, CONFIG, METRICS):
        remove_orphan_temp_files(run_dir / name)
    drop_lines_after(run_dir / METRICS, state.step, state.epoch)


def train(
    data_dir: str | Path,
    run_dir: str | Path,
    config: TrainConfig | None = None,
    resume: bool = False,
    device: torch.device = torch.device("cpu"),
    max_minutes: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    stage_one: ModelCheckpoint | None = None,
    init_from: Checkpoint | None = None,
) -> ProgressGenerator[TrainSummary]:
    """Train (or resume) a run in ``run_dir`` on the data set in ``data_dir``.

    ``stage_one``: the trained checkpoint a new run of a two-stage method
    (``d-occnet``) builds on.  ``init_from``: a trained checkpoint whose
    weights a new run starts from, with a fresh optimizer (a fine-tune; see
    :func:`fine_tune_config`).
    """
    session_start = time.monotonic()
    run_dir = Path(run_dir)
    config, state, checkpoint = _prepare(run_dir, config, resume, stage_one)
    if init_from is not None:
        if resume or stage_one is not None or METHODS[config.model.method].stage_one is not None:
            raise ValueError("a fine-tune is a new run of a one-stage network: no --resume, no --stage1, no d-occnet")
        if config.model != init_from.config.model:
            raise ValueError(f"{init_from.source}: a fine-tune keeps the checkpoint's network; this config describes another one")
    ctx = DistributedContext.from_environment(device)
    labels, optim = config.labels, config.optim
    points_method = output_kind(config.model, labels.mode) == "points"
    stage_two = METHODS[config.model.method].stage_one is not None

    # The data set first: a broken one is refused before any network is built.
    surface_points = config.model.pointcloud_points if points_method else config.model.doccnet_points if stage_two else 0
    train_set = ViewDataset(
        data_dir, "train", config.data.points_per_view, seed=config.seed, surface_points=surface_points, turn_degrees=config.data.turn_degrees
    )
    val_set = (
        ViewDataset(data_dir, "val", point_set="val", surface_points=VAL_SURFACE_POINTS if points_method else 0)
        if ctx.is_main
        else None
    )

    torch.manual_seed(config.seed)
    if checkpoint is not None:
        model = model_from_checkpoint(checkpoint)
    else:
        model = get_model(config.model)
        if stage_two:
            model.attach_stage_one(stage_one.model_state)
        if init_from is not None:
            model.load_state_dict(init_from.model_state, strict=True)
    model = model.to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=optim.lr)
    if checkpoint is not None:
        optimizer.load_state_dict(checkpoint.optimizer_state)
    network = DistributedDataParallel(model) if ctx.enabled else model

    if labels.mode == "adaptive" and state.adaptive is None and not points_method:
        interval = update_interval(optim.epochs, labels.update_fraction)
        state.adaptive = AdaptiveS.from_positive_ratio(
            positive_ratio(train_set), interval, labels.lam, labels.s_min, labels.s_max
        ).state_dict()
    adaptive = AdaptiveS.from_state_dict(state.adaptive) if state.adaptive else None

    run = _Run(run_dir, config, state, model, optimizer, ctx)
    metrics = None
    if ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if resume:
            _tidy_for_resume(run_dir, state)
        atomic_write_text(run_dir / CONFIG, config.to_yaml())
        metrics = MetricsWriter(run_dir / METRICS)
        precision = autocast_dtype(device, optim.amp)
        metrics.write(
            kind="event", event="resumed" if resume else "started", step=state.step, epoch=state.epoch,
            **({"init_from": str(init_from.source)} if init_from is not None else {}),
            world_size=ctx.world_size, device=str(device), threads=torch.get_num_threads(),
            precision="float32" if precision is None else str(precision).removeprefix("torch."),
        )
    images_per_step = config.data.batch_size * ctx.world_size
    total_steps = optim.epochs * len(epoch_batches(len(train_set), config.data.batch_size, config.seed, 0, ctx.rank, ctx.world_size))
    voxel_resolution = train_set.records[0].voxel_resolution
    depth_losses = config.model.depth_head
    stopped = None
    elapsed_before = state.elapsed

    def elapsed() -> float:
        return elapsed_before + time.monotonic() - session_start

    def current_s() -> float | None:
        if points_method:
            return None
        return adaptive.s if adaptive else (labels.fixed_s if labels.mode == "fixed" else None)

    try:
        while state.epoch < optim.epochs and stopped is None:
            batches = epoch_batches(len(train_set), config.data.batch_size, config.seed, state.epoch, ctx.rank, ctx.world_size)
            train_set.set_epoch(state.epoch)
            loader = DataLoader(train_set, batch_sampler=batches[state.batch_in_epoch :], num_workers=config.data.num_workers)
            window_start, window_steps, window_loss, window_parts = time.monotonic(), 0, 0.0, {}
            for batch in loader:
                s = current_s()
                lr = learning_rate(state.step, total_steps, optim)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                images = fit_to_size(batch["image"].to(device), config.model.image_size)
                if points_method:
                    loss, parts = point_step_loss(network, batch, images, config, state.step, device)
                    for key, value in parts.items():
                        window_parts[key] = window_parts.get(key, 0.0) + value
                else:
                    targets = torch.from_numpy(
                        label_targets(batch["distance"].numpy(), batch["inside"].numpy(), labels.mode, s, voxel_resolution)
                    ).to(device)
                    # A second stage learns from ground-truth clouds, noised to look like stage 1's.
                    shape_input = (
                        {"shape_points": noised(batch["surface"], config.doccnet.input_noise, step_generator(config.seed, state.step)).to(device)}
                        if stage_two
                        else {}
                    )
                    with autocast(device, optim.amp):
                        output, raw_layers = network(
                            images, batch["points"].to(device), batch["a"].to(device), batch["b"].to(device), with_layers=True, **shape_input
                        )
                    loss = label_loss(output.float(), targets, labels.mode, labels.sdf_near_weight, voxel_resolution)
                if depth_losses:
                    depth_loss, parts = layered_depth_loss(
                        raw_layers, *(batch[key].to(device) for key in ("depth_entry", "depth_exit", "depth_count", "depth_normal")),
                        config.depth.depth_weight, config.depth.valid_weight, config.depth.normal_weight,
                    )
                    loss = loss + depth_loss
                    for key, value in parts.items():
                        window_parts[key] = window_parts.get(key, 0.0) + value
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if optim.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), optim.grad_clip)
                optimizer.step()

                if not points_method:
                    counts = confusion_counts(predicted_inside(output.detach()).cpu().numpy(), batch["inside"].numpy())
                    state.counts = [c + d for c, d in zip(state.counts, counts)]
                state.step += 1
                state.batch_in_epoch += 1
                window_steps += 1
                window_loss += loss.item()
                # The first and the last step are logged too, so that even a run shorter than
                # log_every steps has curves to plot.
                if metrics and (state.step % config.log_every == 0 or state.step in (1, total_steps)):
                    now = time.monotonic()
                    metrics.write(
                        kind="train", step=state.step, epoch=state.epoch, loss=window_loss / window_steps,
                        f1=None if points_method else f1_from_counts(*state.counts), s=s, lr=lr,
                        images_per_s=window_steps * images_per_step / max(now - window_start, 1e-9),
                        elapsed=elapsed(), **{key: value / window_steps for key, value in window_parts.items()},
                    )
                    window_start, window_steps, window_loss, window_parts = now, 0, 0.0, {}
                yield Progress(f"epoch {state.epoch + 1}/{optim.epochs}", state.batch_in_epoch, len(batches))

                out_of_time = max_minutes is not None and time.monotonic() - session_start > 60 * max_minutes
                if ctx.any(should_stop() or out_of_time, device):
                    stopped = "time budget reached" if out_of_time else "stop requested"
                    break
                if time.monotonic() - run.last_checkpoint > 60 * config.checkpoint_minutes:
                    state.elapsed = elapsed()
                    run.save()
            if stopped is not None:
                break

            # End of epoch: adaptive s from the epoch's F1, validation, checkpoints.
            tp, fp, fn = (int(v) for v in ctx.sum(state.counts, device))
            train_f1 = None if points_method else f1_from_counts(tp, fp, fn)
            if adaptive and adaptive.is_due(state.epoch + 1):
                adaptive.offer(train_f1)
                state.adaptive = adaptive.state_dict()
            improved, point_scores = False, None
            if ctx.is_main and points_method:
                point_scores = validate_points(model, val_set, device, config.data.val_views_per_shape, config.model.image_size)
                state.last_val_chamfer_l1 = point_scores.chamfer_l1
                best = state.best_val_chamfer_l1
                improved = best is None or point_scores.chamfer_l1 < best
                state.best_val_chamfer_l1 = point_scores.chamfer_l1 if improved else best
            elif ctx.is_main:
                state.last_val_iou = validation_iou(model, val_set, device, config.data.val_views_per_shape, config.model.image_size)
                improved = state.last_val_iou > state.best_val_iou
                state.best_val_iou = max(state.best_val_iou, state.last_val_iou)
            state.epoch += 1
            state.batch_in_epoch = 0
            state.counts = [0, 0, 0]
            state.elapsed = elapsed()
            if metrics and point_scores is not None:
                metrics.write(
                    kind="val", step=state.step, epoch=state.epoch, val_metric=SELECTION_METRIC,
                    val_chamfer_l1=point_scores.chamfer_l1, val_fscore=point_scores.fscore, elapsed=state.elapsed,
                )
            elif metrics:
                metrics.write(kind="val", step=state.step, epoch=state.epoch, val_iou=state.last_val_iou, f1=train_f1, s=current_s(), elapsed=state.elapsed)
            run.save(best=improved)
            ctx.barrier()

        if stopped is not None:
            state.elapsed = elapsed()
            run.save()
        if metrics:
            metrics.write(kind="event", event="stopped" if stopped else "finished", reason=stopped, step=state.step, epoch=state.epoch, elapsed=state.elapsed)
        ctx.barrier()
    finally:
        if metrics:
            metrics.close()
        # Free DDP's reducer while the process group still exists.  Freed after
        # destroy_process_group (when this frame ends), it drops the group's last
        # reference, and gloo's teardown then joins its worker thread while holding
        # the GIL that the worker needs to free the last barrier's tensors: a hang.
        del network
        ctx.close()
    return TrainSummary(
        run_dir, state.step, state.epoch, state.best_val_iou, state.last_val_iou, stopped, state.elapsed, model, state.best_val_chamfer_l1
    )
