"""Data-set shards: a few shapes per compressed ``.npz`` file.

A shard holds, for each of its shapes, the normalized object-frame mesh, the
label-ready training points, quick validation points and every rendered view
(see :class:`ShapeRecord`).  Only plain arrays are stored: loading uses
``allow_pickle=False``, so a shard can never run code.  Writing is atomic and
byte-for-byte deterministic (numpy writes fixed zip timestamps), which makes
builds reproducible and resumable.

Training reads shards through :func:`read_mapped_shard`: an uncompressed copy
of the shard, made once, whose arrays are views of one read-only memory map.
The operating system then keeps one copy of the data in its page cache for
every process that trains on it (two DistributedDataParallel processes on
4,800 shapes held 11.6 GB each when they decompressed their own copies).
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import trimesh

from ..files import atomic_write_bytes

#: 2 added the layered depth of every view (issue 13); format 1 shards lack it.
SHARD_FORMAT = 2


@dataclass(frozen=True)
class ShapeRecord:
    """Everything the data set keeps about one shape and its views.

    Object-frame arrays are in normalized units (longest bbox edge 1).  View
    ``k`` maps object-frame points to its view frame as
    ``(points @ rotations[k].T - view_centers[k]) * view_scales[k]``;
    distances scale by ``view_scales[k]``, inside flags are unchanged.
    """

    shape_id: str
    source: str  # part family, or mesh file name
    info: dict  # JSON-serializable: generator parameters, repair notes, ...
    mesh_vertices: np.ndarray  # (Nv, 3) float32
    mesh_faces: np.ndarray  # (Nf, 3) int32
    train_points: np.ndarray  # (N, 3) float32
    train_distance: np.ndarray  # (N,) float32, voxels of the sampling grid
    train_inside: np.ndarray  # (N,) bool
    voxel_resolution: int
    val_points: np.ndarray  # (M, 3) float32, uniform in the padded cube
    val_inside: np.ndarray  # (M,) bool
    rotations: np.ndarray  # (V, 3, 3) float32
    view_centers: np.ndarray  # (V, 3) float32
    view_scales: np.ndarray  # (V,) float32
    a: np.ndarray  # (V,) float32
    b: np.ndarray  # (V,) float32
    images: np.ndarray  # (V, H, W, 3) uint8
    masks: np.ndarray  # (V, H, W) bool
    appearances: list  # V JSON-serializable dicts
    # Layered depth of each view at the build's depth size D (K layers; see
    # geometry/layered_depth.py): view-frame z of every layer's entry and exit
    # (0 where missing), layers per pixel, normal of the first hit.
    depth_entry: np.ndarray  # (V, K, D, D) float16
    depth_exit: np.ndarray  # (V, K, D, D) float16
    depth_count: np.ndarray  # (V, D, D) uint8
    depth_normal: np.ndarray  # (V, 3, D, D) float16

    @property
    def views(self) -> int:
        return len(self.rotations)

    def to_view(self, points: np.ndarray, view: int) -> np.ndarray:
        """Map object-frame points into view ``view``'s frame."""
        return (points @ self.rotations[view].T - self.view_centers[view]) * self.view_scales[view]

    def view_mesh(self, view: int) -> trimesh.Trimesh:
        """The stored ground-truth mesh moved into view ``view``'s frame."""
        vertices = self.to_view(self.mesh_vertices.astype(np.float64), view)
        return trimesh.Trimesh(vertices, self.mesh_faces, process=False)


_JSON_FIELDS = ("shape_id", "source", "info", "voxel_resolution", "appearances")
_ARRAY_FIELDS = tuple(f.name for f in fields(ShapeRecord) if f.name not in _JSON_FIELDS)


def shard_bytes(records: list[ShapeRecord], compress: bool = True) -> bytes:
    """Serialize shape records into the bytes of one ``.npz`` shard (``compress=False``: stored, mappable)."""
    arrays: dict[str, np.ndarray] = {}
    meta = []
    for index, record in enumerate(records):
        meta.append({name: getattr(record, name) for name in _JSON_FIELDS})
        for name in _ARRAY_FIELDS:
            arrays[f"{index}/{name}"] = np.ascontiguousarray(getattr(record, name))
    arrays["meta"] = np.array(json.dumps({"format": SHARD_FORMAT, "shapes": meta}, sort_keys=True))
    buffer = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buffer, **arrays)
    return buffer.getvalue()


def write_shard(path: str | Path, records: list[ShapeRecord]) -> None:
    """Write a shard atomically (temporary file + rename)."""
    atomic_write_bytes(path, shard_bytes(records))


def read_shard(path: str | Path) -> list[ShapeRecord]:
    """Load a shard's records; raises ``ValueError`` for a corrupt or foreign file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = [
                {name: data[f"{index}/{name}"] for name in _ARRAY_FIELDS}
                for index in range(len(meta["shapes"]))
            ]
    except (OSError, KeyError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable data-set shard ({exc})") from exc
    return _checked(path, _records(path, meta, arrays), check_values=True)


def _records(path, meta: dict, arrays: list[dict]) -> list[ShapeRecord]:
    if meta.get("format") != SHARD_FORMAT:
        raise ValueError(
            f"{path}: shard format {meta.get('format')} is not {SHARD_FORMAT} (it predates layered depth); "
            "rebuild the data set with the same 'svr-desktop dataset build' command into a new folder"
        )
    return [ShapeRecord(**shape_meta, **shape_arrays) for shape_meta, shape_arrays in zip(meta["shapes"], arrays)]


def _checked(path, records: list[ShapeRecord], check_values: bool) -> list[ShapeRecord]:
    """``records`` of the shard ``path``, once :func:`record_problem` finds nothing wrong with them."""
    for record in records:
        problem = record_problem(record, check_values)
        if problem:
            raise ValueError(
                f"{path}: shape {record.shape_id}: {problem}; rebuild the data set with 'svr-desktop dataset build'"
            )
    return records


#: Each array's shape in symbols: V views, H x W images, K depth layers, D x D depth maps; N, M, F counts.
_SHAPES = {
    "mesh_vertices": ("Nv", 3),
    "mesh_faces": ("F", 3),
    "train_points": ("N", 3),
    "train_distance": ("N",),
    "train_inside": ("N",),
    "val_points": ("M", 3),
    "val_inside": ("M",),
    "rotations": ("V", 3, 3),
    "view_centers": ("V", 3),
    "view_scales": ("V",),
    "a": ("V",),
    "b": ("V",),
    "images": ("V", "H", "W", 3),
    "masks": ("V", "H", "W"),
    "depth_entry": ("V", "K", "D", "D"),
    "depth_exit": ("V", "K", "D", "D"),
    "depth_count": ("V", "D", "D"),
    "depth_normal": ("V", 3, "D", "D"),
}
#: Arrays of real numbers, which must all be finite.
_REAL = ("mesh_vertices", "train_points", "train_distance", "val_points", "rotations", "view_centers",
         "view_scales", "a", "b", "depth_entry", "depth_exit", "depth_normal")


def record_problem(record: ShapeRecord, check_values: bool = True) -> str | None:
    """What is wrong with a shape record's arrays (shapes, kinds, and with ``check_values`` NaN or
    infinite numbers), or ``None``.

    A shard holding single-channel images or NaN points used to be trained on
    silently (a NaN loss, a validation IoU of 0) or to fail in a data-loader
    worker with a traceback.  The shapes and kinds cost nothing to check; the
    values are checked when a shard is decompressed (not on every memory map).
    """
    sizes: dict[str, tuple[int, str]] = {}  # symbol -> (its size, the array it was read from)
    for name, expected in _SHAPES.items():
        array = getattr(record, name)
        shown = " x ".join(map(str, expected))
        if not isinstance(array, np.ndarray) or array.ndim != len(expected):
            got = getattr(array, "shape", type(array).__name__)
            return f"{name} should be an array of {shown}, got {got}"
        for size, symbol in zip(array.shape, expected):
            if isinstance(symbol, int):
                if size != symbol:
                    return f"{name} should be an array of {shown}, got {array.shape}"
            elif sizes.setdefault(symbol, (size, name))[0] != size:
                known, source = sizes[symbol]
                return f"{name} should be an array of {shown} with {symbol} = {known} as in {source}, got {array.shape}"
    if record.images.dtype != np.uint8:
        return f"images should be 8-bit RGB (uint8), got {record.images.dtype}"
    if record.views == 0 or record.images.shape[1] == 0 or record.images.shape[2] == 0:
        return "it has no views"
    for name in _REAL:
        if getattr(record, name).dtype.kind != "f":
            return f"{name} should hold real numbers, got {getattr(record, name).dtype}"
    if record.mesh_faces.dtype.kind not in "iu":
        return f"mesh_faces should hold vertex indices (integers), got {record.mesh_faces.dtype}"
    if not check_values:
        return None
    if len(record.mesh_faces) and (record.mesh_faces.min() < 0 or record.mesh_faces.max() >= len(record.mesh_vertices)):
        return "mesh_faces refer to vertices that do not exist"
    for name in _REAL:
        if not np.isfinite(getattr(record, name)).all():
            return f"{name} hold NaN or infinite values"
    return None


def read_mapped_shard(path: str | Path, cache_dir: str | Path) -> list[ShapeRecord]:
    """A shard's records with read-only arrays memory-mapped from an uncompressed copy in ``cache_dir``.

    The copy is made (atomically) the first time, or again when the shard is
    newer than it.  When ``cache_dir`` cannot be written (a read-only data
    set), the shard is read into memory as by :func:`read_shard`.
    """
    path, cache = Path(path), Path(cache_dir) / Path(path).name
    try:
        if not cache.exists() or cache.stat().st_mtime_ns < path.stat().st_mtime_ns:
            records = read_shard(path)
            cache.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(cache, shard_bytes(records, compress=False))
    except PermissionError:
        return read_shard(path)
    try:
        records = _read_stored(cache)
    except (OSError, KeyError, ValueError, struct.error, zipfile.BadZipFile) as exc:
        raise ValueError(f"{cache}: not a readable data-set cache ({exc}); delete it to have it made again") from exc
    # The values were checked when the copy was made (by read_shard); shapes and kinds cost nothing.
    return _checked(path, records, check_values=False)


def _array_header(handle) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype of the ``.npy`` whose header starts at ``handle``'s position."""
    version = np.lib.format.read_magic(handle)
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    if version not in readers:
        raise ValueError(f".npy format version {version} is not supported")
    shape, fortran, dtype = readers[version](handle)
    if dtype.hasobject:  # object arrays are pickles: never
        raise ValueError("an array of Python objects")
    return shape, fortran, dtype


def _read_stored(path: Path) -> list[ShapeRecord]:
    """Records whose arrays are views of one memory map of a stored (uncompressed) ``.npz``.

    One map per file, not per array: a data set has hundreds of thousands of
    arrays and a process only a limited number of maps.
    """
    whole = np.memmap(path, dtype=np.uint8, mode="r")
    with zipfile.ZipFile(path) as archive, open(path, "rb") as handle:
        members = {}
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"member {info.filename} is compressed")
            handle.seek(info.header_offset + 26)  # local header: name and extra field lengths
            name_length, extra_length = struct.unpack("<HH", handle.read(4))
            handle.seek(info.header_offset + 30 + name_length + extra_length)
            shape, fortran, dtype = _array_header(handle)
            members[info.filename.removesuffix(".npy")] = np.ndarray(
                shape, dtype, buffer=whole, offset=handle.tell(), order="F" if fortran else "C"
            )
    meta = json.loads(str(members["meta"]))
    arrays = [{name: members[f"{index}/{name}"] for name in _ARRAY_FIELDS} for index in range(len(meta["shapes"]))]
    return _records(path, meta, arrays)
