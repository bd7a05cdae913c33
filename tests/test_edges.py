"""Sharpness and edge points (paper eq. 13)."""

import numpy as np
import pytest
import trimesh

from svr_desktop.geometry.edges import (
    EDGE_EPS,
    MAX_SURFACE_SAMPLES,
    default_surface_samples,
    edge_points,
    sharpness,
)
from svr_desktop.geometry.sampling import sample_surface


def _unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def _cube_edge_distance(points, half=0.5):
    """Distance of each point to each of the 12 edges of the cube [-half, half]^3, shape (N, 12), and
    the free (along-edge) coordinate of each point for each edge."""
    distances, along = [], []
    for free in range(3):
        a, b = [axis for axis in range(3) if axis != free]
        for sa in (-half, half):
            for sb in (-half, half):
                distances.append(np.hypot(points[:, a] - sa, points[:, b] - sb))
                along.append(points[:, free])
    return np.stack(distances, axis=1), np.stack(along, axis=1)


def test_sharpness_of_a_hand_made_point_set():
    z = [0.0, 0.0, 1.0]
    points = np.array(
        [
            [0.0, 0.0, 0.0],  # 0: neighbours 1 (|dot| 0.8) and 2 (|dot| 0.3) -> 0.3
            [0.006, 0.0, 0.0],  # 1: only neighbour 0 -> 0.8 (2 is 0.012 away)
            [-0.006, 0.0, 0.0],  # 2: only neighbour 0 -> 0.3
            [1.0, 0.0, 0.0],  # 3: perpendicular partner 4 within eps -> 0
            [1.0, 0.009, 0.0],  # 4: -> 0
            [2.0, 0.0, 0.0],  # 5: perpendicular partner 6 just beyond eps -> isolated, 1
            [2.0, 0.0, 0.0101],  # 6: -> 1
            [3.0, 0.0, 0.0],  # 7: flipped copy of its own normal at 8 -> |dot| = 1
            [3.0, 0.005, 0.0],  # 8
        ]
    )
    normals = np.array(
        [
            z,
            [0.0, 0.6, 0.8],
            [0.0, np.sqrt(1 - 0.3**2), -0.3],  # orientation must not matter: |dot| = 0.3
            z,
            [1.0, 0.0, 0.0],
            z,
            [0.0, 1.0, 0.0],
            _unit([1.0, 2.0, 3.0]),
            -_unit([1.0, 2.0, 3.0]),
        ]
    )
    expected = [0.3, 0.8, 0.3, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    np.testing.assert_allclose(sharpness(points, normals, eps=0.01), expected, atol=1e-12)


def test_sharpness_of_fewer_than_two_points_is_one():
    np.testing.assert_array_equal(sharpness(np.zeros((1, 3)), np.array([[0.0, 0.0, 1.0]])), [1.0])
    assert sharpness(np.zeros((0, 3)), np.zeros((0, 3))).shape == (0,)


def test_default_density_finds_samples_near_cube_edges_and_nothing_else():
    box = trimesh.creation.box()  # unit cube, area 6
    count = default_surface_samples(box.area)
    points, normals = sample_surface(box, count, np.random.default_rng(0))
    sigma = sharpness(points, normals)
    to_edge = _cube_edge_distance(points)[0].min(axis=1)
    # within eps/2 of an edge a sample expects >= 6 neighbours on the other face
    assert np.mean(sigma[to_edge < EDGE_EPS / 2] < 0.1) > 0.98
    assert np.all(sigma[to_edge > EDGE_EPS * 1.0001] > 0.999)


def test_cube_edge_points_lie_on_and_cover_all_twelve_edges():
    box = trimesh.creation.box()
    points, normals = edge_points(box, np.random.default_rng(1))
    assert points.shape == normals.shape == (4096, 3)  # the cube has ~11,000 before subsampling
    distance, along = _cube_edge_distance(points)
    nearest = distance.argmin(axis=1)
    assert distance.min(axis=1).max() <= EDGE_EPS + 1e-9
    for edge in range(12):
        position = along[nearest == edge, edge]
        occupied = np.unique(np.floor((position + 0.5) * 10).clip(0, 9))
        assert len(occupied) == 10, f"edge {edge} has gaps"
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0)


def test_sphere_has_no_edge_points():
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=0.5)
    points, _ = edge_points(sphere, np.random.default_rng(0))
    assert len(points) == 0


def test_edge_points_of_an_empty_mesh():
    points, normals = edge_points(trimesh.Trimesh(), np.random.default_rng(0))
    assert points.shape == normals.shape == (0, 3)


def test_edge_points_honours_sample_count_and_cap():
    box = trimesh.creation.box()
    rng = np.random.default_rng(2)
    points, _ = edge_points(box, rng, surface_samples=50_000, max_points=100)
    assert len(points) == 100
    sparse, _ = edge_points(box, rng, surface_samples=2_000, max_points=100_000)
    dense, _ = edge_points(box, rng, surface_samples=200_000, max_points=100_000)
    assert len(sparse) < 0.05 * len(dense)


def test_default_surface_samples_scale_with_area_and_eps():
    base = default_surface_samples(1.0, eps=0.01)
    assert base == pytest.approx(16.0 / (np.pi * 1e-4), rel=1e-4)  # 16 per eps-disc
    assert default_surface_samples(2.0, eps=0.01) == pytest.approx(2 * base, abs=1)
    assert default_surface_samples(1.0, eps=0.02) == pytest.approx(base / 4, abs=1)
    assert default_surface_samples(1e6) == MAX_SURFACE_SAMPLES
