"""Normalization, view rotations and mesh loading."""

import numpy as np
import pytest
import trimesh

from svr_desktop.geometry.frames import (
    normalization_of,
    normalize_mesh,
    random_rotation,
    rotate_points,
    to_view_frame,
)
from svr_desktop.geometry.mesh_io import MAX_COORDINATE, MeshLoadError, load_mesh, load_solid_mesh
from svr_desktop.geometry.metrics import encloses_volume, iou


def test_normalize_fills_the_unit_cube():
    mesh = trimesh.creation.box((4.0, 2.0, 1.0))
    mesh.apply_translation([10.0, -3.0, 7.0])
    normalized, norm = normalize_mesh(mesh)
    np.testing.assert_allclose(normalized.bounds, [[-0.5, -0.25, -0.125], [0.5, 0.25, 0.125]], atol=1e-12)
    np.testing.assert_allclose(norm.invert(normalized.vertices), mesh.vertices, atol=1e-9)
    # the input is not modified
    assert mesh.bounds[1][0] == pytest.approx(12.0)


def test_degenerate_mesh_cannot_be_normalized():
    flat = trimesh.Trimesh(vertices=np.zeros((3, 3)), faces=[[0, 1, 2]], process=False)
    with pytest.raises(ValueError, match="degenerate"):
        normalization_of(flat)


def test_random_rotation_is_a_proper_rotation_and_seeded():
    rotations = [random_rotation(np.random.default_rng(seed)) for seed in range(20)]
    for r in rotations:
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) == pytest.approx(1.0)
    np.testing.assert_array_equal(random_rotation(np.random.default_rng(3)), rotations[3])
    assert not np.allclose(rotations[0], rotations[1])


def test_view_frame_is_normalized_and_maps_points_consistently():
    mesh = normalize_mesh(trimesh.creation.box((1.0, 0.5, 0.2)))[0]
    rotation = random_rotation(np.random.default_rng(0))
    view_mesh, view_norm = to_view_frame(mesh, rotation)
    assert np.max(view_mesh.extents) == pytest.approx(1.0)
    np.testing.assert_allclose(view_mesh.bounds.mean(axis=0), 0.0, atol=1e-12)
    mapped = view_norm.apply(rotate_points(mesh.vertices, rotation))
    np.testing.assert_allclose(mapped, view_mesh.vertices, atol=1e-12)


@pytest.mark.parametrize("ext", ["stl", "obj", "ply", "off", "glb"])
def test_load_round_trip_every_format(tmp_path, ext):
    mesh = trimesh.creation.annulus(r_min=0.3, r_max=1.0, height=0.5)
    path = tmp_path / f"part.{ext}"
    mesh.export(path)
    loaded = load_mesh(path)
    assert loaded.is_watertight
    assert loaded.volume == pytest.approx(mesh.volume, rel=1e-5)


def test_scene_is_concatenated(tmp_path):
    scene = trimesh.Scene([trimesh.creation.box(), trimesh.creation.icosphere().apply_translation([3, 0, 0])])
    path = tmp_path / "two.glb"
    scene.export(path)
    loaded = load_mesh(path)
    assert len(loaded.split(only_watertight=False)) == 2


def test_obj_with_per_corner_normals_loads_closed(tmp_path):
    # A cube written with one vertex per face corner (like CAD OBJ exports with normals).
    box = trimesh.creation.box()
    lines = []
    for i, face in enumerate(box.faces):
        for v in box.vertices[face]:
            lines.append("v {} {} {}".format(*v))
        lines.append(f"vn {box.face_normals[i][0]} {box.face_normals[i][1]} {box.face_normals[i][2]}")
    for i in range(len(box.faces)):
        a, b, c = 3 * i + 1, 3 * i + 2, 3 * i + 3
        lines.append(f"f {a}//{i + 1} {b}//{i + 1} {c}//{i + 1}")
    path = tmp_path / "split.obj"
    path.write_text("\n".join(lines))
    assert load_mesh(path).is_watertight


def test_clear_errors_for_bad_files(tmp_path):
    cases = {}
    cases["missing"] = tmp_path / "nope.stl"
    (tmp_path / "dir.stl").mkdir()
    cases["directory"] = tmp_path / "dir.stl"
    (tmp_path / "a.txt").write_text("hello")
    cases["unsupported"] = tmp_path / "a.txt"
    (tmp_path / "empty.stl").write_bytes(b"")
    cases["empty"] = tmp_path / "empty.stl"
    (tmp_path / "garbage.ply").write_bytes(b"ply\nformat nonsense\n\x00\x01")
    cases["unreadable"] = tmp_path / "garbage.ply"
    (tmp_path / "nan.obj").write_text("v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    cases["nan"] = tmp_path / "nan.obj"
    (tmp_path / "nofaces.obj").write_text("v 0 0 0\nv 1 0 0\n")
    cases["no faces"] = tmp_path / "nofaces.obj"
    # a binary STL header that promises 16 triangles, followed by almost nothing
    (tmp_path / "truncated.stl").write_bytes(b"\0" * 80 + (16).to_bytes(4, "little") + b"\0" * 20)
    cases["truncated"] = tmp_path / "truncated.stl"
    expected = {
        "missing": "no such file",
        "directory": "is a directory",
        "unsupported": "unsupported mesh type",
        "empty": "empty",
        "unreadable": "cannot read as .ply",
        "nan": "NaN or infinite",
        "no faces": "no triangles",
        "truncated": "no triangles",
    }
    for name, path in cases.items():
        with pytest.raises(MeshLoadError) as info:
            load_mesh(path)
        message = str(info.value)
        assert str(path) in message
        assert expected[name] in message, (name, message)


def test_a_closed_mesh_turned_inside_out_is_turned_right(tmp_path):
    """Inside tests (labels, IoU) would otherwise find nothing inside it."""
    box = trimesh.creation.box((1.0, 0.5, 0.25))
    inverted = box.copy()
    inverted.invert()
    inverted.export(tmp_path / "inside_out.stl")
    loaded = load_mesh(tmp_path / "inside_out.stl")
    assert loaded.volume == pytest.approx(box.volume)
    assert iou(loaded, box) == pytest.approx(1.0, abs=0.01)


def test_a_solid_must_enclose_a_volume_and_a_thin_plate_does(tmp_path):
    plate = trimesh.creation.box((1.0, 1.0, 0.01))
    plate.export(tmp_path / "plate.stl")
    assert encloses_volume(load_solid_mesh(tmp_path / "plate.stl"))
    (tmp_path / "sheet.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0.2\nf 1 2 3\nf 2 4 3\n")
    assert not encloses_volume(load_mesh(tmp_path / "sheet.obj"))  # loads: a surface is a mesh
    with pytest.raises(MeshLoadError, match="sheet.obj: encloses no volume"):
        load_solid_mesh(tmp_path / "sheet.obj")


@pytest.mark.parametrize("scale", [1e30, 1e12, 2 * MAX_COORDINATE])
def test_coordinates_too_large_are_refused_before_any_processing(tmp_path, scale, recwarn):
    box = trimesh.creation.box((1.0, 2.0, 3.0))
    box.apply_scale(scale / 1.5)  # the largest coordinate becomes scale
    box.export(tmp_path / "huge.stl")
    with pytest.raises(MeshLoadError, match="huge.stl: vertex coordinates reach .* too large"):
        load_mesh(tmp_path / "huge.stl")
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]  # numpy's overflow warnings came first

