"""Reconstruction metrics against analytic values (DESIGN.md section 3)."""

import math

import numpy as np
import pytest
import trimesh

from svr_desktop.geometry import metrics
from svr_desktop.geometry.metrics import (
    MetricSettings,
    SurfaceMatch,
    compare_meshes,
    edge_chamfer,
    emd,
    emd_of_points,
    iou,
    iou_of_occupancy,
    normal_consistency,
)
from svr_desktop.geometry.sampling import sample_surface


def _cube(side, shift_x=0.0):
    cube = trimesh.creation.box((side, side, side))
    cube.apply_translation([shift_x, 0.0, 0.0])
    return cube


def _square(angle_about_x=0.0):
    """A flat 0.8 x 0.8 sheet in the xy-plane, tilted by ``angle_about_x``."""
    square = trimesh.Trimesh(
        vertices=[[-0.4, -0.4, 0], [0.4, -0.4, 0], [0.4, 0.4, 0], [-0.4, 0.4, 0]], faces=[[0, 1, 2], [0, 2, 3]]
    )
    square.apply_transform(trimesh.transformations.rotation_matrix(angle_about_x, [1, 0, 0]))
    return square


@pytest.fixture(scope="module")
def identical_cube_comparison():
    """The full default settings, once: a cube of side 0.8 against itself."""
    return compare_meshes(_cube(0.8), _cube(0.8), rng=0)


def test_identical_meshes_with_default_settings(identical_cube_comparison):
    c = identical_cube_comparison
    assert c.settings == MetricSettings()
    assert c.iou == 1.0  # same mesh, same uniform points
    # Two independent samples of one surface: the mean nearest-neighbour distance of
    # a planar Poisson sample of density rho is 1 / (2 sqrt(rho)).
    sampling_floor = 0.5 * math.sqrt(_cube(0.8).area / 100_000)
    assert c.chamfer_l1 == pytest.approx(sampling_floor, rel=0.05)
    assert c.accuracy == pytest.approx(sampling_floor, rel=0.05)
    assert c.completeness == pytest.approx(sampling_floor, rel=0.05)
    assert c.fscore > 0.995 and c.precision > 0.995 and c.recall > 0.995
    assert c.normal_consistency > 0.99
    assert c.edge_chamfer < 0.006 and c.edge_chamfer_defined
    assert c.pred_edge_points == c.gt_edge_points == 4096
    assert c.emd < 0.06  # only the sampling floor of 2,048 points
    assert not c.pred_empty and not c.gt_empty


def test_report_descriptions_cover_every_value(identical_cube_comparison):
    values = identical_cube_comparison.as_dict()
    descriptions = identical_cube_comparison.settings.describe()
    assert set(values) == set(descriptions)
    assert "100,000 uniform points" in descriptions["iou"]
    assert "2,048" in descriptions["emd"]
    assert all(isinstance(v, (float, int, bool)) for v in values.values())


def test_comparison_is_reproducible_from_a_seed():
    small = MetricSettings(iou_points=2000, surface_points=2000, edge_surface_samples=20_000, emd_points=64)
    first = compare_meshes(_cube(0.8), _cube(0.7), rng=5, settings=small).as_dict()
    assert compare_meshes(_cube(0.8), _cube(0.7), rng=np.random.default_rng(5), settings=small).as_dict() == first


def test_concentric_spheres():
    r = 0.4
    inner = trimesh.creation.icosphere(subdivisions=4, radius=r)
    outer = trimesh.creation.icosphere(subdivisions=4, radius=1.1 * r)
    match = SurfaceMatch.of_meshes(inner, outer, np.random.default_rng(0), 100_000)
    gap = 0.1 * r  # the distance between the surfaces, both ways
    chamfer = match.chamfer()
    assert chamfer.accuracy == pytest.approx(gap, rel=0.03)
    assert chamfer.completeness == pytest.approx(gap, rel=0.03)
    assert chamfer.chamfer_l1 == pytest.approx(gap, rel=0.03)
    assert tuple(match.fscore(tau=0.01)) == (0.0, 0.0, 0.0)  # every point is 0.04 > tau away
    assert tuple(match.fscore(tau=0.06)) == (1.0, 1.0, 1.0)  # and no point is farther than tau
    assert match.normal_consistency() > 0.999  # radial normals are parallel
    assert iou(inner, outer, rng=0) == pytest.approx((1 / 1.1) ** 3, abs=0.01)
    ecd = edge_chamfer(inner, outer, rng=0)
    assert math.isnan(ecd.edge_chamfer) and ecd.pred_edge_points == ecd.gt_edge_points == 0


def test_cube_shifted_along_x():
    side, delta = 0.8, 0.1
    a, b = _cube(side, -delta / 2), _cube(side, delta / 2)
    expected_iou = (1 - delta / side) / (1 + delta / side)
    assert iou(a, b, rng=0) == pytest.approx(expected_iou, abs=0.01)
    # Independent 2,048-point samples: delta plus a sampling error of about 0.01.
    assert emd(a, b, rng=0) == pytest.approx(delta, abs=0.025)
    # The same samples shifted: the identity matching costs delta and no matching costs
    # less (the mean moves by delta), so the exact assignment must find exactly delta;
    # a nearest-neighbour (non-bijective) match would come out lower.
    points, _ = sample_surface(a, 512, np.random.default_rng(1))
    assert emd_of_points(points, points + [delta, 0.0, 0.0]) == pytest.approx(delta, rel=1e-9)


def test_edge_chamfer_of_nested_cubes():
    # Corresponding edges of concentric cubes of sides 0.6 and 0.8 are 0.1 * sqrt(2)
    # apart; plain Chamfer-L1 would see their faces only 0.1 apart.
    ecd = edge_chamfer(_cube(0.6), _cube(0.8), rng=0)
    assert ecd.edge_chamfer == pytest.approx(0.1 * math.sqrt(2), abs=0.005)
    assert ecd.pred_edge_points == ecd.gt_edge_points == 4096


def test_fscore_formula_on_hand_made_distances():
    match = SurfaceMatch(
        pred_to_gt=np.array([0.005, 0.02]),  # precision 1/2
        gt_to_pred=np.array([0.001, 0.002, 0.003, 0.5]),  # recall 3/4
        pred_normal_dot=np.array([1.0, 0.0]),
        gt_normal_dot=np.array([1.0, 1.0, 1.0, 1.0]),
    )
    fscore = match.fscore(tau=0.01)
    assert fscore.precision == 0.5 and fscore.recall == 0.75
    assert fscore.fscore == pytest.approx(2 * 0.5 * 0.75 / 1.25)
    assert match.normal_consistency() == pytest.approx(0.5 * (0.5 + 1.0))
    assert match.chamfer().chamfer_l1 == pytest.approx(0.5 * (0.0125 + 0.506 / 4))


def test_normal_consistency_of_tilted_sheets_and_flipped_normals():
    angle = math.radians(30)
    assert normal_consistency(_square(), _square(angle), rng=0, points=2000) == pytest.approx(math.cos(angle))
    cube = _cube(0.8)
    # built afresh: trimesh's invert() keeps stale face normals after a transform
    flipped = trimesh.Trimesh(cube.vertices, cube.faces[:, ::-1])
    assert np.allclose(flipped.face_normals, -cube.face_normals)
    assert normal_consistency(flipped, cube, rng=0, points=20_000) > 0.98
    assert normal_consistency(cube, flipped, rng=0, points=20_000) > 0.98


def test_iou_of_occupancy():
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    assert iou_of_occupancy(a, b) == pytest.approx(1 / 3)
    assert iou_of_occupancy(np.zeros(3, bool), np.zeros(3, bool)) == 0.0


@pytest.mark.parametrize("empty_side", ["pred", "gt", "both"])
def test_empty_meshes_score_worst_without_crashing(empty_side):
    empty = trimesh.Trimesh()
    cube = _cube(0.8)
    pred = empty if empty_side in ("pred", "both") else cube
    gt = empty if empty_side in ("gt", "both") else cube
    small = MetricSettings(iou_points=1000, surface_points=1000, edge_surface_samples=10_000, emd_points=32)
    c = compare_meshes(pred, gt, rng=0, settings=small)
    assert c.iou == 0.0
    assert c.chamfer_l1 == c.accuracy == c.completeness == math.inf
    assert c.fscore == c.precision == c.recall == 0.0
    assert c.normal_consistency == 0.0
    assert c.edge_chamfer == math.inf and c.emd == math.inf
    assert c.pred_empty == (empty_side in ("pred", "both"))
    assert c.gt_empty == (empty_side in ("gt", "both"))


def test_a_zero_area_mesh_counts_as_empty():
    flat = trimesh.Trimesh(vertices=np.zeros((3, 3)), faces=[[0, 1, 2]], process=False)
    assert metrics.is_empty(flat)
    assert metrics.chamfer_l1(flat, _cube(0.8), points=100).chamfer_l1 == math.inf
    assert metrics.chamfer_of_points(np.zeros((0, 3)), np.ones((2, 3))).chamfer_l1 == math.inf
