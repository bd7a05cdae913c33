"""Write a reconstruction to a mesh file, in normalized units or millimetres.

A reconstruction lives in normalized units (the part's longest edge is about
1, DESIGN.md section 2).  An engineer knows one real dimension ("overall
width = 120 mm") or a scale; :class:`ExportUnits` turns either into a factor
and :func:`export_mesh` writes the scaled mesh, choosing the format from the
file extension:

* ``.stl``: binary STL; the 80-byte header says ``svr-desktop units=mm scale=...``.
* ``.obj``: Wavefront OBJ; ``# units: mm`` and ``# scale: ...`` comment lines.
* ``.ply``: binary little-endian PLY; ``comment units mm`` in the header.
* ``.glb``: binary glTF.  glTF coordinates are metres by specification, so
  millimetres are divided by 1000 on write and the asset's ``extras`` record
  the unit written, the source unit and the scale.  Normalized exports are
  written as they are and say ``units: normalized``.

A point cloud (the ``pointcloud`` method's output) has no surface for
STL, OBJ or GLB: :func:`export_point_cloud` writes it as a vertex-only
binary PLY with the same unit comments, and :func:`point_cloud_format`
refuses any other extension with one line.

Every file is written atomically (:func:`svr_desktop.files.atomic_write_bytes`):
an existing file is replaced only with ``overwrite=True`` and survives any
failed write; the temporary files a killed export left are removed first.
STL, PLY and GLB store float32 coordinates; OBJ stores eight decimals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import trimesh
from trimesh.exchange.gltf import export_glb
from trimesh.exchange.obj import export_obj

from .. import __version__
from ..files import atomic_write_bytes, remove_orphan_temp_files
from .export_settings import DIMENSION_ALIASES, DIMENSIONS, EXPORT_EXTENSIONS, POINT_CLOUD_EXTENSIONS

#: Millimetres per metre, for glTF.
_MM_PER_M = 1000.0
_GENERATOR = f"svr-desktop {__version__}"


@dataclass(frozen=True)
class ExportUnits:
    """How normalized coordinates become file coordinates.

    Build one with :meth:`normalized`, :meth:`from_dimension` or
    :meth:`from_scale`; :meth:`scale_for` gives the factor for a mesh.
    """

    kind: Literal["normalized", "dimension", "scale"] = "normalized"
    dimension: str | None = None  # with kind "dimension": one of DIMENSIONS
    value: float | None = None  # millimetres of that dimension, or mm per normalized unit

    def __post_init__(self) -> None:
        if self.kind == "normalized":
            if self.dimension is not None or self.value is not None:
                raise ValueError("normalized units take no dimension or value")
            return
        if self.kind not in ("dimension", "scale"):
            raise ValueError(f"unknown unit kind {self.kind!r} (use normalized, dimension or scale)")
        if self.kind == "dimension" and self.dimension not in DIMENSIONS:
            raise ValueError(
                f"unknown dimension {self.dimension!r} (use one of: {', '.join(DIMENSIONS)}, "
                f"or {', '.join(DIMENSION_ALIASES)})"
            )
        if self.kind == "scale" and self.dimension is not None:
            raise ValueError("a scale factor takes no dimension")
        if not _is_positive_number(self.value):
            what = "the dimension in mm" if self.kind == "dimension" else "the scale (mm per unit)"
            raise ValueError(f"{what} must be a positive finite number, got {self.value!r}")

    @classmethod
    def normalized(cls) -> ExportUnits:
        """Write coordinates as they are, in normalized units."""
        return cls()

    @classmethod
    def from_dimension(cls, dimension: str, millimetres: float) -> ExportUnits:
        """Scale so that the bounding box's ``dimension`` measures ``millimetres``.

        ``dimension``: ``x`` (width), ``y`` (height), ``z`` (depth) or
        ``longest``; ``width``, ``height`` and ``depth`` are accepted as names.
        """
        name = str(dimension).strip().lower()
        return cls("dimension", DIMENSION_ALIASES.get(name, name), _as_float(millimetres))

    @classmethod
    def from_scale(cls, mm_per_unit: float) -> ExportUnits:
        """Scale by an explicit factor: ``mm_per_unit`` millimetres per normalized unit."""
        return cls("scale", None, _as_float(mm_per_unit))

    @property
    def unit(self) -> str:
        """The unit this asks for: ``"normalized"`` or ``"mm"``."""
        return "normalized" if self.kind == "normalized" else "mm"

    def scale_for(self, mesh: trimesh.Trimesh) -> float:
        """Factor from mesh coordinates to the unit asked for: millimetres per unit, 1.0 if normalized.

        Raises ``ValueError`` when the named dimension of the mesh's bounding
        box is zero or not finite: no scale can give it a size.
        """
        if self.kind == "normalized":
            return 1.0
        if self.kind == "scale":
            return float(self.value)
        size = _bounding_size(mesh, self.dimension)
        if not _is_positive_number(size):
            raise ValueError(
                f"the mesh's {self.dimension} dimension is {size:g}, so it cannot be scaled to "
                f"{self.value:g} mm; give another dimension or a scale factor"
            )
        return float(self.value) / size


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_mesh` wrote.

    ``unit`` is the unit of the coordinates in the file (``normalized``,
    ``mm``, or ``m`` for a millimetre GLB); ``scale`` multiplied the mesh's
    coordinates to get them; ``mm_per_unit`` is the real-world scale asked
    for (``None`` for normalized exports); ``extents`` are the bounding
    box's x, y and z edges in the unit asked for (millimetres, also for a
    GLB, or normalized units).
    """

    path: Path
    format: str
    unit: str
    scale: float
    mm_per_unit: float | None
    faces: int
    watertight: bool
    bytes: int
    extents: tuple[float, float, float]
    points: int = 0  # vertices written without faces (point clouds)


def export_mesh(
    mesh: trimesh.Trimesh,
    path: str | Path,
    units: ExportUnits | None = None,
    overwrite: bool = False,
) -> ExportReport:
    """Write ``mesh`` to ``path`` (format from the extension) in the requested units.

    ``units`` defaults to normalized.  Raises ``ValueError`` for an unsupported
    extension, an empty or non-finite mesh or units that cannot apply,
    ``FileExistsError`` if ``path`` exists and not ``overwrite``, and
    ``OSError`` naming the path and the cause if writing fails; a failed
    write leaves any previous file as it was.  ``mesh`` is not modified.
    """
    path = Path(path)
    fmt = export_format(path)
    units = units or ExportUnits.normalized()
    _check_mesh(mesh)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; not replaced (choose overwrite to replace it)")

    note = _unit_note(fmt, units, mesh)
    scaled = trimesh.Trimesh(
        vertices=np.asarray(mesh.vertices, dtype=np.float64) * note.scale,
        faces=np.array(mesh.faces, dtype=np.int64),
        process=False,
    )
    data = _ENCODERS[fmt](scaled, note)
    _write(path, data, overwrite)
    return ExportReport(
        path=path,
        format=fmt,
        unit=note.unit,
        scale=note.scale,
        mm_per_unit=note.mm_per_unit,
        faces=len(scaled.faces),
        watertight=bool(scaled.is_watertight),
        bytes=len(data),
        extents=note.extents(mesh.vertices),
    )


def export_point_cloud(
    cloud: trimesh.PointCloud,
    path: str | Path,
    units: ExportUnits | None = None,
    overwrite: bool = False,
) -> ExportReport:
    """Write a point cloud to ``path`` as binary PLY, in the requested units.

    Raises like :func:`export_mesh`: ``ValueError`` for another extension
    (:func:`point_cloud_format`), no points or non-finite ones, or units that
    cannot apply; ``FileExistsError``; ``OSError`` naming the path.
    """
    path = Path(path)
    fmt = point_cloud_format(path)
    units = units or ExportUnits.normalized()
    points = np.asarray(cloud.vertices, dtype=np.float64)
    if len(points) == 0:
        raise ValueError("the point cloud has no points, nothing to export")
    if not np.all(np.isfinite(points)):
        raise ValueError("the point cloud has NaN or infinite coordinates")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; not replaced (choose overwrite to replace it)")
    note = _unit_note(fmt, units, cloud)
    data = _encode_ply_points(points * note.scale, note)
    _write(path, data, overwrite)
    return ExportReport(
        path=path,
        format=fmt,
        unit=note.unit,
        scale=note.scale,
        mm_per_unit=note.mm_per_unit,
        faces=0,
        watertight=False,
        bytes=len(data),
        extents=note.extents(points),
        points=len(points),
    )


def point_cloud_format(path: str | Path) -> str:
    """The format of a point-cloud export from ``path``'s extension: PLY only, else one clear ``ValueError``."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in POINT_CLOUD_EXTENSIONS:
        shown = f"'.{ext}'" if ext else "no extension"
        raise ValueError(
            f"{path}: a point-cloud model writes points, not a mesh, so {shown} cannot hold them "
            "(use .ply; STL, OBJ and GLB need a surface: reconstruct with a mesh method's checkpoint)"
        )
    return ext


def estimated_bytes(fmt: str, faces: int, vertices: int | None = None) -> int:
    """About how many bytes a mesh of ``faces`` faces takes in format ``fmt``, before writing it.

    ``vertices`` defaults to ``faces / 2 + 2``, a closed surface without
    handles.  STL and PLY records have fixed sizes; OBJ assumes 11.5
    characters per coordinate (``-0.12345678`` or ``63.08773345``), GLB a
    1 kB header: within a few percent on reconstructions.
    """
    vertices = faces // 2 + 2 if vertices is None else vertices
    if fmt == "stl":
        return 84 + 50 * faces
    if fmt == "ply":
        return 300 + 12 * vertices + 13 * faces
    if fmt == "obj":
        index_digits = len(str(max(vertices, 1)))
        return 120 + int(vertices * (5 + 3 * 11.5)) + faces * (5 + 3 * index_digits)
    if fmt == "glb":
        return 1024 + 12 * vertices + 12 * faces
    raise ValueError(f"unknown export format {fmt!r} (use one of: {', '.join(EXPORT_EXTENSIONS)})")


def format_bytes(count: int) -> str:
    """A file size for people: ``850 kB``, ``4.2 MB`` (decimal units, as file managers show them)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}" if count < 100 * size else f"{count / size:.0f} {unit}"
    return f"{count} bytes"


def export_format(path: str | Path) -> str:
    """The export format of ``path`` from its extension; ``ValueError`` if unsupported."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in EXPORT_EXTENSIONS:
        shown = f"'.{ext}'" if ext else "no extension"
        raise ValueError(
            f"{path}: cannot export {shown} (use one of: "
            + ", ".join("." + e for e in EXPORT_EXTENSIONS)
            + ")"
        )
    return ext


# --- units -----------------------------------------------------------------


def _as_float(value: float) -> float:
    """``float(value)``, or ``ValueError`` naming the value (not ``TypeError``)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {value!r}") from None


def _is_positive_number(value: float | None) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def _bounding_size(mesh: trimesh.Trimesh, dimension: str) -> float:
    """Edge length of the axis-aligned bounding box along ``dimension``."""
    extents = np.ptp(np.asarray(mesh.vertices, dtype=np.float64), axis=0)
    if dimension == "longest":
        return float(extents.max())
    return float(extents["xyz".index(dimension)])


def _unit_note(fmt: str, units: ExportUnits, geometry: trimesh.Trimesh | trimesh.PointCloud) -> _UnitNote:
    """The units of the file written for ``geometry`` in format ``fmt``.

    The real scale (mm per normalized unit) comes from ``units`` measured on
    ``geometry``; glTF is metres by specification, so millimetres go in as
    metres.
    """
    mm_per_unit = None if units.unit == "normalized" else units.scale_for(geometry)
    if mm_per_unit is None:
        unit, scale = units.unit, 1.0
    elif fmt == "glb":
        unit, scale = "m", mm_per_unit / _MM_PER_M
    else:
        unit, scale = units.unit, mm_per_unit
    return _UnitNote(unit=unit, scale=scale, source_unit=units.unit, mm_per_unit=mm_per_unit)


@dataclass(frozen=True)
class _UnitNote:
    """What the encoders record about units in the file."""

    unit: str  # of the coordinates in the file
    scale: float  # mesh coordinates times this
    source_unit: str  # what the caller asked for: normalized or mm
    mm_per_unit: float | None  # millimetres per normalized unit (None when normalized)

    def text(self) -> str:
        """One line, e.g. ``svr-desktop units=mm scale=120``."""
        return f"svr-desktop units={self.unit} scale={self.scale:.9g}"

    def extents(self, points) -> tuple[float, float, float]:
        """The bounding box's x, y and z edges of ``points`` (unscaled coordinates) in the unit
        asked for: millimetres (also for a GLB, whose file holds metres) or normalized units."""
        return tuple(float(edge) * (self.mm_per_unit or 1.0) for edge in np.ptp(np.asarray(points), axis=0))


# --- encoders --------------------------------------------------------------


def _check_mesh(mesh: trimesh.Trimesh) -> None:
    if len(mesh.faces) == 0:
        raise ValueError("the mesh has no faces, nothing to export")
    if not np.all(np.isfinite(mesh.vertices)):
        raise ValueError("the mesh has NaN or infinite vertex coordinates")


def _encode_stl(mesh: trimesh.Trimesh, note: _UnitNote) -> bytes:
    """Binary STL: 80-byte header with the unit note, face count, 50-byte facets.

    The header must not start with ``solid``, which readers take for ASCII STL.
    """
    header = note.text().encode("ascii")[:80].ljust(80, b" ")
    facets = np.zeros(
        len(mesh.faces), dtype=[("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attribute", "<u2")]
    )
    facets["normal"] = mesh.face_normals
    facets["corners"] = mesh.triangles
    return header + np.uint32(len(mesh.faces)).astype("<u4").tobytes() + facets.tobytes()


def _encode_obj(mesh: trimesh.Trimesh, note: _UnitNote) -> bytes:
    """OBJ text (trimesh's writer, eight decimals) after unit comment lines."""
    body = export_obj(mesh, include_normals=False, include_color=False, include_texture=False, header=None)
    comments = [f"# {_GENERATOR}", f"# units: {note.unit}", f"# scale: {note.scale:.9g} (file units per input unit)"]
    return ("\n".join(comments) + "\n" + body).encode("utf-8")


def _ply_header(note: _UnitNote, vertices: int, faces: int | None) -> bytes:
    """A binary little-endian PLY header with ``comment units ...`` lines; no face element when ``faces`` is None."""
    lines = [
        "ply",
        "format binary_little_endian 1.0",
        f"comment generator {_GENERATOR}",
        f"comment units {note.unit}",
        f"comment scale {note.scale:.9g}",
        f"element vertex {vertices}",
        "property float x",
        "property float y",
        "property float z",
    ]
    if faces is not None:
        lines += [f"element face {faces}", "property list uchar int vertex_indices"]
    return ("\n".join([*lines, "end_header", ""])).encode("ascii")


def _encode_ply(mesh: trimesh.Trimesh, note: _UnitNote) -> bytes:
    """Binary little-endian PLY with float32 vertices and ``comment units ...`` lines."""
    faces = np.zeros(len(mesh.faces), dtype=[("count", "u1"), ("index", "<i4", 3)])
    faces["count"] = 3
    faces["index"] = mesh.faces
    vertices = np.asarray(mesh.vertices, dtype="<f4")
    return _ply_header(note, len(vertices), len(faces)) + vertices.tobytes() + faces.tobytes()


def _encode_ply_points(points: np.ndarray, note: _UnitNote) -> bytes:
    """Vertex-only binary little-endian PLY (float32) with the unit comments of :func:`_encode_ply`."""
    return _ply_header(note, len(points), None) + np.asarray(points, dtype="<f4").tobytes()


def _encode_glb(mesh: trimesh.Trimesh, note: _UnitNote) -> bytes:
    """GLB via trimesh, the unit note in ``asset.extras``.

    No vertex normals are written: glTF viewers then shade flat, which shows
    the edges of a machined part as they are.
    """

    def add_asset_note(tree: dict) -> None:
        tree["asset"]["generator"] = _GENERATOR
        tree["asset"]["extras"] = {
            "units": note.unit,
            "scale": note.scale,
            "source_units": note.source_unit,
            "mm_per_normalized_unit": note.mm_per_unit,
        }

    return export_glb(mesh.scene(), include_normals=False, tree_postprocessor=add_asset_note)


_ENCODERS = {"stl": _encode_stl, "obj": _encode_obj, "ply": _encode_ply, "glb": _encode_glb}


def _write(path: Path, data: bytes, overwrite: bool) -> None:
    """Atomic write; any failure other than "exists" becomes an ``OSError`` naming the path.

    Temporary files that killed exports of ``path`` left beside it go first.
    """
    remove_orphan_temp_files(path)
    try:
        atomic_write_bytes(path, data, overwrite=overwrite)
    except FileExistsError:
        raise
    except OSError as exc:
        message = f"cannot write {path}: {exc.strerror or exc}"
        # OSError(errno, message) builds the matching subclass (PermissionError, ...).
        raise (OSError(exc.errno, message) if exc.errno else type(exc)(message)) from exc
