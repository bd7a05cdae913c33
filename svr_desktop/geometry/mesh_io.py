"""Loading triangle meshes from the file formats engineers have.

Every loader problem becomes a :class:`MeshLoadError` whose message names the
file and says what is wrong, so the CLI and the GUI can show it as is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import trimesh

from .metrics import encloses_volume

#: Extensions ``load_mesh`` accepts (lower case, without the dot).
MESH_EXTENSIONS = ("stl", "obj", "ply", "off", "glb", "gltf")
#: Largest vertex coordinate accepted: 1,000 km in mm (trimesh's vertex merging overflows near 1e11).
MAX_COORDINATE = 1e9


class MeshLoadError(ValueError):
    """A mesh file could not be turned into a usable triangle mesh."""


def _check_path(path: Path) -> str:
    if not path.exists():
        raise MeshLoadError(f"{path}: no such file")
    if path.is_dir():
        raise MeshLoadError(f"{path}: is a directory, not a mesh file")
    ext = path.suffix.lower().lstrip(".")
    if ext not in MESH_EXTENSIONS:
        raise MeshLoadError(
            f"{path}: unsupported mesh type '.{ext}' (use one of: "
            + ", ".join("." + e for e in MESH_EXTENSIONS)
            + ")"
        )
    if path.stat().st_size == 0:
        raise MeshLoadError(f"{path}: the file is empty")
    return ext


def load_mesh(path: str | Path) -> trimesh.Trimesh:
    """Load a mesh file as one triangle mesh.

    Scenes (GLB, multi-object OBJ) are concatenated into one mesh.  Colours,
    normals and texture coordinates are dropped and vertices merged on
    position only: OBJ exports with per-corner normals otherwise load as open
    shells.  A closed mesh turned inside out is turned right.  Raises
    :class:`MeshLoadError` for missing, unreadable or empty files, for
    non-finite or absurdly large vertices and for a mesh without area.
    """
    path = Path(path)
    ext = _check_path(path)
    try:
        loaded = trimesh.load(str(path), file_type=ext, force="mesh", process=False)
    except Exception as exc:  # trimesh raises many unrelated types on bad input
        raise MeshLoadError(f"{path}: cannot read as .{ext}: {exc}") from exc
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise MeshLoadError(f"{path}: contains no triangles")
    vertices = np.asarray(loaded.vertices, dtype=np.float64)
    if not np.all(np.isfinite(vertices)):
        raise MeshLoadError(f"{path}: has NaN or infinite vertex coordinates")
    largest = float(np.abs(vertices).max()) if len(vertices) else 0.0
    if largest > MAX_COORDINATE:
        # Merging vertices rounds coordinates to integers, which overflow far below this.
        raise MeshLoadError(
            f"{path}: vertex coordinates reach {largest:.3g}, too large for a part in any unit "
            f"(at most {MAX_COORDINATE:.0e}); scale the mesh down"
        )
    faces = np.asarray(loaded.faces, dtype=np.int64)
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise MeshLoadError(f"{path}: faces refer to vertices that do not exist")
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=True)
    mesh.merge_vertices(merge_tex=True, merge_norm=True)
    if len(mesh.faces) == 0 or float(np.max(mesh.extents)) <= 0.0 or not mesh.area > 0.0:
        raise MeshLoadError(f"{path}: all triangles are degenerate (the mesh has no area)")
    if mesh.is_watertight and mesh.volume < 0.0:
        # Faces turned inside out (some CAD exports): every inside test would call the part empty.
        mesh.invert()
    return mesh


def load_solid_mesh(path: str | Path) -> trimesh.Trimesh:
    """:func:`load_mesh`, refusing a mesh that encloses no volume: a reference or candidate to compare.

    IoU and the other volume metrics would score a single triangle or an
    open sheet 0, as if it were a poor solid, instead of saying the file is
    not one.
    """
    mesh = load_mesh(path)
    if not encloses_volume(mesh):
        raise MeshLoadError(
            f"{path}: encloses no volume (an open surface, such as a single triangle), "
            "so there is nothing to compare; give a closed mesh"
        )
    return mesh
