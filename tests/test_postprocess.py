"""Post-processing of reconstructions: fragments, solid repair, decimation."""

from __future__ import annotations

import igl
import numpy as np
import pytest
import trimesh

from svr_desktop.geometry.extraction import extract_mesh
from svr_desktop.inference import postprocess as pp
from svr_desktop.inference.postprocess import (
    check_solid,
    component_labels,
    fan_counts,
    postprocess,
)
from svr_desktop.progress import run_to_completion


def sphere(radius: float, center=(0.0, 0.0, 0.0), subdivisions: int = 3) -> trimesh.Trimesh:
    mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    mesh.apply_translation(center)
    return mesh


def union(*meshes: trimesh.Trimesh) -> trimesh.Trimesh:
    """Disjoint bodies as one mesh (no vertex merging)."""
    joined = trimesh.util.concatenate(list(meshes))
    return trimesh.Trimesh(joined.vertices, joined.faces, process=False)


def inside_out(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    return trimesh.Trimesh(mesh.vertices, mesh.faces[:, ::-1], process=False)


def without_faces(mesh: trimesh.Trimesh, faces: np.ndarray) -> trimesh.Trimesh:
    keep = np.ones(len(mesh.faces), dtype=bool)
    keep[faces] = False
    return trimesh.Trimesh(mesh.vertices, mesh.faces[keep], process=False)


def plate_with_hole(points: np.ndarray) -> np.ndarray:
    """Inside-positive SDF of a 0.8 x 0.6 x 0.3 box with a 0.12-radius hole along z."""
    box = np.max(np.abs(points) - [0.4, 0.3, 0.15], axis=1)
    hole = 0.12 - np.hypot(points[:, 0], points[:, 1])
    return -np.maximum(box, hole)


@pytest.fixture(scope="module")
def marching_cubes_part() -> trimesh.Trimesh:
    """A marching-cubes mesh at resolution 128 (about 53k faces, watertight)."""
    mesh, _ = run_to_completion(extract_mesh(plate_with_hole, resolution=128, threshold=0.0))
    return mesh


def test_small_far_fragment_is_dropped():
    big, tiny = sphere(0.4), sphere(0.03, center=(0.5, 0.5, 0.5))
    result, report = postprocess(union(big, tiny))
    assert report.fragments_removed == 1 and report.components_kept == 1
    assert report.faces_after == len(big.faces)
    assert report.volume == pytest.approx(big.volume, rel=1e-9)
    assert report.fragment_volume_removed == pytest.approx(tiny.volume, rel=1e-9)
    assert report.watertight and report.winding_consistent and report.manifold
    assert any("removed 1 of 2 components" in action for action in report.actions)


def test_equal_bodies_are_both_kept():
    mesh = union(sphere(0.2, center=(-0.3, 0, 0)), sphere(0.2, center=(0.3, 0, 0)))
    result, report = postprocess(mesh)
    assert report.fragments_removed == 0 and report.components_kept == 2
    assert len(result.faces) == len(mesh.faces)
    assert report.actions == []


def test_cavity_is_kept_and_small_void_filled():
    outer, cavity = sphere(0.45), inside_out(sphere(0.3))
    void = inside_out(sphere(0.04, center=(0.37, 0, 0), subdivisions=2))
    result, report = postprocess(union(outer, cavity, void))
    assert report.components_kept == 2 and report.fragments_removed == 1
    assert report.volume == pytest.approx(outer.volume - sphere(0.3).volume, rel=1e-9)
    assert check_solid(result).is_solid


def test_min_fragment_zero_keeps_everything():
    mesh = union(sphere(0.4), sphere(0.01, center=(0.5, 0.5, 0.5), subdivisions=1))
    _, report = postprocess(mesh, min_fragment=0.0)
    assert report.fragments_removed == 0 and report.components_kept == 2


def test_component_labels_counts_bodies():
    count, labels = component_labels(union(sphere(0.1), sphere(0.1, center=(0.5, 0, 0))).faces)
    assert count == 2
    assert np.bincount(labels).tolist() == [1280, 1280]


def bowtie() -> trimesh.Trimesh:
    """Two closed spheres sharing one vertex (index 0): a non-manifold "bow-tie" vertex."""
    left = sphere(0.2)
    right = sphere(0.2, center=2 * left.vertices[0])  # touches left at left's vertex 0
    touching = int(np.argmin(np.linalg.norm(right.vertices - left.vertices[0], axis=1)))
    faces = np.where(right.faces == touching, -len(left.vertices), right.faces) + len(left.vertices)
    out = trimesh.Trimesh(np.vstack([left.vertices, right.vertices]), np.vstack([left.faces, faces]), process=False)
    out.remove_unreferenced_vertices()
    return out


def test_bowtie_vertex_makes_a_watertight_mesh_not_solid():
    mesh = bowtie()
    counts = fan_counts(mesh.faces)
    assert counts[0] == 2 and np.all(np.delete(counts, 0) <= 1)
    check = check_solid(mesh)
    assert check.watertight and check.winding_consistent and check.volume > 0
    assert not check.vertex_manifold and check.problems() == "non-manifold vertices"
    assert check_solid(sphere(0.2)).is_solid


def test_fan_counts_agree_with_libigl_vertex_manifold():
    rng = np.random.default_rng(0)
    closed = sphere(0.3, subdivisions=2)
    meshes = [closed.faces, bowtie().faces]
    # Random patches of a sphere: boundary fans, bow-ties where two patches touch at a vertex.
    meshes += [closed.faces[rng.random(len(closed.faces)) < keep] for keep in (0.3, 0.5, 0.7, 0.9)]
    # An edge shared by three faces, and faces repeated in either orientation.
    meshes.append(np.vstack([closed.faces, [[closed.faces[0, 0], closed.faces[0, 1], 5]]]))
    meshes.append(np.vstack([closed.faces, closed.faces[:7, ::-1], closed.faces[7:9]]))
    non_manifold = 0
    for faces in meshes:
        expected = igl.is_vertex_manifold(faces)
        np.testing.assert_array_equal(fan_counts(faces) == 1, expected)
        non_manifold += int(np.count_nonzero(~expected[np.unique(faces)]))
    assert non_manifold > 20  # the cases do exercise non-manifold vertices


def test_faces_repeated_in_any_orientation_and_degenerate_faces_are_dropped_by_repair_mask():
    faces = np.array([[0, 1, 2], [2, 1, 0], [0, 1, 3], [0, 0, 1], [1, 3, 2], [3, 2, 1], [3, 2, 1], [4, 5, 6]])
    assert pp._single_nondegenerate_faces(faces).tolist() == [False, False, True, False, False, False, False, True]


def test_decimation_reaches_budget_and_stays_solid(marching_cubes_part):
    budget = 5000
    result, report = postprocess(marching_cubes_part, face_budget=budget)
    assert 0.95 * budget <= report.faces_after <= budget
    assert report.faces_before == len(marching_cubes_part.faces) > 10 * budget
    assert check_solid(result).is_solid and report.manifold
    assert report.volume == pytest.approx(marching_cubes_part.volume, rel=0.01)
    assert any("fast_simplification" in action for action in report.actions)
    assert "decimation" in report.timings


def test_budget_above_face_count_changes_nothing(marching_cubes_part):
    result, report = postprocess(marching_cubes_part, face_budget=10**6)
    assert report.faces_after == report.faces_before and report.actions == []


def test_broken_fast_decimation_falls_back_to_qslim(marching_cubes_part, monkeypatch):
    def open_patch(mesh, face_budget):  # what a failed decimation could leave: an open surface
        return trimesh.Trimesh(mesh.vertices, mesh.faces[:face_budget], process=False)

    monkeypatch.setattr(pp, "fast_decimate", open_patch)
    result, report = postprocess(marching_cubes_part, face_budget=3000)
    assert report.faces_after <= 3000 and check_solid(result).is_solid
    assert any("broke the solid" in action for action in report.actions)
    assert any("qslim" in action for action in report.actions)


def test_undecimated_mesh_is_kept_when_no_decimation_works(monkeypatch):
    def open_patch(mesh, face_budget):
        return trimesh.Trimesh(mesh.vertices, mesh.faces[:face_budget], process=False)

    monkeypatch.setattr(pp, "fast_decimate", open_patch)
    monkeypatch.setattr(pp, "qslim_decimate", open_patch)
    mesh = sphere(0.4)
    result, report = postprocess(mesh, face_budget=100)
    assert len(result.faces) == len(mesh.faces) and report.watertight
    assert "kept the 1280-face mesh" in report.actions[-1]


def test_small_hole_is_repaired():
    mesh = sphere(0.4)
    holed = without_faces(mesh, [0])
    result, report = postprocess(holed)
    assert report.watertight and report.winding_consistent and report.volume > 0
    assert len(result.faces) == len(mesh.faces)
    assert report.actions == ["repaired with trimesh (input: not watertight)"]


def test_large_hole_is_closed_by_remeshing():
    mesh = sphere(0.4)
    holed = without_faces(mesh, np.arange(60))  # a patch too large for trimesh's fill_holes
    vertices, faces = holed.vertices.copy(), holed.faces.copy()
    result, report = postprocess(holed, remesh_resolution=64)
    assert check_solid(result).is_solid and report.manifold
    assert report.volume == pytest.approx(mesh.volume, rel=0.03)
    assert any("remeshing at resolution 64" in action for action in report.actions)
    np.testing.assert_array_equal(holed.vertices, vertices)  # the caller's mesh is untouched
    np.testing.assert_array_equal(holed.faces, faces)


def test_inside_out_mesh_is_flipped():
    mesh = sphere(0.4)
    result, report = postprocess(inside_out(mesh))
    assert report.volume == pytest.approx(mesh.volume, rel=1e-9)
    assert report.actions == ["flipped the inside-out surface (negative volume)"]


@pytest.mark.parametrize("kwargs", [{"min_fragment": -0.1}, {"min_fragment": 1.5}, {"face_budget": 3}])
def test_bad_parameters_are_rejected(kwargs):
    with pytest.raises(ValueError):
        postprocess(sphere(0.4), **kwargs)


def test_empty_mesh_is_rejected():
    empty = trimesh.Trimesh(vertices=np.zeros((0, 3)), faces=np.zeros((0, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="no faces"):
        postprocess(empty)
