"""Mesh extraction from an implicit field: grid evaluation, MISE, marching cubes.

A *field* is a batched callable ``f(points) -> values`` taking an ``(N, 3)``
float32 array of view-frame points and returning ``N`` values, where *inside*
means ``value > threshold``: occupancy probabilities use threshold 0.5, an SDF
caller passes ``-sdf`` and threshold 0.

Fields are sampled on a regular grid over the padded cube
``[-PADDED_HALF, PADDED_HALF]^3``: ``resolution`` is the number of grid
*cells* per axis, so the grid has ``resolution + 1`` points per axis and
volumes are indexed ``volume[i, j, k]`` with ``i, j, k`` along x, y, z.

Two ways to fill the grid:

* ``dense``: query every grid point.  Simple, and the reference MISE is
  compared against, but 256^3 means 16.8M decoder queries (minutes on a CPU).
* ``mise``: multiresolution iso-surface extraction, as in occupancy_networks'
  ``Generator3D``.  Query a coarse grid, then repeatedly double the
  resolution, querying only the points of cells near the surface; every other
  point takes the trilinear interpolation of the coarser level, which stays
  on the side of the threshold that the corners of its coarse cell agree on.
  The number of queries grows with the surface area instead of the volume.

Either way the grid is turned into a closed, outward-oriented triangle mesh by
:func:`volume_to_mesh` (PyMCubes marching cubes on a padded volume, slab by
slab).

All long work is a generator that yields :class:`~svr_desktop.progress.Progress`
after every chunk of queries or slab of marching cubes and returns its
result, so callers show progress and cancel between chunks (DESIGN.md
section 4).  No step holds Python's GIL for long, so a GUI thread running
beside the work stays responsive.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Literal, TypeVar

import mcubes
import numpy as np
import trimesh
from scipy import ndimage

from svr_desktop.geometry.frames import PADDED_HALF
from svr_desktop.progress import Progress, ProgressGenerator

#: A batched implicit field: ``(N, 3)`` float32 points -> ``N`` values.
Field = Callable[[np.ndarray], np.ndarray]
T = TypeVar("T")

#: Padding cells close the surface at ``1 / (1 + _CAP_RATIO)`` of a cell
#: outside the grid border (see :func:`volume_to_mesh`).
_CAP_RATIO = 99.0
#: Grid values closer to the threshold than this fraction of the volume's
#: largest ``|value - threshold|`` are pushed out to that distance before
#: marching cubes (see :func:`volume_to_mesh`).
_SNAP_FRACTION = 1e-4
#: Grid points per marching-cubes slab (see :func:`_march_slabs`): PyMCubes
#: holds the GIL for a call, and 2^18 points (3 planes of a 258^2 grid) take
#: at most about 10 ms of CPU on one core (docs/benchmarks.md).
_SLAB_POINTS = 1 << 18


@dataclasses.dataclass(frozen=True)
class LevelStats:
    """Work done at one grid resolution: field queries and seconds spent.

    ``seconds`` covers the queries and the level's bookkeeping; time spent
    suspended at a yield (in the caller's hands) is not counted.
    """

    resolution: int
    points_queried: int
    seconds: float


@dataclasses.dataclass
class ExtractionStats:
    """What an extraction cost, per stage (occupancy_networks' ``stats_dict``)."""

    method: str
    resolution: int
    levels: list[LevelStats] = dataclasses.field(default_factory=list)
    marching_cubes_seconds: float = 0.0
    faces: int = 0

    @property
    def points_queried(self) -> int:
        """Field evaluations over all levels."""
        return sum(level.points_queried for level in self.levels)

    @property
    def grid_points(self) -> int:
        """Points of the final grid, ``(resolution + 1)^3``."""
        return (self.resolution + 1) ** 3

    @property
    def queried_fraction(self) -> float:
        """``points_queried / grid_points``: 1.0 for dense extraction."""
        return self.points_queried / self.grid_points


def grid_spacing(resolution: int) -> float:
    """Edge length of one grid cell at ``resolution`` cells per axis."""
    return 2.0 * PADDED_HALF / resolution


def index_to_world(index: np.ndarray, resolution: int) -> np.ndarray:
    """Map grid index coordinates (integer or fractional, ``(..., 3)``) to world points."""
    return np.asarray(index, dtype=np.float64) * grid_spacing(resolution) - PADDED_HALF


def grid_points(resolution: int) -> np.ndarray:
    """All ``(resolution + 1)^3`` grid points as a ``(M, 3)`` float32 array.

    Row ``r`` is the point of ``volume.reshape(-1)[r]`` (C order, x slowest),
    so ``field(grid_points(n)).reshape((n + 1,) * 3)`` is a value volume.
    """
    axis = np.arange(resolution + 1)
    ijk = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
    return index_to_world(ijk, resolution).astype(np.float32)


def evaluate_grid(
    field: Field, resolution: int, chunk_size: int = 65536
) -> ProgressGenerator[tuple[np.ndarray, list[LevelStats]]]:
    """Dense evaluation: query every grid point, in chunks.

    Yields ``Progress(f"dense {resolution}^3", done, total)`` after each chunk
    and returns the float32 value volume of shape ``(resolution + 1,) * 3``
    with a one-level statistics list, like :func:`evaluate_mise`.
    """
    shape = (resolution + 1,) * 3
    values, seconds = yield from _timed(
        _query(field, np.arange((resolution + 1) ** 3), resolution, chunk_size, f"dense {resolution}^3")
    )
    return values.reshape(shape), [LevelStats(resolution, values.size, seconds)]


def evaluate_mise(
    field: Field,
    resolution: int,
    threshold: float = 0.5,
    initial_resolution: int = 32,
    chunk_size: int = 65536,
    neighbourhood: Literal[0, 6, 26] = 26,
    dilate_final_level: bool = False,
) -> ProgressGenerator[tuple[np.ndarray, list[LevelStats]]]:
    """Fill the grid by multiresolution iso-surface extraction (MISE).

    Every point of the ``initial_resolution`` grid is queried.  Then, level by
    level up to ``resolution`` (``resolution / initial_resolution`` must be a
    power of two), the grid is upsampled 2x by trilinear interpolation and
    only the points of *active* cells of the coarser level are queried: cells
    whose eight corner values straddle the threshold, plus their neighbours
    (the mask is dilated by ``neighbourhood``: 0 none, 6 face neighbours, 26
    all neighbours).  A point is never queried twice.

    Dilation catches surface that leaves the straddling cells between their
    corners, e.g. a thin wall seen by only a few coarse corners.  It matters
    at the coarse levels, where a cell is large; when refining to the final
    level, a surface that its active cells miss is thinner than a cell of
    the level before, and dilating there costs about 40% more queries (the
    last level dominates the count), so by default it is skipped
    (``dilate_final_level=False``).  With the defaults a decoder-sized field
    on a flange queries 8.7% of a 128^3 grid and 4.4% of a 256^3 grid and
    gives the dense mesh (``benchmarks/extraction.py``, docs/benchmarks.md);
    dilating every level with 26 neighbours costs 14.8% and 7.7%.  Features
    smaller than a cell of the initial grid that no active cell reaches are
    missed, as in any MISE.

    Yields ``Progress(f"mise {res}^3", done, total)`` after each chunk of
    each level; returns the float32 value volume (exact where queried,
    interpolated elsewhere) and per-level statistics.
    """
    levels = mise_resolutions(resolution, initial_resolution)
    structure = _dilation_structure(neighbourhood)
    stats: list[LevelStats] = []

    res = levels[0]
    values, seconds = yield from _timed(_query(field, np.arange((res + 1) ** 3), res, chunk_size, f"mise {res}^3"))
    values = values.reshape((res + 1,) * 3)
    known = np.ones(values.shape, dtype=bool)
    stats.append(LevelStats(res, values.size, seconds))

    for res in levels[1:]:
        start = time.perf_counter()
        active = _straddling_cells(values, threshold)
        if structure is not None and (res < resolution or dilate_final_level):
            active = ndimage.binary_dilation(active, structure=structure)
        values = _upsample(values)
        known = _upsample_known(known)
        todo = np.flatnonzero(_cell_corners(_split_cells(active)) & ~known)
        bookkeeping = time.perf_counter() - start

        queried, seconds = yield from _timed(_query(field, todo, res, chunk_size, f"mise {res}^3"))
        values.reshape(-1)[todo] = queried
        known.reshape(-1)[todo] = True
        stats.append(LevelStats(res, len(todo), bookkeeping + seconds))
    return values, stats


def volume_to_mesh(volume: np.ndarray, threshold: float) -> ProgressGenerator[trimesh.Trimesh]:
    """Closed, outward-oriented mesh of ``{volume > threshold}`` by marching cubes.

    ``volume`` is a value grid of shape ``(n + 1,) * 3`` over the padded cube;
    vertices come back in world coordinates.  Two adjustments make the result
    watertight with all vertices distinct, so that trimesh's default vertex
    merging (within 1e-8) finds nothing to merge and cannot pinch it:

    * the volume is padded with one layer of outside values, so a shape that
      touches the grid border is closed there.  Each padding value is chosen
      from its inside neighbour so that the cap lies a hundredth of a cell
      outside the border plane, not on it: caps meeting at a cube edge would
      otherwise share vertex positions.
    * values within ``_SNAP_FRACTION`` of the value range from the threshold
      are pushed out to that distance (to the side ``value > threshold``
      says).  A grid value on or next to the threshold otherwise puts the
      vertices of all its edges on, or within rounding of, the grid point;
      merging them pinches the surface into non-manifold edges.  The shift
      moves vertices by about 1e-4 of a cell.

    PyMCubes shares one vertex per crossed grid edge and orients faces
    outwards for ``inside = value > threshold``.  It holds Python's GIL for
    the whole call (about 1 s on a 258^3 volume), which would freeze a GUI
    thread running beside it, so the volume is marched in slabs of planes
    along x (:func:`_march_slabs`), yielding ``Progress("marching cubes",
    planes done, planes)`` after each.  An empty set (no value above the
    threshold) gives an empty mesh.
    """
    resolution = volume.shape[0] - 1
    yield Progress("marching cubes", 0, resolution + 2)
    padded = _padded_for_marching(volume, threshold)
    if padded is None:
        return trimesh.Trimesh(vertices=np.zeros((0, 3)), faces=np.zeros((0, 3), dtype=np.int64))
    vertices, faces = yield from _march_slabs(padded)
    return trimesh.Trimesh(
        vertices=index_to_world(vertices - 1.0, resolution),
        faces=faces,
        process=False,
    )


def _padded_for_marching(volume: np.ndarray, threshold: float) -> np.ndarray | None:
    """``volume - threshold`` snapped away from 0 and padded with a capping layer
    (see :func:`volume_to_mesh`); ``None`` when no value is above the threshold.

    Works in place on one preallocated array: at 257^3 the straightforward
    ``np.where`` / ``np.pad`` version spent ~0.6 s in temporaries.
    """
    n = volume.shape[0]
    padded = np.empty((n + 2,) * 3, dtype=np.float32)
    shifted = padded[1:-1, 1:-1, 1:-1]
    shifted[...] = volume
    shifted -= np.float32(threshold)
    top = float(shifted.max())
    if not top > 0:
        return None
    snap = np.float32(_SNAP_FRACTION * max(top, -float(shifted.min())))
    near = np.flatnonzero((np.abs(shifted) < snap).reshape(-1))
    if len(near):
        # ``shifted`` is a strided view: go through unravelled indices.
        index = np.unravel_index(near, shifted.shape)
        values = shifted[index]
        shifted[index] = np.where(values > 0, snap, -snap)

    for axis in range(3):  # edge padding, one axis after the other (as np.pad)
        for end, inner in ((0, 1), (-1, -2)):
            target, source = [slice(None)] * 3, [slice(None)] * 3
            target[axis], source[axis] = end, inner
            padded[tuple(target)] = padded[tuple(source)]
    for axis in range(3):
        for end in (0, -1):
            face = [slice(None)] * 3
            face[axis] = end
            border = padded[tuple(face)]
            # Crossing at v / (v - pad) = 1 / (1 + _CAP_RATIO + snap / v) of a cell.
            border[...] = -snap - _CAP_RATIO * np.maximum(border, 0)
    return padded


def _march_slabs(padded: np.ndarray) -> ProgressGenerator[tuple[np.ndarray, np.ndarray]]:
    """Marching cubes of ``{padded > 0}`` slab by slab along the first axis, stitched into one mesh.

    Each slab of about ``_SLAB_POINTS`` grid points shares its last plane
    with the next slab's first, so every cell is marched exactly once and
    the faces are those of one call on the whole volume.  A vertex on a
    shared plane (a crossing of an edge lying in the plane) is computed by
    both slabs; the second copy is dropped and the faces using it are
    pointed at the first (:func:`_seam_indices`), which is computed as the
    single call computes it.  Other vertices' x coordinates can differ from
    the single call's in the last bit (interpolated in slab coordinates,
    then offset), nothing more.  Yields after each slab; returns vertices
    in (padded) grid-index coordinates and int64 faces.
    """
    planes = padded.shape[0]
    step = max(1, _SLAB_POINTS // (padded.shape[1] * padded.shape[2]))
    vertices, faces, count = [], [], 0
    seam_ids, seam_yz = np.zeros(0, dtype=np.int64), np.zeros((0, 2))
    for first in range(0, planes - 1, step):
        last = min(first + step, planes - 1)
        slab_vertices, slab_faces = mcubes.marching_cubes(padded[first : last + 1], 0.0)
        slab_vertices[:, 0] += first
        on_seam = slab_vertices[:, 0] == first
        ids = np.empty(len(slab_vertices), dtype=np.int64)
        ids[on_seam] = _seam_indices(seam_ids, seam_yz, slab_vertices[on_seam, 1:])
        ids[~on_seam] = np.arange(count, count + np.count_nonzero(~on_seam))
        on_last = slab_vertices[:, 0] == last
        seam_ids, seam_yz = ids[on_last], slab_vertices[on_last, 1:]
        vertices.append(slab_vertices[~on_seam])
        faces.append(ids[slab_faces])
        count += len(vertices[-1])
        yield Progress("marching cubes", last, planes - 1)
    return np.concatenate(vertices), np.concatenate(faces)


def _seam_indices(previous_ids: np.ndarray, previous_yz: np.ndarray, yz: np.ndarray) -> np.ndarray:
    """Indices of the previous slab's vertices on the same plane edges as this slab's seam vertices.

    Both slabs cross the same edges of the shared plane, but interpolate
    along an edge in opposite directions, so the two copies of a vertex can
    differ in the last bit: they are paired by the edge they lie on
    (:func:`_plane_edges`), not by position.
    """
    mine, theirs = _plane_edges(yz), _plane_edges(previous_yz)
    mine_order, theirs_order = np.lexsort(mine.T), np.lexsort(theirs.T)
    if not np.array_equal(mine[mine_order], theirs[theirs_order]):
        raise RuntimeError("marching-cubes slabs disagree on their shared plane")
    ids = np.empty(len(yz), dtype=np.int64)
    ids[mine_order] = previous_ids[theirs_order]
    return ids


def _plane_edges(yz: np.ndarray) -> np.ndarray:
    """The grid edge within a plane that each vertex lies on: ``(j, k, along z)`` of its lower end.

    A vertex on a y edge has a fractional y and an integer z, one on a z
    edge the reverse; :func:`_padded_for_marching` keeps every crossing at
    least about 1e-4 of a cell away from the grid points, so ``floor`` is exact.
    """
    lower = np.floor(yz).astype(np.int64)
    along_z = yz[:, 0] == lower[:, 0]
    return np.column_stack([lower, along_z])


def extract_mesh(
    field: Field,
    resolution: int = 256,
    threshold: float = 0.5,
    method: Literal["mise", "dense"] = "mise",
    initial_resolution: int = 32,
    chunk_size: int = 65536,
    neighbourhood: Literal[0, 6, 26] = 26,
    dilate_final_level: bool = False,
) -> ProgressGenerator[tuple[trimesh.Trimesh, ExtractionStats]]:
    """Extract the surface ``{field > threshold}`` as a watertight mesh.

    Fills a ``resolution``-cell grid over the padded cube with
    :func:`evaluate_mise` (default) or :func:`evaluate_grid`, then runs
    :func:`volume_to_mesh`.  Yields the grid stages' progress, then
    ``Progress("marching cubes", planes done, planes)`` before and after each
    slab of marching cubes; returns the mesh and an :class:`ExtractionStats`.
    """
    stats = ExtractionStats(method=method, resolution=resolution)
    if method == "mise":
        volume, stats.levels = yield from evaluate_mise(
            field,
            resolution,
            threshold,
            initial_resolution,
            chunk_size,
            neighbourhood,
            dilate_final_level,
        )
    elif method == "dense":
        volume, stats.levels = yield from evaluate_grid(field, resolution, chunk_size)
    else:
        raise ValueError(f"unknown extraction method {method!r} (use 'mise' or 'dense')")

    mesh, stats.marching_cubes_seconds = yield from _timed(volume_to_mesh(volume, threshold))
    stats.faces = len(mesh.faces)
    return mesh, stats


def _timed(work: ProgressGenerator[T]) -> ProgressGenerator[tuple[T, float]]:
    """Drive ``work``, passing its events on; returns its result and the seconds spent in it.

    Time suspended at a yield (in the caller's hands) is not counted, so that
    a slow consumer of the progress events does not inflate the figures.
    """
    seconds = 0.0
    while True:
        start = time.perf_counter()
        try:
            event = next(work)
        except StopIteration as stop:
            return stop.value, seconds + time.perf_counter() - start
        seconds += time.perf_counter() - start
        yield event


def _query(
    field: Field, flat_indices: np.ndarray, resolution: int, chunk_size: int, stage: str
) -> ProgressGenerator[np.ndarray]:
    """Evaluate ``field`` at the grid points with the given flat (C-order) indices.

    Yields after each chunk and returns the float32 values (callers time it
    with :func:`_timed`).
    """
    shape = (resolution + 1,) * 3
    total = len(flat_indices)
    values = np.empty(total, dtype=np.float32)
    for begin in range(0, total, chunk_size):
        chunk = flat_indices[begin : begin + chunk_size]
        ijk = np.stack(np.unravel_index(chunk, shape), axis=-1)
        points = index_to_world(ijk, resolution).astype(np.float32)
        result = np.asarray(field(points), dtype=np.float32).reshape(-1)
        if result.shape != (len(chunk),):
            raise ValueError(f"field returned {result.shape[0]} values for {len(chunk)} points")
        values[begin : begin + len(chunk)] = result
        yield Progress(stage, begin + len(chunk), total)
    return values


def mise_resolutions(resolution: int, initial_resolution: int) -> list[int]:
    """The MISE levels ``initial, 2 * initial, ..., resolution``; validates the pair."""
    if initial_resolution < 1 or resolution < initial_resolution:
        raise ValueError(
            f"need 1 <= initial_resolution <= resolution, got {initial_resolution}, {resolution}"
        )
    levels = [initial_resolution]
    while levels[-1] < resolution:
        levels.append(levels[-1] * 2)
    if levels[-1] != resolution:
        raise ValueError(
            f"resolution {resolution} is not initial_resolution {initial_resolution} "
            "times a power of two"
        )
    return levels


def _dilation_structure(neighbourhood: int) -> np.ndarray | None:
    """Structuring element of the active-cell dilation (``None``: no dilation)."""
    if neighbourhood == 0:
        return None
    if neighbourhood == 6:
        return ndimage.generate_binary_structure(3, 1)
    if neighbourhood == 26:
        return ndimage.generate_binary_structure(3, 3)
    raise ValueError(f"neighbourhood must be 0, 6 or 26, got {neighbourhood}")


def _corner_views(points: np.ndarray) -> list[np.ndarray]:
    """The eight ``(n, n, n)`` views of an ``(n + 1,) * 3`` point array, one per cell corner."""
    n = points.shape[0] - 1
    return [
        points[dx : dx + n, dy : dy + n, dz : dz + n]
        for dx in (0, 1)
        for dy in (0, 1)
        for dz in (0, 1)
    ]


def _straddling_cells(values: np.ndarray, threshold: float) -> np.ndarray:
    """Cells with corners on both sides of the threshold (boolean ``(n, n, n)``)."""
    inside = values > threshold
    corners = _corner_views(inside)
    any_inside = np.logical_or.reduce(corners)
    all_inside = np.logical_and.reduce(corners)
    return any_inside & ~all_inside


def _split_cells(cells: np.ndarray) -> np.ndarray:
    """Cell mask at twice the resolution: each cell becomes its eight children.

    A copy of a broadcast view, not ``repeat``: numpy's ``repeat`` holds the
    GIL throughout (about 0.3 s from 256^3 to 512^3 cells), a copy does not.
    """
    n = cells.shape[0]
    return np.broadcast_to(cells[:, None, :, None, :, None], (n, 2, n, 2, n, 2)).reshape((2 * n,) * 3)


def _cell_corners(cells: np.ndarray) -> np.ndarray:
    """Grid points that are a corner of at least one marked cell."""
    n = cells.shape[0]
    points = np.zeros((n + 1,) * 3, dtype=bool)
    for view in _corner_views(points):
        view |= cells
    return points


def _upsample(coarse: np.ndarray) -> np.ndarray:
    """Trilinear 2x upsampling of a point volume: ``(n + 1)^3 -> (2n + 1)^3``.

    Coarse points keep their values; midpoints average their two neighbours
    along one axis at a time, which composes to trilinear interpolation.
    """
    size = 2 * coarse.shape[0] - 1
    fine = np.empty((size,) * 3, dtype=coarse.dtype)
    fine[::2, ::2, ::2] = coarse
    fine[1::2, ::2, ::2] = 0.5 * (fine[:-1:2, ::2, ::2] + fine[2::2, ::2, ::2])
    fine[:, 1::2, ::2] = 0.5 * (fine[:, :-1:2, ::2] + fine[:, 2::2, ::2])
    fine[:, :, 1::2] = 0.5 * (fine[:, :, :-1:2] + fine[:, :, 2::2])
    return fine


def _upsample_known(coarse: np.ndarray) -> np.ndarray:
    """The queried-points mask at twice the resolution (new points not yet queried)."""
    fine = np.zeros((2 * coarse.shape[0] - 1,) * 3, dtype=bool)
    fine[::2, ::2, ::2] = coarse
    return fine
