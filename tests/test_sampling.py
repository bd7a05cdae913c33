"""Training samples and the distance / inside queries behind them."""

import numpy as np
import pytest
import trimesh

from svr_desktop.geometry.frames import PADDED_HALF, normalize_mesh
from svr_desktop.geometry.queries import MeshQuery
from svr_desktop.geometry.sampling import (
    SamplingConfig,
    sample_surface,
    sample_training_points,
    sample_uniform,
)


@pytest.fixture(scope="module")
def sphere():
    return trimesh.creation.icosphere(subdivisions=5, radius=0.4)


def test_queries_match_analytic_sphere(sphere):
    rng = np.random.default_rng(0)
    points = sample_uniform(5000, rng)
    distance, inside = MeshQuery(sphere).distance_and_inside(points)
    radius = np.linalg.norm(points, axis=1)
    np.testing.assert_allclose(distance, np.abs(radius - 0.4), atol=2e-3)  # faceting error
    clear = np.abs(radius - 0.4) > 2e-3
    np.testing.assert_array_equal(inside[clear], radius[clear] < 0.4)


def test_inside_survives_a_small_hole(sphere):
    # Ray parity flips whole regions on open meshes; the winding number does not.
    holed = sphere.copy()
    holed.update_faces(np.arange(len(holed.faces)) >= 3)
    assert not holed.is_watertight
    points = np.array([[0.0, 0.0, 0.0], [0.1, -0.2, 0.15], [0.45, 0.0, 0.0], [0.0, 0.52, 0.0]])
    np.testing.assert_array_equal(MeshQuery(holed).inside(points), [True, True, False, False])


def test_fast_inside_matches_the_exact_winding_number():
    from svr_desktop.data.parts import generate_part

    part = normalize_mesh(generate_part("pipe_tee", np.random.default_rng(3)).mesh)[0]
    points = np.random.default_rng(0).uniform(-PADDED_HALF, PADDED_HALF, (20_000, 3))
    query = MeshQuery(part)
    exact, fast = query.inside(points), query.inside_fast(points)
    assert exact.sum() > 500  # the test means something: many points inside
    assert np.count_nonzero(exact != fast) <= 2  # only right at the surface, if anywhere


def test_surface_samples_lie_on_the_surface_with_outward_normals(sphere):
    points, normals = sample_surface(sphere, 2000, np.random.default_rng(1))
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 0.4, atol=2e-3)
    cosine = np.sum(normals * points / np.linalg.norm(points, axis=1, keepdims=True), axis=1)
    assert np.all(cosine > 0.99)


def test_training_samples_counts_units_and_labels():
    mesh = normalize_mesh(trimesh.creation.box((1.0, 0.6, 0.3)))[0]
    config = SamplingConfig(voxel_resolution=128)
    samples = sample_training_points(mesh, np.random.default_rng(2), config)
    assert len(samples) == 10000
    assert samples.points.dtype == np.float32 and samples.points.shape == (10000, 3)
    uniform = samples.points[-128:]
    assert np.all(np.abs(uniform) <= PADDED_HALF)
    # distance to an axis-aligned box, analytically, in voxels of the 128 grid
    half = np.array([0.5, 0.3, 0.15])
    q = np.abs(samples.points.astype(np.float64)) - half
    outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
    inside_depth = -np.minimum(np.max(q, axis=1), 0.0)
    analytic = np.where(np.all(q < 0, axis=1), inside_depth, outside) * 128
    np.testing.assert_allclose(samples.distance, analytic, atol=1e-3)
    np.testing.assert_array_equal(samples.inside, np.all(q < 0, axis=1))
    # most points hug the surface, where the labels change
    assert np.mean(samples.distance < 3.0) > 0.3
    assert 0.2 < samples.inside.mean() < 0.8


def test_training_samples_are_seeded():
    mesh = trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    config = SamplingConfig(surface_points=500, uniform_points=50)
    a = sample_training_points(mesh, np.random.default_rng(7), config)
    b = sample_training_points(mesh, np.random.default_rng(7), config)
    c = sample_training_points(mesh, np.random.default_rng(8), config)
    np.testing.assert_array_equal(a.points, b.points)
    assert not np.array_equal(a.points, c.points)


def test_offset_mixture_controls_the_spread():
    mesh = trimesh.creation.icosphere(subdivisions=4, radius=0.4)
    tight = SamplingConfig(surface_points=3000, uniform_points=0, offset_mixture=((0.002, 1.0),))
    wide = SamplingConfig(surface_points=3000, uniform_points=0, offset_mixture=((0.05, 1.0),))
    d_tight = sample_training_points(mesh, np.random.default_rng(0), tight).distance
    d_wide = sample_training_points(mesh, np.random.default_rng(0), wide).distance
    assert np.median(d_wide) > 10 * np.median(d_tight)
    with pytest.raises(ValueError):
        sample_training_points(mesh, np.random.default_rng(0), SamplingConfig(offset_mixture=((0.01, 0.0),)))
