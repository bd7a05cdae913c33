"""A lighter copy of a large mesh for the 3D view.

Marching cubes at 256^3 gives 350k-700k faces.  Drawn in full, each render
takes a software-OpenGL view hundreds of milliseconds, during which the
window does not react, and with "Edges" on the edges cover nearly every
pixel.  Above :data:`DISPLAY_THRESHOLD` faces the viewer draws a
quadric-decimated copy of :data:`DISPLAY_FACES` faces instead (made off the
GUI thread; 2.6x quicker renders, ``docs/benchmarks.md``), with its edges
half transparent (``gui/viewer.py``), so the shading shows through them;
exports, metrics and the stated dimensions use the full mesh.  Each vertex of the copy remembers the nearest vertex of the full
mesh, so that per-vertex values of the full mesh (the Compare panel's heat
map) colour the copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from .postprocess import fast_decimate

#: Meshes with more faces than this are shown through a lighter copy.
DISPLAY_THRESHOLD = 300_000
#: Faces of that copy: renders in tens of milliseconds, and quadric decimation keeps the shape.
DISPLAY_FACES = 100_000


@dataclass(frozen=True)
class DisplayMesh:
    """What the viewer draws for a mesh of ``full_faces`` faces: ``mesh`` itself, or a
    lighter copy whose vertex ``i`` stands for the full mesh's vertex ``source_vertex[i]``."""

    mesh: trimesh.Trimesh
    full_faces: int
    source_vertex: np.ndarray | None = None

    @property
    def is_copy(self) -> bool:
        return self.source_vertex is not None

    def vertex_values(self, values: np.ndarray) -> np.ndarray:
        """One value per vertex of the full mesh -> one per vertex drawn."""
        return values if self.source_vertex is None else values[self.source_vertex]


def display_mesh(mesh: trimesh.Trimesh, threshold: int = DISPLAY_THRESHOLD, faces: int = DISPLAY_FACES) -> DisplayMesh:
    """The mesh to draw for ``mesh``: itself up to ``threshold`` faces, else a copy of about
    ``faces`` faces, with its vertex normals computed (smooth shading needs them)."""
    if len(mesh.faces) <= threshold:
        return DisplayMesh(mesh, len(mesh.faces))
    copy = fast_decimate(mesh, faces)
    np.asarray(copy.vertex_normals)  # cached on the copy: the GUI thread finds them ready
    nearest = cKDTree(np.asarray(mesh.vertices)).query(np.asarray(copy.vertices))[1]
    return DisplayMesh(copy, len(mesh.faces), nearest.astype(np.int64))
