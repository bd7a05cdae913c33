"""Mesh extraction (dense grid, MISE, marching cubes) on analytic fields.

Fields are occupancy-like: ``sigmoid(-sdf / TAU)`` with threshold 0.5, so the
surface is the zero set of a known SDF and area and volume are known exactly.
Shapes are large against the grid cell (the thinnest, the torus tube, is 28
cells of 256 across) so that the 1% area and volume tolerances test the
extraction, not the resolution limit.
"""

from __future__ import annotations

import igl
import mcubes
import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree

from svr_desktop.geometry import extraction
from svr_desktop.geometry.extraction import (
    ExtractionStats,
    evaluate_grid,
    evaluate_mise,
    extract_mesh,
    grid_points,
    grid_spacing,
    volume_to_mesh,
)
from svr_desktop.geometry.frames import PADDED_HALF
from svr_desktop.progress import Progress, run_to_completion

#: Width of the sigmoid transition: several cells at 256, about one at 64.
TAU = 0.02


def occupancy(sdf: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(sdf / TAU))


def sphere_sdf(p: np.ndarray, radius: float = 0.4, center=(0.0, 0.0, 0.0)) -> np.ndarray:
    return np.linalg.norm(p - np.asarray(center), axis=1) - radius


def torus_sdf(p: np.ndarray, major: float = 0.3, minor: float = 0.12) -> np.ndarray:
    ring = np.hypot(p[:, 0], p[:, 1]) - major
    return np.hypot(ring, p[:, 2]) - minor


BOX_HALF = np.array([0.4, 0.3, 0.2])
HOLE_RADIUS = 0.15


def box_with_hole_sdf(p: np.ndarray) -> np.ndarray:
    """Box minus a cylinder along z through its middle."""
    q = np.abs(p) - BOX_HALF
    box = np.linalg.norm(np.maximum(q, 0.0), axis=1) + np.minimum(q.max(axis=1), 0.0)
    cylinder = np.hypot(p[:, 0], p[:, 1]) - HOLE_RADIUS
    return np.maximum(box, -cylinder)


def _box_with_hole_area_volume() -> tuple[float, float]:
    a, b, c = 2 * BOX_HALF
    area = 2 * (a * b + a * c + b * c) - 2 * np.pi * HOLE_RADIUS**2 + 2 * np.pi * HOLE_RADIUS * c
    return area, a * b * c - np.pi * HOLE_RADIUS**2 * c


#: name -> (sdf, analytic area, analytic volume)
SHAPES = {
    "sphere": (sphere_sdf, 4 * np.pi * 0.4**2, 4 / 3 * np.pi * 0.4**3),
    "torus": (torus_sdf, 4 * np.pi**2 * 0.3 * 0.12, 2 * np.pi**2 * 0.3 * 0.12**2),
    "box_with_hole": (box_with_hole_sdf, *_box_with_hole_area_volume()),
}


def occupancy_field(sdf):
    return lambda points: occupancy(sdf(points.astype(np.float64)))


def extract(field, resolution, **kwargs):
    return run_to_completion(extract_mesh(field, resolution, **kwargs))


def inside(mesh: trimesh.Trimesh, points: np.ndarray) -> np.ndarray:
    return (
        igl.fast_winding_number(
            np.ascontiguousarray(mesh.vertices, dtype=np.float64),
            np.ascontiguousarray(mesh.faces, dtype=np.int64),
            points,
        )
        > 0.5
    )


def iou(a: trimesh.Trimesh, b: trimesh.Trimesh, n: int = 100_000) -> float:
    points = np.random.default_rng(0).uniform(-PADDED_HALF, PADDED_HALF, (n, 3))
    in_a, in_b = inside(a, points), inside(b, points)
    return float((in_a & in_b).sum() / (in_a | in_b).sum())


def assert_closed_outward(mesh: trimesh.Trimesh) -> None:
    assert len(mesh.faces) > 0
    assert mesh.is_watertight
    assert mesh.is_winding_consistent
    assert mesh.volume > 0
    # trimesh's default processing (merging vertices within 1e-8) must not
    # find anything to merge: no coincident vertices that could pinch.
    processed = trimesh.Trimesh(mesh.vertices, mesh.faces)
    assert len(processed.vertices) == len(mesh.vertices)
    assert processed.is_watertight


def test_grid_points_cover_padded_cube_in_volume_order():
    points = grid_points(4)
    assert points.shape == (125, 3) and points.dtype == np.float32
    np.testing.assert_allclose(points[0], [-PADDED_HALF] * 3)
    np.testing.assert_allclose(points[-1], [PADDED_HALF] * 3)
    # C order: z varies fastest, then y, then x (volume[i, j, k]).
    np.testing.assert_allclose(points[1] - points[0], [0, 0, grid_spacing(4)], atol=1e-7)
    np.testing.assert_allclose(points[5] - points[0], [0, grid_spacing(4), 0], atol=1e-7)
    np.testing.assert_allclose(points[25] - points[0], [grid_spacing(4), 0, 0], atol=1e-7)


def test_evaluate_grid_matches_direct_evaluation():
    field = occupancy_field(torus_sdf)
    volume, levels = run_to_completion(evaluate_grid(field, 16, chunk_size=1000))
    assert volume.shape == (17, 17, 17)
    assert [(level.resolution, level.points_queried) for level in levels] == [(16, 17**3)]
    np.testing.assert_allclose(volume.reshape(-1), field(grid_points(16)), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_mise_mesh_matches_dense_mesh(name):
    field = occupancy_field(SHAPES[name][0])
    dense, dense_stats = extract(field, 128, method="dense")
    mise, mise_stats = extract(field, 128, method="mise")
    assert_closed_outward(mise)
    assert iou(mise, dense) >= 0.99
    assert dense_stats.queried_fraction == 1.0
    assert mise_stats.queried_fraction < 0.2


def test_mise_queries_each_point_once_and_keeps_exact_values():
    sdf = SHAPES["box_with_hole"][0]
    queried = []

    def recording(points):
        queried.append(points.copy())
        return occupancy(sdf(points.astype(np.float64)))

    volume, levels = run_to_completion(evaluate_mise(recording, 64, initial_resolution=16))
    points = np.concatenate(queried)
    assert [level.resolution for level in levels] == [16, 32, 64]
    assert len(points) == sum(level.points_queried for level in levels)
    assert len(np.unique(points, axis=0)) == len(points)

    dense, _ = run_to_completion(evaluate_grid(occupancy_field(sdf), 64))
    # A queried point's value is the dense value there...
    index = np.rint((points + PADDED_HALF) / grid_spacing(64)).astype(int)
    np.testing.assert_array_equal(volume[tuple(index.T)], dense[tuple(index.T)])
    # ...and interpolated points never disagree on the side of the threshold.
    assert np.array_equal(volume > 0.5, dense > 0.5)


def test_mise_interpolation_is_trilinear():
    """Trilinear upsampling reproduces a linear field exactly at unqueried points."""
    weights = np.array([0.3, -0.2, 0.5])

    def linear(points):
        return points.astype(np.float64) @ weights + 0.5

    volume, levels = run_to_completion(evaluate_mise(linear, 64, initial_resolution=8))
    assert sum(level.points_queried for level in levels) < 65**3
    np.testing.assert_allclose(volume.reshape(-1), linear(grid_points(64)), atol=1e-5)


def test_dilation_recovers_a_thin_wall_that_undilated_mise_misses():
    normal = np.array([0.3, 0.5, 0.81]) / np.linalg.norm([0.3, 0.5, 0.81])

    def tilted_plate(points):
        p = points.astype(np.float64)
        sdf = np.maximum(np.abs(p @ normal) - 0.004, np.linalg.norm(p, axis=1) - 0.45)
        return 1.0 / (1.0 + np.exp(sdf / 0.005))

    dense = run_to_completion(evaluate_grid(tilted_plate, 128))[0] > 0.5
    plain, _ = run_to_completion(evaluate_mise(tilted_plate, 128, neighbourhood=0))
    dilated, _ = run_to_completion(evaluate_mise(tilted_plate, 128))
    assert not np.array_equal(plain > 0.5, dense)
    assert np.array_equal(dilated > 0.5, dense)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_area_and_volume_match_analytic_at_256(name):
    sdf, area, volume = SHAPES[name]
    mesh, stats = extract(occupancy_field(sdf), 256)
    assert_closed_outward(mesh)
    assert abs(mesh.area / area - 1) < 0.01
    assert abs(mesh.volume / volume - 1) < 0.01
    assert stats.faces == len(mesh.faces)
    assert stats.queried_fraction < 0.1
    assert [level.resolution for level in stats.levels] == [32, 64, 128, 256]


def test_sdf_convention_negated_sdf_with_threshold_zero():
    mesh, _ = extract(lambda p: -sphere_sdf(p.astype(np.float64)), 128, threshold=0.0)
    assert_closed_outward(mesh)
    assert abs(mesh.volume / SHAPES["sphere"][2] - 1) < 0.01


def test_progress_events_cover_every_stage():
    events: list[Progress] = []
    mesh, stats = run_to_completion(
        extract_mesh(occupancy_field(sphere_sdf), 128, chunk_size=20000), events.append
    )
    stages = list(dict.fromkeys(event.stage for event in events))
    assert stages == ["mise 32^3", "mise 64^3", "mise 128^3", "marching cubes"]
    for level in stats.levels:
        stage_events = [e for e in events if e.stage == f"mise {level.resolution}^3"]
        assert [e.total for e in stage_events] == [level.points_queried] * len(stage_events)
        assert [e.done for e in stage_events] == sorted(e.done for e in stage_events)
        assert stage_events[-1].done == level.points_queried
    assert isinstance(stats, ExtractionStats) and len(mesh.faces) == stats.faces


def oriented_faces(faces: np.ndarray) -> np.ndarray:
    """Faces as a sorted array of rows, each rotated to start at its smallest index (orientation kept)."""
    start = faces.argmin(axis=1)
    rotated = np.stack([faces[np.arange(len(faces)), (start + i) % 3] for i in range(3)], axis=1)
    return rotated[np.lexsort(rotated.T[::-1])]


def assert_same_mesh(a: trimesh.Trimesh, b: trimesh.Trimesh, atol: float = 1e-12) -> None:
    """The same vertices (up to ``atol`` and order) joined by the same oriented faces."""
    assert a.vertices.shape == b.vertices.shape
    distance, a_index = cKDTree(a.vertices).query(b.vertices)
    assert distance.max() <= atol
    assert len(np.unique(a_index)) == len(a_index)  # a one-to-one pairing
    np.testing.assert_array_equal(oriented_faces(a.faces), oriented_faces(a_index[b.faces]))


@pytest.mark.parametrize("name", sorted(SHAPES))
@pytest.mark.parametrize("slab_planes", [1, 2, 7])
def test_marching_in_slabs_gives_the_single_call_mesh(name, slab_planes, monkeypatch):
    volume = run_to_completion(evaluate_grid(occupancy_field(SHAPES[name][0]), 64))[0]
    monkeypatch.setattr(extraction, "_SLAB_POINTS", 10**9)  # one slab: a single PyMCubes call
    whole = run_to_completion(volume_to_mesh(volume, 0.5))
    monkeypatch.setattr(extraction, "_SLAB_POINTS", slab_planes * 67**2)  # 67^2 points per padded plane
    slabbed = run_to_completion(volume_to_mesh(volume, 0.5))
    assert_same_mesh(whole, slabbed)
    assert_closed_outward(slabbed)
    assert slabbed.area == pytest.approx(whole.area, rel=1e-12)
    assert slabbed.volume == pytest.approx(whole.volume, rel=1e-12)


def test_marching_cubes_reports_progress_slab_by_slab_and_stops_when_closed(monkeypatch):
    calls = []
    march = mcubes.marching_cubes
    monkeypatch.setattr(mcubes, "marching_cubes", lambda *args: calls.append(1) or march(*args))
    volume = run_to_completion(evaluate_grid(occupancy_field(sphere_sdf), 128))[0]
    events = list(volume_to_mesh(volume, 0.5))
    assert {event.stage for event in events} == {"marching cubes"}
    assert [event.total for event in events] == [130] * len(events)  # cell layers of the padded grid
    assert [event.done for event in events] == sorted({event.done for event in events})
    assert events[0].done == 0 and events[-1].done == 130
    assert len(calls) == len(events) - 1 > 5  # 15 planes per slab at 128

    calls.clear()
    work = volume_to_mesh(volume, 0.5)
    for _ in range(3):
        next(work)
    work.close()
    assert len(calls) == 2


def test_stopping_the_generator_cancels_the_work():
    calls = []

    def field(points):
        calls.append(len(points))
        return occupancy(sphere_sdf(points.astype(np.float64)))

    work = extract_mesh(field, 256, chunk_size=4096)
    for _ in range(3):
        assert next(work).stage == "mise 32^3"
    work.close()
    assert calls == [4096] * 3
    with pytest.raises(StopIteration):
        next(work)
    assert calls == [4096] * 3


@pytest.mark.parametrize("method", ["mise", "dense"])
def test_empty_field_gives_empty_mesh(method):
    mesh, stats = extract(lambda p: np.zeros(len(p)), 64, method=method)
    assert len(mesh.faces) == 0 and len(mesh.vertices) == 0
    assert stats.faces == 0
    if method == "mise":
        assert stats.points_queried == 33**3  # nothing to refine


def test_shape_cut_by_the_grid_border_is_closed():
    # Sphere of radius 0.5 centred at x = 0.4 pokes 0.35 out of the x = 0.55 face.
    radius, cap = 0.5, 0.35
    mesh, _ = extract(occupancy_field(lambda p: sphere_sdf(p, radius, (0.4, 0.0, 0.0))), 128)
    assert_closed_outward(mesh)
    clipped = 4 / 3 * np.pi * radius**3 - np.pi * cap**2 * (3 * radius - cap) / 3
    assert abs(mesh.volume / clipped - 1) < 0.01
    # The cap closing the cut lies within a hundredth of a cell of the border.
    assert np.abs(mesh.vertices).max() <= PADDED_HALF + 0.011 * grid_spacing(128)


def test_field_filling_the_cube_gives_the_cube():
    mesh, _ = extract(lambda p: np.ones(len(p)), 32)
    assert_closed_outward(mesh)
    assert abs(mesh.volume / (2 * PADDED_HALF) ** 3 - 1) < 0.01


def test_values_exactly_on_the_threshold_keep_the_mesh_manifold():
    """A quantized field puts many grid values exactly on the threshold."""

    def quantized(points):
        return np.round(2 * occupancy(torus_sdf(points.astype(np.float64)))) / 2

    mesh, _ = extract(quantized, 64, method="dense")
    assert (run_to_completion(evaluate_grid(quantized, 64))[0] == 0.5).sum() > 1000
    assert_closed_outward(mesh)


def test_invalid_arguments_are_rejected():
    field = occupancy_field(sphere_sdf)
    with pytest.raises(ValueError, match="power of two"):
        extract(field, 96, initial_resolution=32)
    with pytest.raises(ValueError, match="initial_resolution"):
        extract(field, 16, initial_resolution=32)
    with pytest.raises(ValueError, match="neighbourhood"):
        extract(field, 64, neighbourhood=8)
    with pytest.raises(ValueError, match="method"):
        extract(field, 64, method="sparse")
    with pytest.raises(ValueError, match="values"):
        extract(lambda p: np.zeros(len(p) + 1), 64)
