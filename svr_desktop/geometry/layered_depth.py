"""Layered depth: where each pixel's ray enters and leaves the part.

The dense 2.5D supervision of the depth-guided network.  An orthographic view
shows the square ``[-h, h]^2`` of the view frame on ``S x S`` pixels (``h`` is
the renderer's half-width, ``a = b = 1 / h``); pixel ``(r, c)`` looks down -z
along the ray through its centre

    x = (2 (c + 0.5) / S - 1) h,    y = (1 - 2 (r + 0.5) / S) h,

which is exactly where :func:`svr_desktop.model.projection.project` and
``grid_sample(align_corners=False)`` put that pixel (tests/test_layered_depth.py
checks it against the projection and the renderer's mask).

Along each ray the part is a union of intervals ``[exit_k, entry_k]`` in z
(``entry`` is nearer the camera).  Every ray is cast against every triangle
exactly: in an orthographic view a ray hits a triangle iff its ``(x, y)`` lies
in the triangle's 2D projection, and the hit depth is the barycentric blend of
the vertices' z.  Done for all triangles at once over their pixel bounding
boxes, numpy needs a few milliseconds per view and no tolerance-based
re-shooting (which multi-hit ray casters use and which loses close hits).

A crossing is an entry where the triangle faces the camera (``n_z > 0``) and
an exit where it faces away.  Walking a ray from the camera, a winding counter
goes 0 -> 1 at the entry of a layer and 1 -> 0 at its exit, so overlapping
shells merge into one solid, and duplicate hits on an edge shared by two
triangles are dropped before counting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

#: Hits of one ray closer than this (view-frame units) on triangles facing the
#: same way are one crossing (the ray passed through a shared edge or vertex).
DUPLICATE_HIT = 1e-7


@dataclass(frozen=True)
class LayeredDepth:
    """The first ``K`` layers of a view, each array indexed by pixel ``(row, col)``.

    * ``entry``, ``exit``: (K, S, S) z of layer k's near and far crossing
      (0 where the layer does not exist);
    * ``count``: (S, S) number of layers the ray crosses (may exceed K);
    * ``normal``: (3, S, S) unit view-frame normal of the first surface hit
      (0 where the ray misses the part).
    """

    entry: np.ndarray
    exit: np.ndarray
    count: np.ndarray
    normal: np.ndarray

    @property
    def layers(self) -> int:
        return self.entry.shape[0]


def pixel_centres(size: int, half_width: float) -> np.ndarray:
    """View-frame ``x`` (= ``-y`` of the rows) of the pixel centres, length ``size``."""
    return (2.0 * (np.arange(size) + 0.5) / size - 1.0) * half_width


def _ray_hits(mesh: trimesh.Trimesh, size: int, half_width: float):
    """Every (pixel, z, facing, face) crossing of the pixel-centre rays with the mesh."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    triangles = vertices[np.asarray(mesh.faces, dtype=np.int64)]  # (T, 3, 3)
    # Continuous pixel coordinates: integer values are pixel centres.
    u = (triangles[..., 0] / half_width + 1.0) * size / 2.0 - 0.5
    v = (1.0 - triangles[..., 1] / half_width) * size / 2.0 - 0.5
    # Twice the signed area in (u, v); v grows downwards, so a triangle that
    # faces the camera (counter-clockwise in x, y) has negative area here.
    area = (u[:, 1] - u[:, 0]) * (v[:, 2] - v[:, 0]) - (u[:, 2] - u[:, 0]) * (v[:, 1] - v[:, 0])
    keep = np.abs(area) > 1e-12  # edge-on triangles are crossed by no ray
    c_lo = np.clip(np.ceil(u.min(axis=1)), 0, size).astype(np.int64)
    c_hi = np.clip(np.floor(u.max(axis=1)), -1, size - 1).astype(np.int64)
    r_lo = np.clip(np.ceil(v.min(axis=1)), 0, size).astype(np.int64)
    r_hi = np.clip(np.floor(v.max(axis=1)), -1, size - 1).astype(np.int64)
    widths = np.maximum(c_hi - c_lo + 1, 0)
    counts = np.where(keep, widths * np.maximum(r_hi - r_lo + 1, 0), 0)
    face = np.repeat(np.arange(len(triangles)), counts)
    local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    cols = c_lo[face] + local % widths[face]
    rows = r_lo[face] + local // widths[face]
    # Barycentric weights of the pixel centre (closed triangle: edges count).
    af = area[face]
    w0 = ((u[face, 1] - cols) * (v[face, 2] - rows) - (u[face, 2] - cols) * (v[face, 1] - rows)) / af
    w1 = ((u[face, 2] - cols) * (v[face, 0] - rows) - (u[face, 0] - cols) * (v[face, 2] - rows)) / af
    w2 = 1.0 - w0 - w1
    inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
    face, rows, cols = face[inside], rows[inside], cols[inside]
    w = np.stack((w0[inside], w1[inside], w2[inside]), axis=1)
    z = np.einsum("nk,nk->n", w, triangles[face, :, 2])
    facing = np.where(af[inside] < 0, 1, -1)  # +1 entry, -1 exit
    return rows * size + cols, z, facing, face


def layered_depth(mesh: trimesh.Trimesh, size: int, half_width: float, layers: int = 3) -> LayeredDepth:
    """The first ``layers`` entry/exit pairs of every pixel of a view-frame mesh."""
    if size < 1 or layers < 1 or not half_width > 0:
        raise ValueError("layered depth needs a positive size, layer count and half-width")
    pixel, z, facing, face = _ray_hits(mesh, size, half_width)
    # Along each ray from the camera: nearest first; at equal z, entries first.
    order = np.lexsort((-facing, -z, pixel))
    pixel, z, facing, face = pixel[order], z[order], facing[order], face[order]
    duplicate = np.zeros(len(z), dtype=bool)
    duplicate[1:] = (pixel[1:] == pixel[:-1]) & (facing[1:] == facing[:-1]) & (z[:-1] - z[1:] < DUPLICATE_HIT)
    pixel, z, facing, face = pixel[~duplicate], z[~duplicate], facing[~duplicate], face[~duplicate]

    new_ray = np.r_[True, pixel[1:] != pixel[:-1]] if len(pixel) else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(new_ray)
    running = np.cumsum(facing)
    before_ray = (running[starts] - facing[starts])[np.cumsum(new_ray) - 1]
    winding = running - before_ray  # the counter after each crossing, per ray
    is_entry = (facing > 0) & (winding == 1)
    is_exit = (facing < 0) & (winding == 0)

    pixels = size * size
    entry = np.zeros((layers, pixels))
    exit_ = np.zeros((layers, pixels))
    entry_rank = _rank_within_pixel(pixel[is_entry])
    exit_rank = _rank_within_pixel(pixel[is_exit])
    entries = np.bincount(pixel[is_entry], minlength=pixels)
    exits = np.bincount(pixel[is_exit], minlength=pixels)
    # A layer counts once both its crossings exist (an open mesh may lack an exit).
    count = np.minimum(entries, exits)
    for rank, where, values, target in (
        (entry_rank, pixel[is_entry], z[is_entry], entry),
        (exit_rank, pixel[is_exit], z[is_exit], exit_),
    ):
        stored = (rank < layers) & (rank < count[where])
        target[rank[stored], where[stored]] = values[stored]

    normal = np.zeros((3, pixels))
    normal[:, pixel[starts]] = np.asarray(mesh.face_normals)[face[starts]].T
    normal[:, count == 0] = 0.0
    shape = (size, size)
    return LayeredDepth(
        entry=entry.reshape(layers, *shape).astype(np.float32),
        exit=exit_.reshape(layers, *shape).astype(np.float32),
        count=np.minimum(count, 255).astype(np.uint8).reshape(shape),
        normal=normal.reshape(3, *shape).astype(np.float32),
    )


def _rank_within_pixel(pixel: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... along each run of equal (sorted) pixel indices."""
    if len(pixel) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[True, pixel[1:] != pixel[:-1]]
    start_index = np.maximum.accumulate(np.where(starts, np.arange(len(pixel)), 0))
    return np.arange(len(pixel)) - start_index


def occupancy_from_layers(depth: LayeredDepth, points: np.ndarray, half_width: float, layers: int | None = None) -> np.ndarray:
    """Inside flags of view-frame points read off the layers of the pixel they fall in.

    The occupancy that layered depth alone implies (nearest pixel, first
    ``layers`` layers): the ceiling of a network that only predicts layers.
    Points outside the image are outside.
    """
    size = depth.count.shape[0]
    k = depth.layers if layers is None else min(layers, depth.layers)
    points = np.asarray(points, dtype=np.float64)
    col = np.floor((points[:, 0] / half_width + 1.0) * size / 2.0).astype(np.int64)
    row = np.floor((1.0 - points[:, 1] / half_width) * size / 2.0).astype(np.int64)
    seen = (col >= 0) & (col < size) & (row >= 0) & (row < size)
    col, row = np.clip(col, 0, size - 1), np.clip(row, 0, size - 1)
    z = points[:, 2]
    inside = np.zeros(len(points), dtype=bool)
    for layer in range(k):
        valid = depth.count[row, col] > layer
        inside |= valid & (z <= depth.entry[layer, row, col]) & (z >= depth.exit[layer, row, col])
    return inside & seen
