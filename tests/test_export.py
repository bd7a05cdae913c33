"""Mesh export: formats, unit markers, real-unit scaling, safe writes.

Round trips load the file back with ``load_mesh``, which returns the file's
raw coordinates: millimetres for STL / OBJ / PLY, metres for GLB (glTF is
metres by specification, so a millimetre export is written as mm / 1000).
"""

from __future__ import annotations

import json
import math
import os
import struct

import numpy as np
import pytest
import trimesh

from helpers import killed_writers_temp
from svr_desktop.files import ORPHAN_MIN_AGE_S
from svr_desktop.geometry.mesh_io import load_mesh
from svr_desktop.inference.export import EXPORT_EXTENSIONS, ExportUnits, export_mesh

FLOAT32_EPS = float(np.finfo(np.float32).eps)
#: Written unit and coordinate factor per format for a millimetre export at scale s.
MM_UNIT = {"stl": ("mm", 1.0), "obj": ("mm", 1.0), "ply": ("mm", 1.0), "glb": ("m", 1e-3)}


@pytest.fixture
def part() -> trimesh.Trimesh:
    """A closed, off-centre ellipsoid with different extents on x, y and z."""
    mesh = trimesh.creation.icosphere(subdivisions=3)
    mesh.vertices = mesh.vertices * [0.5, 0.3, 0.2] + [0.03, -0.02, 0.01]
    return mesh


def unit_marker(path) -> str:
    """The unit recorded in an exported file, read the way each format stores it."""
    data = path.read_bytes()
    ext = path.suffix.lstrip(".")
    if ext == "stl":
        header = data[:80].decode("ascii")
        return header.split("units=")[1].split()[0]
    if ext in ("obj", "ply"):
        text = data[:400].decode("ascii", errors="replace")
        prefix = "# units: " if ext == "obj" else "comment units "
        return next(line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix))
    return glb_json(data)["asset"]["extras"]["units"]


def glb_json(data: bytes) -> dict:
    """The JSON chunk of a GLB file (12-byte header, then length, type, chunk)."""
    length, chunk_type = struct.unpack("<II", data[12:20])
    assert chunk_type == 0x4E4F534A  # "JSON"
    return json.loads(data[20 : 20 + length])


def assert_same_triangles(loaded: trimesh.Trimesh, expected: np.ndarray) -> None:
    """Corner coordinates in face order, within float32 rounding of the largest coordinate."""
    assert loaded.triangles.shape == expected.shape
    tolerance = 4 * FLOAT32_EPS * np.abs(expected).max()
    np.testing.assert_allclose(loaded.triangles, expected, rtol=0, atol=tolerance)


@pytest.mark.parametrize("ext", EXPORT_EXTENSIONS)
def test_normalized_round_trip(tmp_path, part, ext):
    path = tmp_path / f"part.{ext}"
    report = export_mesh(part, path)
    loaded = load_mesh(path)
    assert_same_triangles(loaded, part.triangles)
    assert loaded.is_watertight and report.watertight
    assert (report.unit, report.scale, report.mm_per_unit) == ("normalized", 1.0, None)
    assert report.format == ext and report.faces == len(part.faces)
    assert report.bytes == path.stat().st_size
    assert unit_marker(path) == "normalized"


@pytest.mark.parametrize("ext", EXPORT_EXTENSIONS)
def test_millimetre_round_trip(tmp_path, part, ext):
    path = tmp_path / f"part.{ext}"
    report = export_mesh(part, path, ExportUnits.from_scale(250.0))
    unit, factor = MM_UNIT[ext]
    loaded = load_mesh(path)
    assert_same_triangles(loaded, part.triangles * 250.0 * factor)
    assert loaded.is_watertight and len(loaded.faces) == len(part.faces)
    assert report.unit == unit and unit_marker(path) == unit
    assert report.scale == pytest.approx(250.0 * factor, rel=1e-15)
    assert report.mm_per_unit == 250.0


def test_markers_name_scale_and_source_unit(tmp_path, part):
    units = ExportUnits.from_scale(120.0)
    for ext in EXPORT_EXTENSIONS:
        export_mesh(part, tmp_path / f"part.{ext}", units)
    assert (tmp_path / "part.stl").read_bytes()[:80].startswith(b"svr-desktop units=mm scale=120 ")
    assert "# scale: 120 " in (tmp_path / "part.obj").read_text()
    assert b"comment scale 120\n" in (tmp_path / "part.ply").read_bytes()[:400]
    extras = glb_json((tmp_path / "part.glb").read_bytes())["asset"]["extras"]
    assert extras == {"units": "m", "scale": 0.12, "source_units": "mm", "mm_per_normalized_unit": 120.0}


@pytest.mark.parametrize(
    "dimension, axis", [("x", 0), ("y", 1), ("z", 2), ("width", 0), ("height", 1), ("depth", 2), ("longest", 0)]
)
def test_dimension_gives_the_requested_size(tmp_path, part, dimension, axis):
    units = ExportUnits.from_dimension(dimension, 87.5)
    scale = units.scale_for(part)
    assert part.extents[axis] * scale == pytest.approx(87.5, rel=1e-12)
    export_mesh(part, tmp_path / "part.stl", units)
    written = load_mesh(tmp_path / "part.stl").extents[axis]
    assert written == pytest.approx(87.5, rel=4 * FLOAT32_EPS)


def test_export_does_not_modify_the_mesh(tmp_path, part):
    vertices, faces = part.vertices.copy(), part.faces.copy()
    for ext in EXPORT_EXTENSIONS:
        export_mesh(part, tmp_path / f"part.{ext}", ExportUnits.from_dimension("x", 120))
    np.testing.assert_array_equal(part.vertices, vertices)
    np.testing.assert_array_equal(part.faces, faces)


def test_existing_file_is_refused_unless_overwrite(tmp_path, part):
    path = tmp_path / "part.stl"
    export_mesh(part, path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="part.stl"):
        export_mesh(part, path, ExportUnits.from_scale(10.0))
    assert path.read_bytes() == before
    report = export_mesh(part, path, ExportUnits.from_scale(10.0), overwrite=True)
    assert report.unit == "mm" and unit_marker(path) == "mm"


def test_failed_replace_keeps_the_old_file(tmp_path, part, monkeypatch):
    path = tmp_path / "part.ply"
    export_mesh(part, path)
    before = path.read_bytes()

    def no_space(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(OSError, match=r"part\.ply.*No space left") as caught:
        export_mesh(part, path, ExportUnits.from_scale(10.0), overwrite=True)
    assert caught.value.errno == 28
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part.ply"]  # no temporary file left


def test_export_removes_what_a_killed_export_of_the_same_file_left(tmp_path, part):
    killed_writers_temp(tmp_path / "part.stl", ORPHAN_MIN_AGE_S + 1, b"half a mesh")
    export_mesh(part, tmp_path / "part.stl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part.stl"]


def test_missing_or_blocked_folder_names_the_path(tmp_path, part):
    missing = tmp_path / "no_such_folder" / "part.obj"
    with pytest.raises(FileNotFoundError, match="no_such_folder/part.obj"):
        export_mesh(part, missing)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(NotADirectoryError, match="a_file/part.obj"):
        export_mesh(part, blocker / "part.obj")
    assert blocker.read_text() == "not a folder"


def test_unsupported_extension_lists_the_supported_ones(tmp_path, part):
    with pytest.raises(ValueError, match=r"\.step.*\.stl, \.obj, \.ply, \.glb"):
        export_mesh(part, tmp_path / "part.step")
    with pytest.raises(ValueError, match="no extension"):
        export_mesh(part, tmp_path / "part")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "make",
    [
        lambda: ExportUnits.from_dimension("diagonal", 10.0),
        lambda: ExportUnits.from_dimension("x", 0.0),
        lambda: ExportUnits.from_dimension("x", -5.0),
        lambda: ExportUnits.from_dimension("y", math.nan),
        lambda: ExportUnits.from_dimension("z", math.inf),
        lambda: ExportUnits.from_dimension("z", "ten"),
        lambda: ExportUnits.from_scale(0.0),
        lambda: ExportUnits.from_scale(None),
        lambda: ExportUnits("millimetres"),
        lambda: ExportUnits("normalized", value=2.0),
    ],
)
def test_bad_units_are_rejected(make):
    with pytest.raises(ValueError):
        make()


def test_zero_size_dimension_is_a_clear_error(tmp_path):
    flat = trimesh.Trimesh(vertices=[[0, 0, 0], [1, 0, 0], [0, 1, 0]], faces=[[0, 1, 2]])
    units = ExportUnits.from_dimension("z", 10.0)
    with pytest.raises(ValueError, match="z dimension is 0"):
        units.scale_for(flat)
    with pytest.raises(ValueError, match="z dimension is 0"):
        export_mesh(flat, tmp_path / "flat.stl", units)
    assert list(tmp_path.iterdir()) == []
    assert ExportUnits.from_dimension("x", 10.0).scale_for(flat) == 10.0


def test_empty_mesh_is_rejected(tmp_path):
    empty = trimesh.Trimesh(vertices=np.zeros((0, 3)), faces=np.zeros((0, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="no faces"):
        export_mesh(empty, tmp_path / "empty.stl")
