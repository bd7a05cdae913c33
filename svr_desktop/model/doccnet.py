"""The ``d-occnet`` method: D-OccNet (reference 004), two occupancy networks in a row.

Stage 1 is an ``occnet`` (:mod:`.occnet`): image -> mesh.  Between the two,
the mesh becomes a small point cloud; stage 2 encodes that cloud with a
PointNet into one vector and decodes occupancy with OccNet's CBN decoder.
The reference argues that the cloud carries 3D information the image vector
lacks, so stage 2 recovers detail stage 1 loses.

* **Between the stages** (:meth:`DOccNet.stage_one_points`): stage 1's
  field is meshed at :data:`STAGE_ONE_RESOLUTION` (MISE, as every
  reconstruction here) and ``doccnet_points`` points (paper: 300) are drawn
  uniformly by area from it with a fixed seed, so a photo always gives the
  same cloud.  The paper decimates the mesh to 300 vertices in MeshLab
  instead; area samples cover the surface as evenly and need no tool.
* **Stage 2**: :class:`PointNetEncoder` (shared per-point layers whose
  max-pool is fed back to every point, as in OccNet's simple PointNet) ->
  ``doccnet_features`` values (paper: 512) -> :class:`~.occnet.CBNDecoder`.
* **Training**: stage 1 is a trained ``occnet`` checkpoint, attached once
  (:meth:`DOccNet.attach_stage_one`) and frozen; stage 2 trains on clouds
  sampled from the ground-truth surface (optionally noised, to look like
  stage 1's output), passed as ``forward(..., shape_points=...)``.  Queried
  from images (validation, reconstruction, evaluation) the whole chain runs,
  so stage 2 is always scored on stage 1's output.

Stage 1 reads the occnet fields of the config (``width``,
``global_features``, ``occnet_hidden``, ``occnet_blocks``, ``image_size``),
which :func:`stage_one_config` copies from the stage-1 checkpoint; stage 2's
decoder and PointNet use ``occnet_hidden`` and ``occnet_blocks`` too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from svr_desktop.model.implicit import Encoded, ImplicitNetwork, count_parameters
from svr_desktop.model.occnet import CBNDecoder, OccNet
from svr_desktop.progress import run_to_completion

if TYPE_CHECKING:
    from svr_desktop.model.config import ModelConfig

#: Grid on which stage 1's field is meshed before sampling (MISE from 16^3):
#: about the detail of the paper's 8,000-12,000-vertex stage-1 meshes.
STAGE_ONE_RESOLUTION = 64
#: The fields of ModelConfig that describe stage 1 (an occnet network).
STAGE_ONE_FIELDS = ("width", "global_features", "occnet_hidden", "occnet_blocks", "image_size")
#: Seed of the samples drawn from stage 1's mesh: one photo, one cloud.
_SAMPLING_SEED = 0


class PointNetEncoder(nn.Module):
    """A point cloud (B, N, 3) -> one vector (B, features), independent of the points' order.

    Four shared linear layers; after each of the first three the max over
    the points is concatenated to every point's features, so that each
    point sees the whole cloud before the last max-pool.
    """

    def __init__(self, hidden: int, features: int) -> None:
        super().__init__()
        self.point_in = nn.Linear(3, 2 * hidden)
        self.layers = nn.ModuleList(nn.Linear(2 * hidden, hidden) for _ in range(4))
        self.out = nn.Linear(hidden, features)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        x = self.point_in(points)
        for index, layer in enumerate(self.layers):
            x = layer(torch.relu(x))
            if index < len(self.layers) - 1:
                pooled = x.max(dim=1, keepdim=True).values.expand_as(x)
                x = torch.cat([x, pooled], dim=-1)
        return self.out(torch.relu(x.max(dim=1).values))


class DOccNet(ImplicitNetwork):
    """Stage 1 (a frozen :class:`OccNet`) -> point cloud -> PointNet + CBN decoder: occupancy logits."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.stage_one = OccNet(config)
        self.stage_one.requires_grad_(False)
        self.point_encoder = PointNetEncoder(config.occnet_hidden, config.doccnet_features)
        self.decoder = CBNDecoder(config.doccnet_features, config.occnet_hidden, config.occnet_blocks)

    def train(self, mode: bool = True) -> DOccNet:
        """Stage 2 follows ``mode``; the frozen stage 1 always runs in eval mode (its batch norms' statistics stay)."""
        super().train(mode)
        self.stage_one.eval()
        return self

    def attach_stage_one(self, occnet_state: dict[str, torch.Tensor]) -> None:
        """Load a trained occnet's weights (its ``model_state``) as stage 1 (strict)."""
        self.stage_one.load_state_dict(occnet_state, strict=True)

    @torch.no_grad()
    def stage_one_points(self, images: torch.Tensor) -> torch.Tensor:
        """(B, doccnet_points, 3) view-frame samples of stage 1's mesh of each image.

        When stage 1 sees nothing (no surface in its field), the cloud is the
        grid points it finds most likely inside.
        """
        # Meshing needs trimesh, scipy and igl: imported here, where stage 1 is meshed, so that
        # checking a training config (which builds every method's network) does not load them (issue 15).
        from svr_desktop.geometry.extraction import extract_mesh, grid_points
        from svr_desktop.geometry.sampling import sample_surface

        count = self.config.doccnet_points
        if images.is_meta:  # the size check (config.model_size) runs encode on the meta device: nothing to mesh
            return images.new_empty(len(images), count, 3)
        encoded = self.stage_one.encode(images)
        clouds = []
        for index in range(len(images)):
            one = Encoded(encoded.features[index : index + 1], None)

            def logits(points: np.ndarray, one=one) -> np.ndarray:
                query = torch.from_numpy(points).to(images.device, torch.float32)[None]
                return self.stage_one.query(one, query, None, None)[0].float().cpu().numpy()

            mesh, _ = run_to_completion(extract_mesh(logits, STAGE_ONE_RESOLUTION, threshold=0.0, initial_resolution=16))
            if len(mesh.faces):
                cloud, _ = sample_surface(mesh, count, np.random.default_rng(_SAMPLING_SEED))
            else:
                cloud = _most_likely_inside(logits, count, grid_points(16))
            clouds.append(torch.from_numpy(np.asarray(cloud, dtype=np.float32)))
        return torch.stack(clouds).to(images.device)

    def encode_points(self, shape_points: torch.Tensor) -> Encoded:
        """Stage 2's encoding of point clouds (B, N, 3) in the view frame."""
        return Encoded(self.point_encoder(shape_points), None)

    def _encode(self, images: torch.Tensor) -> Encoded:
        return self.encode_points(self.stage_one_points(images))

    def query(self, encoded: Encoded, points: torch.Tensor, a, b) -> torch.Tensor:
        return self.decoder(points, encoded.features)

    def forward(self, images: torch.Tensor, points: torch.Tensor, a, b, with_layers: bool = False, shape_points=None):
        """As :meth:`ImplicitNetwork.forward`; with ``shape_points`` (B, N, 3) stage 2 runs on them and the images are not used."""
        if shape_points is None:
            return super().forward(images, points, a, b, with_layers)
        output = self.query(self.encode_points(shape_points), points, a, b)
        return (output, None) if with_layers else output

    def parameter_count(self) -> dict[str, int]:
        """Parameters: stage 1 (frozen, not trained here), stage 2's PointNet and decoder, and the total of all."""
        stage_one = sum(p.numel() for p in self.stage_one.parameters())
        encoder, decoder = count_parameters(self.point_encoder), count_parameters(self.decoder)
        return {"stage_one": stage_one, "point_encoder": encoder, "decoder": decoder, "total": stage_one + encoder + decoder}


def _most_likely_inside(logits, count: int, grid: np.ndarray) -> np.ndarray:
    """The ``count`` points of ``grid`` (the coarsest MISE grid, 16^3 cells) with the highest stage-1 logits."""
    best = np.argsort(logits(grid))[::-1][:count]
    return grid[np.resize(best, count)]


def stage_one_config(config: ModelConfig, occnet: ModelConfig) -> ModelConfig:
    """``config`` (a d-occnet one) with the stage-1 sizes of a trained ``occnet`` checkpoint's config."""
    if occnet.method != "occnet":
        raise ValueError(f"stage 1 of d-occnet is an occnet checkpoint, not a {occnet.method} one")
    return replace(config, **{name: getattr(occnet, name) for name in STAGE_ONE_FIELDS})
