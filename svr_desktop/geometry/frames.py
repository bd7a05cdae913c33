"""Frames and normalization (DESIGN.md section 2).

All 3D data of a view lives in the *view frame*: x right, y up, z towards the
camera, orthographic camera looking down -z.  Shapes are normalized so that
their bounding box is centred at the origin and its longest edge is 1, i.e.
they fill ``[-0.5, 0.5]^3``; grids and uniform samples cover the padded cube
``[-PADDED_HALF, PADDED_HALF]^3``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

#: Half edge of the cube a normalized shape fills.
UNIT_HALF = 0.5
#: Half edge of the padded cube covered by grids and uniform samples.
PADDED_HALF = 0.55


@dataclass(frozen=True)
class Normalization:
    """The similarity that maps original coordinates into the unit cube.

    ``normalized = (original - center) * scale``.  Keeping it lets an
    exporter or a comparison go back to the original units.
    """

    center: np.ndarray
    scale: float

    def apply(self, points: np.ndarray) -> np.ndarray:
        return (np.asarray(points, dtype=np.float64) - self.center) * self.scale

    def invert(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, dtype=np.float64) / self.scale + self.center


def normalization_of(mesh: trimesh.Trimesh) -> Normalization:
    """Bounding-box centre and the scale that makes the longest edge 1."""
    lo, hi = mesh.bounds
    longest = float(np.max(hi - lo))
    if not np.isfinite(longest) or longest <= 0.0:
        raise ValueError("cannot normalize a mesh with an empty or degenerate bounding box")
    return Normalization(center=(lo + hi) / 2.0, scale=1.0 / longest)


def normalize_mesh(mesh: trimesh.Trimesh) -> tuple[trimesh.Trimesh, Normalization]:
    """Return a copy of ``mesh`` normalized into ``[-0.5, 0.5]^3`` and the map used."""
    norm = normalization_of(mesh)
    out = mesh.copy()
    out.vertices = norm.apply(mesh.vertices)
    return out, norm


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation matrix drawn uniformly from SO(3) (3x3, float64)."""
    # QR of a Gaussian matrix with the sign fix gives the Haar measure.
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def rotate_points(points: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Apply ``rotation`` (object frame -> view frame) to row-vector points."""
    return np.asarray(points) @ np.asarray(rotation).T


def to_view_frame(
    mesh: trimesh.Trimesh, rotation: np.ndarray
) -> tuple[trimesh.Trimesh, Normalization]:
    """Rotate a mesh into a view frame and renormalize it there.

    Rotating changes the axis-aligned bounding box, so the view-frame mesh is
    normalized again: that is the frame in which training points, ground truth
    and reconstructions of the view are compared.  The returned normalization
    maps *rotated* object-frame points into the view frame; distances scale
    by its ``scale`` and inside flags are unchanged.
    """
    rotated = mesh.copy()
    rotated.vertices = rotate_points(mesh.vertices, rotation)
    return normalize_mesh(rotated)
