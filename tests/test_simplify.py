"""Meshes for CAD: error-bounded simplification, the face choices, and what an export will weigh."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from svr_desktop.geometry.extraction import extract_mesh
from svr_desktop.geometry.queries import MeshQuery
from svr_desktop.inference.export import EXPORT_EXTENSIONS, ExportUnits, estimated_bytes, export_mesh, format_bytes
from svr_desktop.inference.simplify import (
    DEFAULT_TOLERANCE,
    DeviationMeter,
    FaceTarget,
    export_plan,
    keep_vertices_apart,
    simplify_for_export,
    simplify_within,
)
from svr_desktop.inference.postprocess import check_solid
from svr_desktop.progress import run_to_completion


def flange_field(points: np.ndarray) -> np.ndarray:
    """Inside-positive SDF of a disc flange (radius 0.45, 0.12 thick) with a bore and four bolt holes."""
    radial = np.hypot(points[:, 0], points[:, 1])
    disc = np.maximum(radial - 0.45, np.abs(points[:, 2]) - 0.06)
    angle = np.arctan2(points[:, 1], points[:, 0])
    nearest = np.round(angle / (np.pi / 2)) * (np.pi / 2)
    bolt = np.hypot(points[:, 0] - 0.32 * np.cos(nearest), points[:, 1] - 0.32 * np.sin(nearest)) - 0.04
    return -np.maximum(disc, -np.minimum(radial - 0.15, bolt))


@pytest.fixture(scope="module")
def flange() -> trimesh.Trimesh:
    """A marching-cubes flange at resolution 128: flat faces, cylinders and sharp rims, about 48k faces."""
    mesh, _ = run_to_completion(extract_mesh(flange_field, resolution=128, threshold=0.0))
    return mesh


def independent_deviation(full: trimesh.Trimesh, simplified: trimesh.Trimesh) -> float:
    """The 99.9th percentile of point-to-surface distances both ways on fresh area samples, / part size."""
    size = float(full.extents.max())
    on_full, _ = trimesh.sample.sample_surface(full, 60_000, seed=123)
    on_simplified, _ = trimesh.sample.sample_surface(simplified, 60_000, seed=456)
    there = MeshQuery(simplified).closest(on_full)[0]
    back = MeshQuery(full).closest(on_simplified)[0]
    return max(np.quantile(there, 0.999), np.quantile(back, 0.999)) / size


def test_error_bounded_simplification_keeps_the_bound_with_far_fewer_faces(flange):
    events = []
    simplified, report = run_to_completion(simplify_within(flange, DEFAULT_TOLERANCE), events.append)
    assert report.faces_before == len(flange.faces) > 40_000
    assert report.faces_after == len(simplified.faces) < len(flange.faces) / 4
    assert report.vertices_after == len(simplified.vertices)
    assert report.deviation <= DEFAULT_TOLERANCE and report.deviation <= report.max_deviation
    assert (len(simplified.faces), report.deviation) in report.probes
    # Measured again on other points, the bound holds (within the sampling noise of a quantile).
    assert independent_deviation(flange, simplified) <= 1.15 * DEFAULT_TOLERANCE
    assert simplified.is_watertight and simplified.is_winding_consistent and simplified.volume > 0
    assert check_solid(merged_as_a_file_reader_would(simplified)).is_solid
    assert simplified.volume == pytest.approx(flange.volume, rel=0.01)
    assert {event.stage for event in events} == {"simplify"}
    assert events[-1].done == events[-1].total


def test_a_tighter_tolerance_keeps_more_faces(flange):
    loose, loose_report = run_to_completion(simplify_within(flange, 0.004))
    tight, tight_report = run_to_completion(simplify_within(flange, 0.0005))
    assert len(tight.faces) > len(loose.faces)
    assert tight_report.deviation <= 0.0005 and loose_report.deviation <= 0.004


def test_deviation_of_a_mesh_from_itself_is_zero_and_grows_with_a_shift(flange):
    meter = DeviationMeter(flange)
    assert meter(flange).quantile == pytest.approx(0.0, abs=1e-9)
    shifted = flange.copy()
    shifted.apply_translation([0.01 * meter.size, 0.0, 0.0])
    assert meter(shifted).quantile == pytest.approx(0.01, rel=0.05)


def test_face_choices_full_budget_and_auto(flange):
    same, report = run_to_completion(simplify_for_export(flange, FaceTarget("full")))
    assert same is flange and report.faces_after == len(flange.faces) and report.deviation is None

    budget, report = run_to_completion(simplify_for_export(flange, FaceTarget.parse("5000")))
    assert len(budget.faces) <= 5000 and budget.is_watertight and report.faces_after == len(budget.faces)

    auto, report = run_to_completion(simplify_for_export(flange, FaceTarget.parse("auto", tolerance=0.003)))
    assert report.tolerance == 0.003 and report.deviation <= 0.003 and len(auto.faces) < len(flange.faces)


@pytest.mark.parametrize("text", ["none", "-5", "3", "1.5", ""])
def test_bad_face_choices_are_refused(text):
    with pytest.raises(ValueError):
        FaceTarget.parse(text)


@pytest.mark.parametrize("tolerance", [0.0, -0.1, 1.0, float("nan")])
def test_bad_tolerances_are_refused(tolerance):
    with pytest.raises(ValueError, match="tolerance"):
        FaceTarget("auto", None, tolerance)


def merged_as_a_file_reader_would(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Corners joined by their float32 position, as STL readers do."""
    return trimesh.Trimesh(np.asarray(mesh.vertices, dtype=np.float32).astype(np.float64), mesh.faces)


def test_sheets_touching_at_a_vertex_are_parted_so_that_a_file_keeps_the_solid():
    first = trimesh.creation.box(bounds=[[0, 0, 0], [1, 1, 1]])
    second = trimesh.creation.box(bounds=[[1, 1, 1], [2, 2, 2]])  # its corner on the first's, not shared
    touching = trimesh.Trimesh(
        np.vstack([first.vertices, second.vertices]), np.vstack([first.faces, second.faces + 8]), process=False
    )
    assert check_solid(touching).is_solid and not check_solid(merged_as_a_file_reader_would(touching)).is_solid

    parted = keep_vertices_apart(touching, size=2.0)
    assert check_solid(merged_as_a_file_reader_would(parted)).is_solid
    moved = np.linalg.norm(parted.vertices - touching.vertices, axis=1)
    assert np.count_nonzero(moved) == 2 and moved.max() == pytest.approx(2e-5)
    assert keep_vertices_apart(first, size=1.0) is first  # nothing to part: the same mesh


def test_a_mesh_that_is_not_a_closed_manifold_is_refused():
    open_box = trimesh.creation.box()
    open_box = trimesh.Trimesh(open_box.vertices, open_box.faces[:-2], process=False)
    with pytest.raises(ValueError, match="not a closed manifold"):
        run_to_completion(simplify_within(open_box))


def test_export_plan_weighs_simplification_by_the_choice():
    auto = dict(export_plan(FaceTarget(), 500_000))
    full = dict(export_plan(FaceTarget("full"), 500_000))
    assert list(auto) == ["simplify", "write"]
    assert auto["simplify"] > auto["write"] > 0
    assert full["simplify"] == 0 and full["write"] > auto["write"]


@pytest.mark.parametrize("fmt", EXPORT_EXTENSIONS)
@pytest.mark.parametrize("units", [ExportUnits.normalized(), ExportUnits.from_dimension("longest", 120.0)])
def test_estimated_file_size_is_close_to_the_written_one(tmp_path, flange, fmt, units):
    report = export_mesh(flange, tmp_path / f"part.{fmt}", units)
    estimate = estimated_bytes(fmt, len(flange.faces), len(flange.vertices))
    assert estimate == pytest.approx(report.bytes, rel=0.1)
    # Without the vertex count (the dialog's "at most N faces"), a closed surface's F / 2 + 2.
    assert estimated_bytes(fmt, len(flange.faces)) == pytest.approx(report.bytes, rel=0.1)


def test_export_report_gives_the_bounding_box_in_the_unit_asked_for(tmp_path):
    block = trimesh.creation.box(extents=(0.5, 0.25, 0.1))
    report = export_mesh(block, tmp_path / "block.glb", ExportUnits.from_dimension("x", 200.0))
    assert report.unit == "m" and report.extents == pytest.approx((200.0, 100.0, 40.0))
    report = export_mesh(block, tmp_path / "block.stl")
    assert report.extents == pytest.approx((0.5, 0.25, 0.1))


def test_file_sizes_read_as_people_write_them():
    assert [format_bytes(n) for n in (512, 850_000, 4_180_000, 28_700_000, 1_200_000_000)] == [
        "512 bytes", "850 kB", "4.2 MB", "28.7 MB", "1.2 GB",
    ]
