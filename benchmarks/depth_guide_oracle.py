"""Where a depth-guided model loses depth: its head's layers, or its decoder's use of them.

For one random view of every mesh in a folder (studio render, as ``evaluate
--meshes`` draws it), the field IoU at the model's iso-level on uniform
points in the padded cube, read five ways:

* ``decoder``: the model as it is (the decoder reads the layers its head
  predicts);
* ``decoder_true_guide``: the same decoder reading the *true* layers of the
  view (nearest pixel) instead: what a perfect head would give this decoder;
* ``decoder_true_entry``: the predicted layers moved along the ray so that
  the first entry is the true one (the front surface's place known, the
  thickness still predicted);
* ``head``: the head's layers alone (inside between an entry and its exit of
  a layer more likely than not);
* ``true_layers``: the true layers alone, the route's ceiling
  (``layered_depth_ceiling.py``);

and the head's mean absolute errors on the part's pixels: first entry, first
exit (view-frame units, the part's longest side is 1), and how often it is
right about a second layer.

    python benchmarks/depth_guide_oracle.py [--checkpoint CK] [--meshes ../shared/dev-meshes] [--points 30000]

Prints one row per view and ends with one JSON line of the means.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from svr_desktop.evaluation.views import render_mesh_folder
from svr_desktop.geometry.frames import PADDED_HALF
from svr_desktop.geometry.layered_depth import LayeredDepth, layered_depth, occupancy_from_layers
from svr_desktop.geometry.queries import MeshQuery
from svr_desktop.model.checkpoint import build_model, read_model_checkpoint
from svr_desktop.model.images import image_to_tensor
from svr_desktop.model.layered_depth_head import decode_layers, guide_from_bounds, layer_bounds
from svr_desktop.model.projection import project, sample_at
from svr_desktop.paths import default_model_path
from svr_desktop.progress import run_to_completion

READINGS = ("decoder", "decoder_true_guide", "decoder_true_entry", "head", "true_layers")


def iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    union = int((predicted | truth).sum())
    return 1.0 if union == 0 else int((predicted & truth).sum()) / union


def true_bounds_at(depth: LayeredDepth, points: np.ndarray, half_width: float):
    """The true layers at each point's pixel (nearest) as (entry, exit, exists), each (1, N, K)."""
    size = depth.count.shape[0]
    col = np.floor((points[:, 0] / half_width + 1.0) * size / 2.0).astype(np.int64)
    row = np.floor((1.0 - points[:, 1] / half_width) * size / 2.0).astype(np.int64)
    seen = (col >= 0) & (col < size) & (row >= 0) & (row < size)
    col, row = np.clip(col, 0, size - 1), np.clip(row, 0, size - 1)
    exists = (depth.count[row, col][:, None] > np.arange(depth.layers)) & seen[:, None]
    as_tensor = lambda array: torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None]  # noqa: E731
    return as_tensor(depth.entry[:, row, col].T), as_tensor(depth.exit[:, row, col].T), as_tensor(exists)


def score_view(model, view, level: float, points: np.ndarray) -> dict:
    """The five readings' IoU and the head's errors for one view."""
    layers, size = model.config.depth_layers, model.config.image_size
    half_width = 1.0 / view.a
    truth = MeshQuery(view.ground_truth).inside(points)
    depth = layered_depth(view.ground_truth, size, half_width, layers)
    query = torch.from_numpy(points.astype(np.float32))[None]
    z = query[..., 2]
    with torch.no_grad():
        encoded = model.encode(image_to_tensor(view.image, size))
        features = model.encoder.sample(encoded.features, query, view.a, view.b)
        entry, exit_, probability = layer_bounds(sample_at(encoded.layers, project(query, view.a, view.b)), layers)
        true_entry, true_exit, exists = true_bounds_at(depth, points, half_width)
        shift = torch.where(exists[..., :1] > 0, true_entry[..., :1] - entry[..., :1], torch.zeros_like(entry[..., :1]))

        def decoded(guide: torch.Tensor) -> np.ndarray:
            return (torch.sigmoid(model.decoder(features, query, guide))[0] > level).numpy()

        head_inside = ((probability > 0.5) & (z[..., None] <= entry) & (z[..., None] >= exit_)).any(-1)[0].numpy()
        readings = {
            "decoder": decoded(guide_from_bounds(entry, exit_, probability, z)),
            "decoder_true_guide": decoded(guide_from_bounds(true_entry, true_exit, exists, z)),
            "decoder_true_entry": decoded(guide_from_bounds(entry + shift, exit_ + shift, probability, z)),
            "head": head_inside,
            "true_layers": occupancy_from_layers(depth, points, half_width),
        }
        maps = decode_layers(F.interpolate(encoded.layers, size=(size, size), mode="bilinear", align_corners=False).float(), layers)
    part = depth.count > 0
    second = torch.sigmoid(maps.valid_logit[0, 1]).numpy() > 0.5
    row = {name: iou(inside, truth) for name, inside in readings.items()}
    row["entry_error"] = float(np.abs(maps.entry[0, 0].numpy() - depth.entry[0])[part].mean())
    row["exit_error"] = float(np.abs(maps.exit[0, 0].numpy() - depth.exit[0])[part].mean())
    row["second_layer_right"] = float((second == (depth.count > 1))[part].mean())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None, help="a depth-guided model (default: the shipped one)")
    parser.add_argument("--meshes", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "dev-meshes")
    parser.add_argument("--points", type=int, default=30_000, help="uniform points per view")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = args.checkpoint or default_model_path()
    checkpoint = read_model_checkpoint(path)
    if not checkpoint.model_config.depth_guided:
        raise SystemExit(f"{path}: not a depth-guided model (nothing to read the true layers into)")
    torch.set_num_threads(1)
    model = build_model(checkpoint).eval()
    level = checkpoint.iso_level
    views = run_to_completion(render_mesh_folder(args.meshes, views=1, seed=args.seed, image_size=model.config.image_size)).views
    rows = []
    print(f"model {path}, level {level}, {len(views)} views, {args.points:,} points each")
    print(f"{'view':32s} " + " ".join(f"{name[:18]:>18s}" for name in READINGS) + "  entry   exit  2nd")
    for index, view in enumerate(views):
        points = np.random.default_rng([args.seed, index]).uniform(-PADDED_HALF, PADDED_HALF, (args.points, 3))
        row = score_view(model, view, level, points)
        rows.append(row)
        print(f"{view.name[-32:]:32s} " + " ".join(f"{row[name]:18.3f}" for name in READINGS)
              + f" {row['entry_error']:6.3f} {row['exit_error']:6.3f} {row['second_layer_right']:4.2f}", flush=True)
    means = {key: round(float(np.mean([row[key] for row in rows])), 4) for key in rows[0]}
    print(json.dumps({"checkpoint": str(path), "meshes": str(args.meshes), "views": len(rows), "level": level, **means}))


if __name__ == "__main__":
    main()
