"""Building a data set: shapes -> labelled points + rendered views -> shards.

``build_dataset`` is a progress generator (see :mod:`svr_desktop.progress`).
Every shape draws from its own generator seeded by ``(seed, index)``, so the
result depends only on the build settings, never on the number of workers or
on interruptions: a rerun skips finished shards and produces the same bytes
as an uninterrupted build.  Each shard is written atomically, followed by a
small JSON sidecar that marks it finished and lists its shapes and the inputs
that were skipped.

Output layout::

    DIR/build.json            settings of the build (a rerun must match them)
    DIR/shards/shard_NNNNN.npz + .json
    DIR/manifest.json         shards, splits by shape, skipped inputs, counts
    DIR/contact_sheet.png     first view of the first shapes
"""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..files import atomic_write_png, atomic_write_text
from ..geometry.frames import normalize_mesh, random_rotation
from ..geometry.layered_depth import layered_depth
from ..geometry.queries import MeshQuery
from ..geometry.sampling import SamplingConfig, sample_training_points, sample_uniform
from ..progress import Progress, ProgressGenerator
from .appearance import PHOTO_LOOK
from .build_settings import DEFAULT_DEPTH_LAYERS, DEFAULT_DEPTH_SIZE, DEFAULT_RENDER_STYLE, STYLES
from .render import Renderer, render_object
from .shards import ShapeRecord, read_shard, write_shard
from .sources import MeshFolderSource, ProceduralSource, ShapeSkipped

#: 2: every view also stores its layered depth (issue 13).
DATASET_FORMAT = 2


@dataclass(frozen=True)
class BuildConfig:
    """Settings that define a data set (``workers`` only changes the speed)."""

    shapes: int | None  # None: every mesh of ``meshes``
    views: int = 4
    seed: int = 0
    image_size: int = 224
    meshes: str | None = None  # folder of mesh files instead of generated parts
    shapes_per_shard: int = 16
    val_points: int = 10_000
    scale_jitter: float = 0.05
    depth_size: int = DEFAULT_DEPTH_SIZE
    depth_layers: int = DEFAULT_DEPTH_LAYERS
    render_style: str = DEFAULT_RENDER_STYLE  # "studio": the look of builds before issue 14 (see data/appearance.py)
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def __post_init__(self) -> None:
        if self.shapes is None and not self.meshes:
            raise ValueError("say how many parts to generate")
        if (self.shapes is not None and self.shapes < 1) or self.views < 1:
            raise ValueError("a data set needs at least one shape and one view")
        if self.image_size < 32:
            raise ValueError("image size must be at least 32 pixels")
        if not 8 <= self.depth_size <= 1024 or not 1 <= self.depth_layers <= 8:
            raise ValueError("depth size must lie in [8, 1024] pixels and depth layers in [1, 8]")
        if self.render_style not in STYLES:
            raise ValueError(f"render style must be one of {', '.join(STYLES)}")
        if abs(sum(self.split_fractions) - 1.0) > 1e-9:
            raise ValueError("split fractions must add up to 1")

    def as_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))

    def source(self):
        if self.meshes:
            return MeshFolderSource(self.meshes, limit=self.shapes)
        return ProceduralSource(self.shapes)


@dataclass(frozen=True)
class BuildReport:
    shapes: int
    skipped: list
    repaired: list
    seconds: float
    built_now: int


# --------------------------------------------------------------- one shape


def build_shape(config: BuildConfig, source, index: int, renderer: Renderer) -> ShapeRecord:
    """Labelled points and rendered views of shape ``index``."""
    rng = np.random.default_rng([config.seed, index])
    shape = source.make(index, rng)
    mesh = normalize_mesh(shape.mesh)[0]
    query = MeshQuery(mesh)
    samples = sample_training_points(mesh, rng, config.sampling, query)
    val_points = sample_uniform(config.val_points, rng).astype(np.float32)
    val_inside = query.inside(val_points)
    rotations, centers, scales, a, b, images, masks, appearances = [], [], [], [], [], [], [], []
    depths = []
    environment = renderer.draw_session(rng)  # one photo session per part: lighting shared by its views
    for _ in range(config.views):
        rotation = random_rotation(rng)
        view_mesh, normalization, view = render_object(mesh, rotation, rng, renderer, environment)
        depths.append(layered_depth(view_mesh, config.depth_size, view.appearance["half_width"], config.depth_layers))
        rotations.append(rotation)
        centers.append(normalization.center)
        scales.append(normalization.scale)
        a.append(view.a)
        b.append(view.b)
        images.append(view.image)
        masks.append(view.mask)
        appearances.append(view.appearance)
    return ShapeRecord(
        shape_id=source.name(index),
        source=shape.source,
        info=shape.info,
        mesh_vertices=np.asarray(mesh.vertices, dtype=np.float32),
        mesh_faces=np.asarray(mesh.faces, dtype=np.int32),
        train_points=samples.points,
        train_distance=samples.distance,
        train_inside=samples.inside,
        voxel_resolution=samples.voxel_resolution,
        val_points=val_points,
        val_inside=val_inside,
        rotations=np.asarray(rotations, dtype=np.float32),
        view_centers=np.asarray(centers, dtype=np.float32),
        view_scales=np.asarray(scales, dtype=np.float32),
        a=np.asarray(a, dtype=np.float32),
        b=np.asarray(b, dtype=np.float32),
        images=np.stack(images),
        masks=np.stack(masks),
        appearances=appearances,
        depth_entry=np.stack([d.entry for d in depths]).astype(np.float16),
        depth_exit=np.stack([d.exit for d in depths]).astype(np.float16),
        depth_count=np.stack([d.count for d in depths]),
        depth_normal=np.stack([d.normal for d in depths]).astype(np.float16),
    )


# --------------------------------------------------------------- one shard

_worker_renderer: Renderer | None = None


def _renderer(config: BuildConfig) -> Renderer:
    """One renderer per process, reused for every shape it builds."""
    global _worker_renderer
    wanted = (config.image_size, config.scale_jitter, config.render_style)
    if _worker_renderer is None or (_worker_renderer.image_size, _worker_renderer.scale_jitter, _worker_renderer.style) != wanted:
        if _worker_renderer is not None:
            _worker_renderer.close()
        _worker_renderer = Renderer(image_size=config.image_size, scale_jitter=config.scale_jitter, style=config.render_style)
    return _worker_renderer


def shard_paths(root: Path, shard: int) -> tuple[Path, Path]:
    stem = root / "shards" / f"shard_{shard:05d}"
    return stem.with_suffix(".npz"), stem.with_suffix(".json")


def build_shard(config_dict: dict, root: str, shard: int, indices: list[int]) -> dict:
    """Build, write and mark finished one shard; returns its sidecar content."""
    config = config_from_dict(config_dict)
    source = config.source()
    renderer = _renderer(config)
    records, skipped = [], []
    for index in indices:
        try:
            records.append(build_shape(config, source, index, renderer))
        except (ShapeSkipped, ValueError, RuntimeError) as exc:
            skipped.append({"index": index, "name": source.name(index), "reason": str(exc)})
    npz_path, json_path = shard_paths(Path(root), shard)
    sidecar = {
        "file": f"shards/{npz_path.name}",
        "shapes": [_shape_summary(record) for record in records],
        "skipped": skipped,
    }
    if records:
        write_shard(npz_path, records)
    atomic_write_text(json_path, json.dumps(sidecar, indent=1, sort_keys=True))
    return sidecar


def _shape_summary(record: ShapeRecord) -> dict:
    """What the manifest lists about a built shape."""
    summary = {"id": record.shape_id, "source": record.source}
    if "repaired" in record.info:
        summary["repaired"] = record.info["repaired"]
    return summary


def config_from_dict(values: dict) -> BuildConfig:
    values = dict(values)
    sampling = dict(values.pop("sampling"))
    sampling["offset_mixture"] = tuple(tuple(pair) for pair in sampling["offset_mixture"])
    values["split_fractions"] = tuple(values["split_fractions"])
    return BuildConfig(**values, sampling=SamplingConfig(**sampling))


# --------------------------------------------------------------- whole build


def _read_sidecar(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _check_settings(root: Path, config: BuildConfig) -> None:
    """Record the settings, or refuse to mix a different build into ``root``."""
    settings_path = root / "build.json"
    wanted = {"format": DATASET_FORMAT, "config": config.as_dict()}
    if config.render_style == "photo":
        wanted["photo_look"] = PHOTO_LOOK
    if settings_path.exists():
        existing = _read_sidecar(settings_path)
        if isinstance(existing, dict) and isinstance(existing.get("config"), dict):
            existing["config"].setdefault("render_style", "studio")  # builds from before the setting
            if existing["config"]["render_style"] == "photo":
                existing.setdefault("photo_look", 1)  # builds from before the part's tone
        if "photo_look" in wanted and isinstance(existing, dict) and existing.get("photo_look", PHOTO_LOOK) != PHOTO_LOOK:
            raise ValueError(
                f"{root} was built with photo look {existing['photo_look']} and this version renders look "
                f"{PHOTO_LOOK}; build into a new folder (the old data set still trains and evaluates as it is)"
            )
        if existing != wanted:
            raise ValueError(
                f"{root} already holds a data set built with other settings; "
                "choose another folder or repeat the original command to resume it"
            )
    else:
        atomic_write_text(settings_path, json.dumps(wanted, indent=1, sort_keys=True))


def split_by_shape(ids: list[str], fractions: tuple[float, float, float], seed: int) -> dict[str, list[str]]:
    """Shuffle shape ids (never views) into train / val / test."""
    order = np.random.default_rng([seed, 7919]).permutation(len(ids))
    n_val = int(round(fractions[1] * len(ids)))
    n_test = int(round(fractions[2] * len(ids)))
    if len(ids) >= 3:
        n_val, n_test = max(n_val, 1), max(n_test, 1)
    shuffled = [ids[i] for i in order]
    return {
        "test": sorted(shuffled[:n_test]),
        "val": sorted(shuffled[n_test : n_test + n_val]),
        "train": sorted(shuffled[n_test + n_val :]),
    }


def write_contact_sheet(root: Path, shard_files: list[str], path: Path, count: int = 48, columns: int = 8, thumb: int = 112) -> None:
    """First view of the first ``count`` shapes as one PNG."""
    thumbs = []
    for name in shard_files:
        for record in read_shard(root / name):
            thumbs.append(Image.fromarray(record.images[0]).resize((thumb, thumb), Image.LANCZOS))
            if len(thumbs) == count:
                break
        if len(thumbs) == count:
            break
    rows = max(1, -(-len(thumbs) // columns))
    sheet = Image.new("RGB", (columns * thumb, rows * thumb), "white")
    for i, image in enumerate(thumbs):
        sheet.paste(image, ((i % columns) * thumb, (i // columns) * thumb))
    atomic_write_png(path, sheet)


def build_dataset(root: str | Path, config: BuildConfig, workers: int = 1) -> ProgressGenerator[BuildReport]:
    """Build (or finish building) the data set in ``root``."""
    start = time.perf_counter()
    root = Path(root)
    source = config.source()  # validates a mesh folder before anything is written
    (root / "shards").mkdir(parents=True, exist_ok=True)
    _check_settings(root, config)
    total = len(source)
    plan = [list(range(i, min(i + config.shapes_per_shard, total))) for i in range(0, total, config.shapes_per_shard)]
    sidecars: dict[int, dict] = {}
    for shard in range(len(plan)):
        npz_path, json_path = shard_paths(root, shard)
        sidecar = _read_sidecar(json_path)
        if sidecar is not None and (npz_path.exists() or not sidecar["shapes"]):
            sidecars[shard] = sidecar
    todo = [shard for shard in range(len(plan)) if shard not in sidecars]
    done_shapes = sum(len(plan[s]) for s in sidecars)
    yield Progress("building shapes", done_shapes, total)
    config_dict = config.as_dict()
    if workers <= 1:
        for shard in todo:
            sidecars[shard] = build_shard(config_dict, str(root), shard, plan[shard])
            done_shapes += len(plan[shard])
            yield Progress("building shapes", done_shapes, total)
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            pending = {pool.submit(build_shard, config_dict, str(root), s, plan[s]): s for s in todo}
            try:
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        shard = pending.pop(future)
                        sidecars[shard] = future.result()
                        done_shapes += len(plan[shard])
                    yield Progress("building shapes", done_shapes, total)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    report = _write_manifest(root, config, [sidecars[s] for s in range(len(plan))])
    return BuildReport(
        shapes=report["shapes"],
        skipped=report["skipped"],
        repaired=report["repaired"],
        seconds=time.perf_counter() - start,
        built_now=len(todo),
    )


def _write_manifest(root: Path, config: BuildConfig, sidecars: list[dict]) -> dict:
    shards = [{"file": s["file"], "shapes": [shape["id"] for shape in s["shapes"]]} for s in sidecars if s["shapes"]]
    shapes = [shape for s in sidecars for shape in s["shapes"]]
    ids = [shape["id"] for shape in shapes]
    skipped = [item for s in sidecars for item in s["skipped"]]
    if not ids:
        # Say why, or the one line leaves the user guessing (a single-triangle mesh, say).
        reasons = "; ".join(f"{item['name']}: {item['reason']}" for item in skipped[:3])
        more = f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        raise ValueError(f"{root}: no usable shapes; nothing was built" + (f" ({reasons}{more})" if reasons else ""))
    manifest = {
        "format": DATASET_FORMAT,
        "config": config.as_dict(),
        "shapes": len(ids),
        "views": config.views,
        "image_size": config.image_size,
        "sources": dict(sorted(Counter(shape["source"] for shape in shapes).items())),
        "shards": shards,
        "splits": split_by_shape(ids, config.split_fractions, config.seed),
        "skipped": skipped,
        "repaired": [{"id": shape["id"], "note": shape["repaired"]} for shape in shapes if "repaired" in shape],
    }
    write_contact_sheet(root, [s["file"] for s in shards], root / "contact_sheet.png")
    atomic_write_text(root / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
    return manifest
