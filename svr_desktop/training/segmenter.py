"""Fine-tuning a network's layered-depth head into the part segmenter (issue 14).

The default model's head already says, for every pixel, whether its ray
meets the part, and the photo path uses that as its mask
(:mod:`svr_desktop.inference.segmentation`).  It learned it as a side task,
on renders lighter and less shadowed than photographs, and the masks it
fails on are dark parts, dark grounds and cast shadows.  This fine-tunes a
copy of that network for the mask alone: encoder and head learn the
first layer's validity (binary cross-entropy against the exact silhouette,
at the input's resolution) on rendered views passed through
:func:`~svr_desktop.data.photo_augment.augment_view` and then through the
segmenter's own exposure lift, so training sees what the segmenter will
see.  The decoder is frozen and kept, so the result is a complete
checkpoint of the same network; the shipped reconstruction model is not
touched.

Batches are drawn from a generator seeded by ``(seed, step)``: a resumed
run continues on the same draws.  ``last.safetensors`` (with Adam's state)
is written every ``checkpoint_every`` steps and at the end; ship it with
:func:`.checkpoint.ship_checkpoint`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..data.dataset import load_split
from ..data.photo_augment import augment_view
from ..inference.segmentation import exposure_lift
from ..model.layered_depth_head import decode_layers
from ..progress import Progress, ProgressGenerator
from .checkpoint import CheckpointError, model_from_checkpoint, read_checkpoint, save_checkpoint
from .config import OptimConfig
from .schedule import learning_rate

#: The run's checkpoint, weights and Adam state (resume from it, ship it).
LAST = "last.safetensors"
#: Progress stage of the training steps.
STAGE = "segmenter steps"


@dataclass(frozen=True)
class SegmenterSettings:
    """What a segmenter fine-tune does; stored in its checkpoints."""

    steps: int = 3000
    batch_size: int = 16
    lr: float = 1e-4
    warmup_steps: int = 200
    seed: int = 0
    checkpoint_every: int = 250


@dataclass
class SegmenterSummary:
    steps: int
    finished: bool  # all the settings' steps are done (else it was stopped)
    last_loss: float  # mean over the last logged stretch of steps
    checkpoint: Path


def silhouette_loss(raw_layers: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """BCE of the first layer's validity, upsampled as the segmenter upsamples it, against (B, H, W) masks."""
    logit = decode_layers(raw_layers, (raw_layers.shape[1] - 3) // 3).valid_logit[:, :1]
    logit = F.interpolate(logit.float(), size=masks.shape[-2:], mode="bilinear", align_corners=False)
    return F.binary_cross_entropy_with_logits(logit[:, 0], masks.float())


def _batch(records, items, step: int, settings: SegmenterSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """The augmented images (B, 3, H, W) in [0, 1] and masks (B, H, W) of one step."""
    rng = np.random.default_rng([settings.seed, step])
    images, masks = [], []
    for index in rng.choice(len(items), settings.batch_size, replace=len(items) < settings.batch_size):
        record_index, view = items[index]
        record = records[record_index]
        image, mask = augment_view(np.asarray(record.images[view]), np.asarray(record.depth_count[view]) > 0, rng)
        images.append(exposure_lift(image))
        masks.append(mask)
    images = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div_(255.0)
    return images, torch.from_numpy(np.stack(masks))


def train_segmenter(
    data_dir: str | Path,
    init: str | Path,
    run_dir: str | Path,
    settings: SegmenterSettings = SegmenterSettings(),
    resume: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
) -> ProgressGenerator[SegmenterSummary]:
    """Fine-tune the head of checkpoint ``init`` into a segmenter on the training split of ``data_dir``.

    ``resume`` continues ``run_dir/last.safetensors`` (its stored settings win).
    """
    run_dir = Path(run_dir)
    last = run_dir / LAST
    source = read_checkpoint(last if resume else init)
    if not source.config.model.depth_head:
        raise CheckpointError(f"{source.source}: this model has no layered-depth head to train as a segmenter")
    state = source.training_state.get("segmenter") if resume else {"init": str(init), "step": 0, "history": []}
    if not isinstance(state, dict):
        raise CheckpointError(f"{last}: not a segmenter run to resume")
    if resume:
        settings = SegmenterSettings(**state["settings"])
    records = load_split(data_dir, "train", mapped=True)
    if not records:
        raise ValueError(f"{data_dir}: the 'train' split is empty")
    size = source.config.model.image_size
    if records[0].images.shape[1:3] != (size, size) or records[0].depth_count.shape[1:3] != (size, size):
        raise ValueError(f"{data_dir}: its views and depth layers must both be {size} px, the model's input size")
    items = [(r, v) for r, record in enumerate(records) for v in range(record.views)]

    model = model_from_checkpoint(source).train()
    for parameter in model.decoder.parameters():
        parameter.requires_grad_(False)  # the segmenter reads the head only; the decoder stays as it came
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=settings.lr)
    if resume:
        optimizer.load_state_dict(source.optimizer_state)
    schedule = OptimConfig(lr=settings.lr, warmup_steps=settings.warmup_steps, schedule="cosine")
    step, history = int(state["step"]), list(state["history"])

    def save() -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        training = dict(source.training_state)
        training["segmenter"] = {
            "settings": asdict(settings), "step": step, "history": history, "data": str(data_dir), "init": state["init"],
        }
        save_checkpoint(last, model, source.config, training, optimizer)

    loss_sum, loss_count, started = 0.0, 0, time.monotonic()
    while step < settings.steps and not should_stop():
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, settings.steps, schedule)
        images, masks = _batch(records, items, step, settings)
        loss = silhouette_loss(model.encode(images).layers, masks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        loss_sum, loss_count = loss_sum + loss.item(), loss_count + 1
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            history.append({"step": step, "loss": loss_sum / loss_count, "seconds": round(time.monotonic() - started, 1)})
            loss_sum, loss_count = 0.0, 0
            save()
        yield Progress(STAGE, step, settings.steps)
    if loss_count:
        history.append({"step": step, "loss": loss_sum / loss_count, "seconds": round(time.monotonic() - started, 1)})
    save()
    return SegmenterSummary(step, step >= settings.steps, history[-1]["loss"] if history else float("nan"), last)
