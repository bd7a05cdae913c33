"""What training a point-cloud method adds to the loop: its step loss and its validation score.

The loop (:mod:`.trainer`) is shared by every method; a method whose output
kind is ``points`` (``pointcloud``) has no labels, no inside/outside F1 and
no IoU, so it trains through :func:`point_step_loss` and is validated by
:func:`validate_points`:

* a step draws the latent noise and the EMD subsets from a generator seeded
  by ``(seed, step)``, so that a resumed run repeats them bit-for-bit;
* validation scores each validation view's points (eval mode: the latent's
  mean) against :data:`VAL_SURFACE_POINTS` samples of its ground-truth
  surface by Chamfer-L1 (the selection metric: the best checkpoint has the
  lowest) and F-score at 1 %, both as ``svr-desktop evaluate`` defines them
  (:mod:`svr_desktop.geometry.metrics`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from ..data.dataset import ViewDataset
from ..devices import autocast
from ..geometry.metrics import FSCORE_TAU, chamfer_of_points, fscore_of_points
from ..model.images import fit_to_size
from .config import TrainConfig
from .point_losses import point_cloud_loss

#: Ground-truth surface samples per validation view.
VAL_SURFACE_POINTS = 10_000
#: The validation value that picks the best checkpoint (lower is better), as metrics.jsonl names it.
SELECTION_METRIC = "chamfer_l1"


class PointValidation(NamedTuple):
    """Means over the validation views (normalized units; F-score unitless)."""

    chamfer_l1: float
    fscore: float


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator of one training step's random draws, the same whenever that step is run."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, step]).generate_state(1)[0]))


def point_step_loss(
    network: torch.nn.Module, batch: dict, images: torch.Tensor, config: TrainConfig, step: int, device: torch.device
) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of one batch (prepared ``images``) and its parts (:func:`.point_losses.point_cloud_loss`)."""
    generator = step_generator(config.seed, step)
    noise = torch.randn(len(images), config.model.pointcloud_latent, generator=generator).to(device)
    with autocast(device, config.optim.amp):
        prediction = network(images, batch["a"].to(device), batch["b"].to(device), noise=noise)
    return point_cloud_loss(prediction, batch["surface"].to(device), config.pointcloud, generator)


@torch.no_grad()
def validate_points(
    model: torch.nn.Module, dataset: ViewDataset, device: torch.device, views_per_shape: int, image_size: int
) -> PointValidation:
    """Mean Chamfer-L1 and F-score of the predicted points on the first ``views_per_shape`` views of each shape."""
    was_training = model.training
    model.eval()
    chamfers, fscores = [], []
    for index, (_, view) in enumerate(dataset.items):
        if view >= views_per_shape:
            continue
        item = dataset[index]
        image = fit_to_size(item["image"][None].to(device), image_size)
        points = model(image, item["a"][None].to(device), item["b"][None].to(device)).points[0].float().cpu().numpy()
        truth = item["surface"].numpy()
        chamfers.append(chamfer_of_points(points, truth).chamfer_l1)
        fscores.append(fscore_of_points(points, truth, FSCORE_TAU).fscore)
    model.train(was_training)
    return PointValidation(float(np.mean(chamfers)), float(np.mean(fscores)))
