"""Where the data set's shapes come from: generated parts or a mesh folder.

A source turns a shape index and that shape's random generator into a mesh,
a name for its origin and a JSON-serializable info dict.  Inputs it cannot
use raise :class:`ShapeSkipped` with the reason, so a build reports them and
goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from ..geometry.mesh_io import MESH_EXTENSIONS, MeshLoadError, load_mesh
from ..geometry.remesh import remesh_watertight
from ..progress import run_to_completion
from .parts import random_part

#: Grid used to repair non-watertight input meshes (relative to the longest edge).
REPAIR_RESOLUTION = 256


class ShapeSkipped(Exception):
    """This shape cannot go into the data set; the message says why."""


@dataclass(frozen=True)
class SourceShape:
    mesh: trimesh.Trimesh
    source: str
    info: dict


class ProceduralSource:
    """Procedural industrial parts (:mod:`svr_desktop.data.parts`), family drawn per shape."""

    description = "procedural"

    def __init__(self, count: int):
        self.count = count

    def __len__(self) -> int:
        return self.count

    def name(self, index: int) -> str:
        return f"{index:06d}"

    def make(self, index: int, rng: np.random.Generator) -> SourceShape:
        part = random_part(rng)
        return SourceShape(part.mesh, part.family, {"family": part.family, "params": part.params})


class MeshFolderSource:
    """Every mesh file directly inside a folder, in name order (a user's CAD library).

    Non-watertight meshes are repaired by watertight remeshing
    (:mod:`svr_desktop.geometry.remesh`) and the info says so; unreadable
    ones are skipped.
    """

    def __init__(self, folder: str | Path, limit: int | None = None):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ValueError(f"{self.folder}: not a folder of mesh files")
        files = sorted(
            p for p in self.folder.iterdir() if p.is_file() and p.suffix.lower().lstrip(".") in MESH_EXTENSIONS
        )
        if not files:
            raise ValueError(f"{self.folder}: contains no mesh files ({', '.join(MESH_EXTENSIONS)})")
        self.files = files[:limit] if limit else files
        self.description = f"meshes:{self.folder.resolve()}"

    def __len__(self) -> int:
        return len(self.files)

    def name(self, index: int) -> str:
        return f"{index:06d}_{self.files[index].stem}"

    def make(self, index: int, rng: np.random.Generator) -> SourceShape:
        path = self.files[index]
        try:
            mesh = load_mesh(path)
        except MeshLoadError as exc:
            raise ShapeSkipped(str(exc)) from exc
        info: dict = {"file": path.name}
        if not mesh.is_watertight:
            try:
                mesh, _ = run_to_completion(remesh_watertight(mesh, REPAIR_RESOLUTION))
            except ValueError as exc:
                raise ShapeSkipped(f"{path}: not watertight and cannot be repaired ({exc})") from exc
            info["repaired"] = f"not watertight; remeshed watertight at {REPAIR_RESOLUTION}^3"
        return SourceShape(mesh, path.name, info)
