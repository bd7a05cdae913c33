"""Aligning a ground truth with a reconstruction, distances, and the comparison generator."""

import numpy as np
import pytest
import trimesh

from svr_desktop.geometry import alignment as alignment_module
from svr_desktop.geometry.alignment import (
    ICP_PREFIX,
    POINT_STAGES,
    STAGES,
    IcpResult,
    align_to_reconstruction,
    compare_points_to_ground_truth,
    compare_to_ground_truth,
    distance_to_surface,
    icp,
    normalization_matrix,
)
from svr_desktop.geometry.frames import normalization_of, normalize_mesh
from svr_desktop.geometry.metrics import NEEDS_SURFACE, MetricSettings, compare_meshes
from svr_desktop.geometry.reference_check import MIN_SILHOUETTE_IOU, check_reference, front_silhouette
from svr_desktop.progress import Progress, run_to_completion

#: Small sample counts keep the comparison tests quick; the code path is the same.
QUICK = MetricSettings(iou_points=5000, surface_points=5000, edge_points=500, edge_surface_samples=60_000, emd_points=128)


def bracket() -> trimesh.Trimesh:
    """An L-shaped part without symmetries, so a rigid fit has one right answer."""
    foot = trimesh.creation.box((0.6, 0.2, 0.4))
    leg = trimesh.creation.box((0.15, 0.5, 0.4))
    leg.apply_translation([-0.225, 0.35, 0.0])
    lug = trimesh.creation.box((0.1, 0.1, 0.1))
    lug.apply_translation([0.2, 0.15, 0.1])
    return trimesh.util.concatenate([foot, leg, lug])


def small_motion() -> np.ndarray:
    """4 degrees about a skew axis plus a translation of about 3% of the size."""
    motion = trimesh.transformations.rotation_matrix(np.radians(4.0), [0.3, 1.0, 0.2], point=[0.05, 0.1, 0.0])
    motion[:3, 3] += [0.02, -0.015, 0.01]
    return motion


def moved(mesh, matrix):
    out = mesh.copy()
    out.apply_transform(matrix)
    return out


def test_normalization_matrix_matches_the_normalization():
    mesh = bracket()
    mesh.apply_scale(37.0)
    mesh.apply_translation([5.0, -3.0, 2.0])
    norm = normalization_of(mesh)
    np.testing.assert_allclose(
        trimesh.transform_points(mesh.vertices, normalization_matrix(norm)), norm.apply(mesh.vertices), atol=1e-12
    )


def test_icp_recovers_a_known_small_rigid_motion():
    fixed = bracket()
    motion = small_motion()
    result = icp(moved(fixed, motion), fixed)
    np.testing.assert_allclose(result.matrix, np.linalg.inv(motion), atol=2e-4)
    assert result.rms < 1e-4


def test_icp_recovers_a_small_scale_error():
    fixed = bracket()
    motion = small_motion() @ np.diag([1.04, 1.04, 1.04, 1.0])
    result = icp(moved(fixed, motion), fixed)
    np.testing.assert_allclose(result.matrix, np.linalg.inv(motion), atol=2e-4)


def test_icp_leaves_an_aligned_pair_alone():
    fixed = bracket()
    result = icp(fixed.copy(), fixed)
    np.testing.assert_allclose(result.matrix, np.eye(4), atol=1e-6)


def test_normalization_alone_undoes_units_and_position():
    reconstruction = bracket()
    reconstruction.apply_translation([0.01, -0.02, 0.0])  # a reconstruction is only roughly centred
    ground_truth = bracket()
    ground_truth.apply_scale(120.0)  # millimetres, somewhere else
    ground_truth.apply_translation([40.0, 10.0, -7.0])
    alignment = align_to_reconstruction(ground_truth, reconstruction)
    assert alignment.icp_rms is None
    np.testing.assert_allclose(alignment.ground_truth.vertices, normalize_mesh(reconstruction)[0].vertices, atol=1e-9)
    np.testing.assert_allclose(alignment.gt_in_reconstruction_coordinates().vertices, reconstruction.vertices, atol=1e-9)
    np.testing.assert_allclose(alignment.ground_truth.extents.max(), 1.0)


def test_refinement_removes_a_small_misalignment_that_normalization_leaves():
    reconstruction = bracket()
    ground_truth = moved(bracket(), small_motion())
    ground_truth.apply_scale(50.0)
    target = normalize_mesh(reconstruction)[0].vertices
    rough = align_to_reconstruction(ground_truth, reconstruction)
    refined = align_to_reconstruction(ground_truth, reconstruction, refine=True)
    rough_error = np.abs(rough.ground_truth.vertices - target).max()
    refined_error = np.abs(refined.ground_truth.vertices - target).max()
    assert rough_error > 0.01
    assert refined_error < 1e-3
    assert refined.icp_rms is not None and refined.icp_rms < 0.01


def test_alignment_rejects_a_degenerate_mesh():
    point_like = trimesh.Trimesh(vertices=[[1, 1, 1], [1, 1, 1], [1, 1, 1]], faces=[[0, 1, 2]], process=False)
    with pytest.raises(ValueError, match="degenerate"):
        align_to_reconstruction(point_like, bracket())


def test_distance_to_surface_of_a_box():
    box = trimesh.creation.box((1.0, 1.0, 1.0))
    points = np.array([[0.0, 0.0, 0.6], [0.0, 0.0, 0.0], [0.7, 0.7, 0.0], [0.5, 0.2, -0.1]])
    np.testing.assert_allclose(distance_to_surface(points, box), [0.1, 0.5, np.hypot(0.2, 0.2), 0.0], atol=1e-9)


def test_comparison_reports_every_stage_and_matches_compare_meshes():
    reconstruction = trimesh.creation.box((1.0, 0.8, 0.6))
    reconstruction.apply_translation([0.02, 0.0, 0.0])
    ground_truth = trimesh.creation.box((1.0, 0.7, 0.6))
    ground_truth.apply_scale(10.0)
    events = []
    result = run_to_completion(compare_to_ground_truth(reconstruction, ground_truth, settings=QUICK, seed=3), events.append)
    assert [e.stage for e in events] == [*STAGES, STAGES[-1]]
    assert all(isinstance(e, Progress) for e in events) and events[-1].done == events[-1].total

    direct = compare_meshes(normalize_mesh(reconstruction)[0], normalize_mesh(ground_truth)[0], 3, QUICK)
    assert result.metrics.as_dict() == pytest.approx(direct.as_dict(), nan_ok=True)
    assert result.metrics.iou == pytest.approx(0.7 / 0.8, abs=0.03)

    # Heat map: one distance per reconstruction vertex; the corners stick out by 0.05 (normalized) in y.
    assert result.vertex_distance.shape == (len(reconstruction.vertices),)
    np.testing.assert_allclose(result.vertex_distance, 0.05, atol=1e-9)
    # Overlays are in the reconstruction's own coordinates: on its box, at its edges.
    for edges in (result.reconstruction_edges, result.gt_edges):
        assert len(edges) > 0
    assert np.all(distance_to_surface(result.reconstruction_edges, reconstruction) < 1e-9)
    assert np.abs(result.gt_edges[:, 1]).max() == pytest.approx(0.35, abs=1e-6)


def box_with_spike() -> tuple[trimesh.Trimesh, trimesh.Trimesh]:
    """A reconstruction with a thin spike that stretches its bounding box, and the plain box it should be."""
    spike = trimesh.creation.box((0.4, 0.05, 0.05))
    spike.apply_translation([0.7, 0.0, 0.0])
    return trimesh.util.concatenate([trimesh.creation.box((1.0, 0.8, 0.6)), spike]), trimesh.creation.box((1.0, 0.8, 0.6))


def test_icp_is_applied_when_it_raises_the_iou_and_the_comparison_says_so():
    reconstruction, ground_truth = box_with_spike()  # the spike shifts and shrinks the normalized box
    events = []
    result = run_to_completion(compare_to_ground_truth(reconstruction, ground_truth, True, QUICK), events.append)
    assert result.icp.applied and result.icp.iou_with > 0.9 > 0.5 > result.icp.iou_without
    assert result.metrics.iou == result.icp.iou_with and result.alignment.icp_rms == result.icp.rms
    plain = run_to_completion(compare_to_ground_truth(reconstruction, ground_truth, False, QUICK))
    assert result.reference == plain.reference  # the outline check keeps the alignment it was calibrated on
    assert "improved" in result.icp.describe() and "refined alignment is shown" in result.icp.describe()
    assert [e.stage for e in events] == [*STAGES, *(ICP_PREFIX + stage for stage in STAGES), ICP_PREFIX + STAGES[-1]]
    assert [e.done for e in events] == list(range(2 * len(STAGES) + 1)) and events[-1].total == 2 * len(STAGES)


def test_icp_that_makes_the_fit_worse_is_reported_and_not_applied(monkeypatch):
    reconstruction, ground_truth = trimesh.creation.box((1.0, 0.8, 0.6)), trimesh.creation.box((1.0, 0.7, 0.6))
    plain = run_to_completion(compare_to_ground_truth(reconstruction, ground_truth, False, QUICK))
    shifted = np.eye(4)
    shifted[0, 3] = 0.3  # an ICP that slid off to a worse local optimum
    monkeypatch.setattr(alignment_module, "icp", lambda *args, **kwargs: IcpResult(shifted, 0.02, 7))
    events = []
    result = run_to_completion(
        compare_to_ground_truth(reconstruction, ground_truth, True, QUICK, unrefined=plain), events.append
    )
    assert not result.icp.applied and result.icp.iou_with < result.icp.iou_without == plain.metrics.iou
    assert result.metrics == plain.metrics and result.alignment is plain.alignment and result.alignment.icp_rms is None
    text = result.icp.describe()
    assert "did not improve" in text and "without ICP is shown" in text and f"{result.icp.iou_with:.3f}" in text
    assert all(e.stage.startswith(ICP_PREFIX) for e in events)  # the plain comparison was not measured again


def test_front_silhouettes_and_the_reference_check():
    plate = trimesh.creation.box((1.0, 1.0, 0.1))
    silhouette = front_silhouette(plate)
    assert silhouette.shape == (64, 64)
    # The square spans 1 / 1.1 of the raster's side: 58.2 cells, touching 59 or 60 of them per row.
    assert (58 / 64) ** 2 <= silhouette.mean() <= (60 / 64) ** 2
    top = trimesh.creation.box((1.0, 0.4, 0.1))
    top.apply_translation([0.0, 0.3, 0.0])  # only above the middle: the top rows (row 0 is the top, as in a photo)
    rows = np.flatnonzero(front_silhouette(top).any(axis=1))
    assert rows.max() < 32 and rows.min() > 0
    with_hole = trimesh.creation.annulus(r_min=0.2, r_max=0.5, height=0.1)
    assert not front_silhouette(with_hole)[32, 32]  # a through-hole seen from the front stays open

    bar = trimesh.creation.box((1.0, 0.15, 0.15))
    wrong = check_reference(plate, bar)
    assert wrong.mismatch and wrong.silhouette_iou < MIN_SILHOUETTE_IOU and "may not be" in wrong.warning()
    right = check_reference(plate, trimesh.creation.box((1.0, 0.95, 0.12)))
    assert not right.mismatch and right.silhouette_iou > 0.9 and right.warning() == ""


def test_a_point_cloud_is_compared_as_evaluate_scores_it():
    """Issue 16: the Compare panel scores a point-cloud reconstruction (CD-L1, F-score, EMD; the rest n/a)."""
    ground_truth = trimesh.creation.box(extents=(0.8, 0.4, 0.2))
    # The reconstruction's own frame: twice the size and shifted; the bounding boxes align it.
    cloud = trimesh.PointCloud(ground_truth.sample(2048, seed=1) * 2.0 + [0.3, 0.0, 0.0])
    events = []
    result = run_to_completion(compare_points_to_ground_truth(cloud, ground_truth, QUICK, seed=2), events.append)
    assert [event.stage for event in events][:-1] == list(POINT_STAGES)
    assert result.reference is None and result.icp is None and len(result.reconstruction_edges) == 0
    metrics = result.metrics.as_dict()
    assert all(np.isnan(metrics[key]) for key in NEEDS_SURFACE)
    assert metrics["accuracy"] < 0.02  # every point lies on the surface (the samples it is matched to are 0.015 apart)
    assert np.abs(result.vertex_distance).max() < 1e-6
    # The ground truth drawn over the points, in the reconstruction's coordinates.
    np.testing.assert_allclose(result.reference_surface.bounds, cloud.bounds, atol=1e-3)
    assert len(result.gt_edges) > 0
    shifted = trimesh.PointCloud(cloud.vertices + np.random.default_rng(0).normal(0, 0.05, cloud.vertices.shape))
    worse = run_to_completion(compare_points_to_ground_truth(shifted, ground_truth, QUICK, seed=2)).metrics
    assert worse.chamfer_l1 > result.metrics.chamfer_l1 and worse.emd > result.metrics.emd
