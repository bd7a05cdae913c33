"""The data set as torch sees it: one item per (shape, view).

An item holds the view's image, its camera parameters ``a, b``, training
points already moved into that view's frame (rotation, then the view's
renormalization) with distances rescaled to the view frame's voxels and the
inside flags, and (training items) the view's layered depth as float32.
The default collate of ``torch.utils.data.DataLoader`` stacks items into
batches, since every item of a data set has the same shapes.

Points are subsampled per item from a generator seeded by
``(seed, epoch, index)``: runs are reproducible, resumable at any epoch, and
every DistributedDataParallel rank draws the same points for the same item.
Methods that predict points instead of a field (``pointcloud``) ask for
``surface_points``: that many area-uniform samples of the view's
ground-truth surface (``surface``, view frame), drawn from a generator of
their own seeded by ``(seed, epoch, index, SURFACE_STREAM)``, so asking for
them leaves the other draws unchanged.
``turn_degrees`` > 0 turns each training item about the view axis by an
angle drawn uniformly within +- that many degrees (seeded by ``(seed,
epoch, index, TURN_STREAM)``): the image, its depth layers and normals, and
the points move together (:mod:`..geometry.image_turns`), so the labels stay
exact.  The network's depth was unsteady under such turns (docs/method.md,
"Turned copies of the input"); turned views teach it the same part at more
angles for no rendering.  Distances to the surface are kept as they are:
exact when ``a = b``, and off by the turn's small stretch otherwise.
The split's shards are memory-mapped from uncompressed copies in
``root/cache`` (about 2.7 MB per shape at 160 px, 4 views and 3 depth
layers), so processes training on the same data set share one copy.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from pydantic import StrictInt, StrictStr, TypeAdapter, ValidationError
from torch.utils.data import Dataset
from typing_extensions import NotRequired, TypedDict  # pydantic needs these on Python < 3.12

from ..geometry.image_turns import turn_image, turn_maps, turn_matrix, turn_normals
from ..geometry.sampling import sample_surface
from ..validation import describe
from .build_settings import SPLITS
from .builder import DATASET_FORMAT
from .shards import ShapeRecord, read_mapped_shard, read_shard

#: Folder of a data set holding the uncompressed shard copies that training maps (safe to delete).
CACHE_DIR = "cache"
#: Last seed word of the surface samples' generator (keeps it apart from the training points' one).
SURFACE_STREAM = 1
#: Last seed word of the training turns' generator.
TURN_STREAM = 2


class _Shard(TypedDict):
    file: StrictStr
    shapes: list[StrictStr]


class _Splits(TypedDict):
    train: list[StrictStr]
    val: list[StrictStr]
    test: list[StrictStr]


class _BuildSettings(TypedDict, total=False):
    meshes: StrictStr | None


class _Manifest(TypedDict):
    """What readers of a manifest rely on (the builder writes more)."""

    format: StrictInt
    splits: _Splits
    shards: list[_Shard]
    config: NotRequired[_BuildSettings]


_MANIFEST = TypeAdapter(_Manifest)


def load_manifest(root: str | Path) -> dict:
    """Read ``root/manifest.json`` with a clear error when it is missing or broken."""
    path = Path(root) / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{root}: no manifest.json; build a data set there first (svr-desktop dataset build)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: unreadable data-set manifest ({exc})") from exc
    except RecursionError:
        raise ValueError(f"{path}: unreadable data-set manifest (nested too deeply)") from None
    try:
        _MANIFEST.validate_python(manifest)
    except ValidationError as exc:
        raise ValueError(f"{path}: not a data-set manifest ({describe(exc, root='manifest')})") from None
    if manifest["format"] != DATASET_FORMAT:
        raise ValueError(
            f"{root}: data-set format {manifest['format']} is not this version's format {DATASET_FORMAT} "
            "(format 2 added layered depth); rebuild it with the same 'svr-desktop dataset build' command into a new folder"
        )
    return manifest


def load_split(root: str | Path, split: str, mapped: bool = False) -> list[ShapeRecord]:
    """The shape records of one split, in id order.

    ``mapped``: arrays are read-only views of memory-mapped uncompressed
    copies in ``root/cache`` (made on first use; see
    :func:`.shards.read_mapped_shard`), shared by every process that maps them.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split '{split}' (choose from {', '.join(SPLITS)})")
    manifest = load_manifest(root)
    wanted = set(manifest["splits"][split])
    records = [
        record
        for shard in manifest["shards"]
        if wanted.intersection(shard["shapes"])
        for record in (
            read_mapped_shard(Path(root) / shard["file"], _cache_dir(Path(root), shard["file"])) if mapped else read_shard(Path(root) / shard["file"])
        )
        if record.shape_id in wanted
    ]
    return sorted(records, key=lambda record: record.shape_id)


def _cache_dir(root: Path, shard_file: str) -> Path:
    """Where the uncompressed copy of a shard goes.

    A data set's own shards are copied to ``root/cache``.  A mix (:mod:`.mix`)
    lists shards of other data sets, which name their shards alike; copies of
    shards outside ``root`` go to one folder per source folder, so that they
    never overwrite each other.
    """
    shard = (root / shard_file).resolve()
    if shard.is_relative_to(root.resolve()):
        return root / CACHE_DIR
    return root / CACHE_DIR / hashlib.sha256(str(shard.parent).encode()).hexdigest()[:12]


class ViewDataset(Dataset):
    """Items of one split: ``point_set='train'`` draws ``points_per_view`` labelled
    training points per item; ``'val'`` gives every validation point (uniform
    in the padded cube, inside flags only) for the quick validation IoU.
    ``surface_points`` > 0 adds that many ground-truth surface samples per
    item (``surface``, (surface_points, 3), view frame)."""

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        points_per_view: int = 2048,
        point_set: str = "train",
        seed: int = 0,
        surface_points: int = 0,
        turn_degrees: float = 0.0,
    ):
        if point_set not in ("train", "val"):
            raise ValueError("point_set must be 'train' or 'val'")
        if turn_degrees and point_set != "train":
            raise ValueError("only training items are turned")
        self.records = load_split(root, split, mapped=True)
        if not self.records:
            raise ValueError(f"{root}: the '{split}' split is empty")
        self.items = [(r, v) for r, record in enumerate(self.records) for v in range(record.views)]
        self.points_per_view = points_per_view
        self.point_set = point_set
        self.seed = seed
        self.surface_points = surface_points
        self.turn_degrees = turn_degrees
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose point subsets ``__getitem__`` draws."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        record_index, view = self.items[index]
        record = self.records[record_index]
        scale = float(record.view_scales[view])
        if self.point_set == "train":
            rng = np.random.default_rng([self.seed, self.epoch, index])
            count = len(record.train_points)
            chosen = rng.choice(count, self.points_per_view, replace=self.points_per_view > count)
            points = record.train_points[chosen]
            distance = record.train_distance[chosen] * scale
            inside = record.train_inside[chosen]
        else:
            points = record.val_points
            distance = np.zeros(len(points), dtype=np.float32)
            inside = record.val_inside
        image = np.array(record.images[view])
        points = record.to_view(points, view)
        a, b = float(record.a[view]), float(record.b[view])
        degrees = self._turn(index)
        if degrees:
            image = turn_image(image, degrees)
            points = points @ turn_matrix(degrees, a, b).T
        item = {
            "image": torch.from_numpy(image).permute(2, 0, 1).float().div_(255.0),
            "a": torch.tensor(a),
            "b": torch.tensor(b),
            "points": torch.from_numpy(points.astype(np.float32)),
            "distance": torch.from_numpy(np.asarray(distance, dtype=np.float32)),
            "inside": torch.from_numpy(np.array(inside, dtype=bool)),
            "shape_index": torch.tensor(record_index),
            "view": torch.tensor(view),
        }
        if self.point_set == "train":
            item.update(self._depth_targets(record, view, degrees, a, b))
        if self.surface_points:
            rng = np.random.default_rng([self.seed, self.epoch, index, SURFACE_STREAM])
            surface, _ = sample_surface(record.view_mesh(view), self.surface_points, rng)
            if degrees:
                surface = surface @ turn_matrix(degrees, a, b).T
            item["surface"] = torch.from_numpy(surface.astype(np.float32))
        return item

    @staticmethod
    def _depth_targets(record: ShapeRecord, view: int, degrees: float, a: float, b: float) -> dict[str, torch.Tensor]:
        """The view's layered depth as float32 (layer counts int64), turned by ``degrees`` like its image."""
        entry = record.depth_entry[view].astype(np.float32)
        exit_ = record.depth_exit[view].astype(np.float32)
        count = record.depth_count[view]
        normal = record.depth_normal[view].astype(np.float32)
        if degrees:
            # One turn of all the maps stacked: every channel takes the same source pixel.
            layers = len(entry)
            stacked = np.concatenate([entry, exit_, count[None].astype(np.float32), turn_normals(normal, degrees, a, b)])
            entry, exit_, count, normal = np.split(turn_maps(stacked, degrees), [layers, 2 * layers, 2 * layers + 1])
            count = count[0]
        return {
            "depth_entry": torch.from_numpy(entry),
            "depth_exit": torch.from_numpy(exit_),
            "depth_count": torch.from_numpy(count.astype(np.int64)),
            "depth_normal": torch.from_numpy(normal),
        }

    def _turn(self, index: int) -> float:
        """This epoch's turn of item ``index`` in degrees (0 when turns are off)."""
        if not self.turn_degrees:
            return 0.0
        rng = np.random.default_rng([self.seed, self.epoch, index, TURN_STREAM])
        return float(rng.uniform(-self.turn_degrees, self.turn_degrees))
