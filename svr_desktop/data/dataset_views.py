"""One rendered view of a data-set shape with its ground truth in that view's frame.

Comparing a reconstruction with its ground truth on a known view needs the
view's image and camera parameters ``a, b`` (to reconstruct exactly that
view) and the shape's mesh moved into the view frame (DESIGN.md section 2),
where the reconstruction of that view lives.  Only the shard holding the
shape is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from .build_settings import SPLITS
from .dataset import load_manifest
from .shards import read_shard


@dataclass(frozen=True)
class DatasetView:
    shape_id: str
    view: int
    image: np.ndarray  # (S, S, 3) uint8, the rendered view
    a: float  # orthographic projection parameters of the view
    b: float
    mesh: trimesh.Trimesh  # the ground truth in the view frame (normalized)

    @property
    def name(self) -> str:
        return f"{self.shape_id} view {self.view}"


@dataclass(frozen=True)
class DatasetContents:
    """What a data-set folder offers to pick from: shape ids per split and views per shape."""

    splits: dict[str, list[str]]
    views: int


def dataset_contents(root: str | Path) -> DatasetContents:
    """Shape ids of every split and the number of views, from the manifest (no shard is read)."""
    manifest = load_manifest(root)
    return DatasetContents({split: list(manifest["splits"].get(split, [])) for split in SPLITS}, int(manifest["views"]))


def load_dataset_view(root: str | Path, shape_id: str, view: int) -> DatasetView:
    """Image, ``a, b`` and view-frame ground truth of view ``view`` of shape ``shape_id``."""
    manifest = load_manifest(root)
    shard = next((s for s in manifest["shards"] if shape_id in s["shapes"]), None)
    if shard is None:
        raise ValueError(f"{root}: the data set has no shape '{shape_id}'")
    record = next(r for r in read_shard(Path(root) / shard["file"]) if r.shape_id == shape_id)
    if not 0 <= view < record.views:
        raise ValueError(f"shape '{shape_id}' has views 0 to {record.views - 1}, not {view}")
    return DatasetView(shape_id, view, record.images[view], float(record.a[view]), float(record.b[view]), record.view_mesh(view))
