"""Reconstruction metrics: IoU, Chamfer-L1, F-score, normal consistency, ECD, EMD.

Definitions follow DESIGN.md section 3.  Both meshes must be in the same
normalized view frame, so every distance is in *normalized units*: the
longest bounding-box edge of the normalized shape is 1 (the shape fills
``[-0.5, 0.5]^3``).  All metrics are Monte-Carlo estimates; sample counts and
the F-score threshold are parameters (:class:`MetricSettings`), and
:meth:`MetricSettings.describe` words each value with its units and counts so
that reports can print them.

Each metric can be called on its own (``iou``, ``chamfer_l1``, ``fscore``,
``normal_consistency``, ``edge_chamfer``, ``emd``); :func:`compare_meshes`
computes all of them and samples each surface only once for Chamfer-L1,
F-score and normal consistency.  A point-cloud prediction (the
``pointcloud`` method) has no surface: :func:`compare_points` scores its
points with Chamfer-L1, F-score and EMD and marks the rest not applicable.

Empty meshes (no faces or no area; a failed reconstruction can be empty) get
the worst value of every metric instead of an exception: IoU 0, distances
``inf``, F-score, precision, recall and normal consistency 0.  A non-empty
mesh without edge points (a sphere has none) makes the edge Chamfer distance
undefined: it is NaN, and the edge-point counts say which side had none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np
import trimesh
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from .edges import EDGE_EPS, EDGE_POINTS, EDGE_THRESHOLD, edge_points
from .frames import PADDED_HALF
from .queries import MeshQuery
from .sample_counts import EMD_POINTS, IOU_POINTS, SURFACE_POINTS
from .sampling import sample_surface, sample_uniform

#: F-score distance threshold: 1% of the unit cube's edge.
FSCORE_TAU = 0.01
#: What a distance of 1 means.
UNITS = "normalized units (longest bounding-box edge of the normalized shape = 1)"
#: The values of :meth:`MeshComparison.as_dict` that a point-cloud prediction has none of: they
#: need its surface (inside tests, normals, edges found by normals); :func:`compare_points` gives NaN.
NEEDS_SURFACE = ("iou", "normal_consistency", "edge_chamfer")
#: The values of :meth:`MeshComparison.as_dict` that are lengths (the rest are unitless or counts).
DISTANCE_KEYS = ("chamfer_l1", "accuracy", "completeness", "edge_chamfer", "emd")


class Chamfer(NamedTuple):
    """Chamfer-L1 and its two directed halves (normalized units)."""

    chamfer_l1: float  # 0.5 * (accuracy + completeness)
    accuracy: float  # mean distance from predicted samples to the ground truth
    completeness: float  # mean distance from ground-truth samples to the prediction


class FScore(NamedTuple):
    """F-score at a distance threshold tau, with precision and recall (unitless, [0, 1])."""

    fscore: float
    precision: float  # share of predicted samples closer than tau to the ground truth
    recall: float  # share of ground-truth samples closer than tau to the prediction


class EdgeChamfer(NamedTuple):
    """Edge Chamfer distance (NaN when either side has no edge points) and the edge-point counts."""

    edge_chamfer: float
    pred_edge_points: int
    gt_edge_points: int


def is_empty(mesh: trimesh.Trimesh) -> bool:
    """True for a mesh without faces or with zero area: nothing to sample, nothing enclosed."""
    return len(mesh.faces) == 0 or not mesh.area > 0.0


#: Uniform points in a mesh's bounding box that :func:`encloses_volume` tests.
SOLID_CHECK_POINTS = 20_000


def encloses_volume(mesh: trimesh.Trimesh, points: int = SOLID_CHECK_POINTS, rng: np.random.Generator | int = 0) -> bool:
    """Whether any of ``points`` uniform points in the mesh's bounding box is inside it.

    A single triangle or an open sheet encloses nothing: every volume metric
    would score it 0 as if it were a bad solid, so the comparisons refuse it.
    A closed part fills a good share of its own box (a 1 % thick plate
    still gets about 200 of the 20,000 points).
    """
    if is_empty(mesh):
        return False
    low, high = np.asarray(mesh.bounds, dtype=np.float64)
    samples = _generator(rng).uniform(low, high, size=(points, 3))
    return bool(MeshQuery(mesh).inside_fast(samples).any())


def _generator(rng: np.random.Generator | int) -> np.random.Generator:
    """Accept a generator or a seed, so that every metric is reproducible by default."""
    return np.random.default_rng(rng)


# --------------------------------------------------------------------------- IoU


def occupancy(mesh: trimesh.Trimesh, points: np.ndarray) -> np.ndarray:
    """Inside flag of each point (fast generalized winding number; an empty mesh encloses nothing)."""
    if is_empty(mesh):
        return np.zeros(len(points), dtype=bool)
    return MeshQuery(mesh).inside_fast(points)


def iou_of_occupancy(pred_inside: np.ndarray, gt_inside: np.ndarray) -> float:
    """Intersection over union of two occupancy vectors over the same points; 0 if the union is empty."""
    union = np.count_nonzero(pred_inside | gt_inside)
    return float(np.count_nonzero(pred_inside & gt_inside) / union) if union else 0.0


def iou(
    pred: trimesh.Trimesh, gt: trimesh.Trimesh, rng: np.random.Generator | int = 0, points: int = IOU_POINTS
) -> float:
    """Volumetric IoU estimated on ``points`` uniform points in the padded cube ``[-0.55, 0.55]^3``."""
    samples = sample_uniform(points, _generator(rng), PADDED_HALF)
    return iou_of_occupancy(occupancy(pred, samples), occupancy(gt, samples))


# ------------------------------------------------------- surface nearest neighbours


def _nearest(points: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each point to its nearest target (KD-tree) and that target's index."""
    return cKDTree(targets).query(points, workers=-1)


def _fscore(pred_to_gt: np.ndarray, gt_to_pred: np.ndarray, tau: float) -> FScore:
    """F-score at ``tau`` from the directed nearest-neighbour distances (0 when precision and recall are)."""
    precision = float(np.mean(pred_to_gt < tau))
    recall = float(np.mean(gt_to_pred < tau))
    total = precision + recall
    return FScore(2.0 * precision * recall / total if total > 0 else 0.0, precision, recall)


def fscore_of_points(pred_points: np.ndarray, gt_points: np.ndarray, tau: float = FSCORE_TAU) -> FScore:
    """F-score at ``tau`` between two point sets; 0 everywhere if either set is empty."""
    if len(pred_points) == 0 or len(gt_points) == 0:
        return FScore(0.0, 0.0, 0.0)
    return _fscore(_nearest(pred_points, gt_points)[0], _nearest(gt_points, pred_points)[0], tau)


def _chamfer(pred_to_gt: np.ndarray, gt_to_pred: np.ndarray) -> Chamfer:
    """Chamfer-L1 from the directed nearest-neighbour distances."""
    accuracy, completeness = float(np.mean(pred_to_gt)), float(np.mean(gt_to_pred))
    return Chamfer(0.5 * (accuracy + completeness), accuracy, completeness)


def chamfer_of_points(pred_points: np.ndarray, gt_points: np.ndarray) -> Chamfer:
    """Chamfer-L1 between two point sets; ``inf`` everywhere if either set is empty."""
    if len(pred_points) == 0 or len(gt_points) == 0:
        return Chamfer(np.inf, np.inf, np.inf)
    return _chamfer(_nearest(pred_points, gt_points)[0], _nearest(gt_points, pred_points)[0])


@dataclass(frozen=True)
class SurfaceMatch:
    """Surface samples of both meshes matched to their nearest neighbours both ways.

    One match serves Chamfer-L1, F-score and normal consistency, which all
    read the same nearest-neighbour distances (and normals).  The arrays are
    empty when either mesh is empty.
    """

    pred_to_gt: np.ndarray  # distance from each predicted sample to the nearest ground-truth sample
    gt_to_pred: np.ndarray  # distance from each ground-truth sample to the nearest predicted sample
    pred_normal_dot: np.ndarray  # |n_pred . n_nearest ground truth| per predicted sample
    gt_normal_dot: np.ndarray  # |n_gt . n_nearest prediction| per ground-truth sample

    @classmethod
    def of_samples(
        cls, pred_points: np.ndarray, pred_normals: np.ndarray, gt_points: np.ndarray, gt_normals: np.ndarray
    ) -> "SurfaceMatch":
        """Match two sets of surface samples with unit normals (all arrays empty if either set is)."""
        if len(pred_points) == 0 or len(gt_points) == 0:
            nothing = np.zeros(0)
            return cls(nothing, nothing, nothing, nothing)
        pred_to_gt, pred_nn = _nearest(pred_points, gt_points)
        gt_to_pred, gt_nn = _nearest(gt_points, pred_points)
        return cls(
            pred_to_gt=pred_to_gt,
            gt_to_pred=gt_to_pred,
            pred_normal_dot=np.abs(np.einsum("ij,ij->i", pred_normals, gt_normals[pred_nn])),
            gt_normal_dot=np.abs(np.einsum("ij,ij->i", gt_normals, pred_normals[gt_nn])),
        )

    @classmethod
    def of_meshes(
        cls, pred: trimesh.Trimesh, gt: trimesh.Trimesh, rng: np.random.Generator, points: int
    ) -> "SurfaceMatch":
        """Sample ``points`` area-uniform points on each surface (independently) and match them."""
        pred_samples = _surface_samples(pred, points, rng)
        gt_samples = _surface_samples(gt, points, rng)
        return cls.of_samples(*pred_samples, *gt_samples)

    @property
    def empty(self) -> bool:
        """True when either mesh had no samples, so nothing was matched."""
        return len(self.pred_to_gt) == 0 or len(self.gt_to_pred) == 0

    def chamfer(self) -> Chamfer:
        """Chamfer-L1: accuracy (pred -> gt), completeness (gt -> pred) and their mean."""
        if self.empty:
            return Chamfer(np.inf, np.inf, np.inf)
        return _chamfer(self.pred_to_gt, self.gt_to_pred)

    def fscore(self, tau: float = FSCORE_TAU) -> FScore:
        """F-score at ``tau``: harmonic mean of precision and recall (0 when both are 0)."""
        if self.empty:
            return FScore(0.0, 0.0, 0.0)
        return _fscore(self.pred_to_gt, self.gt_to_pred, tau)

    def normal_consistency(self) -> float:
        """Mean of ``|n . n_nearest|`` over both directions (orientation-free, in [0, 1])."""
        if self.empty:
            return 0.0
        return float(0.5 * (np.mean(self.pred_normal_dot) + np.mean(self.gt_normal_dot)))


def _surface_samples(
    mesh: trimesh.Trimesh, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Area-uniform samples with face normals; none for an empty mesh."""
    if is_empty(mesh):
        return np.zeros((0, 3)), np.zeros((0, 3))
    return sample_surface(mesh, count, rng)


def chamfer_l1(
    pred: trimesh.Trimesh, gt: trimesh.Trimesh, rng: np.random.Generator | int = 0, points: int = SURFACE_POINTS
) -> Chamfer:
    """Chamfer-L1 from ``points`` surface samples per mesh (normalized units)."""
    return SurfaceMatch.of_meshes(pred, gt, _generator(rng), points).chamfer()


def fscore(
    pred: trimesh.Trimesh,
    gt: trimesh.Trimesh,
    rng: np.random.Generator | int = 0,
    points: int = SURFACE_POINTS,
    tau: float = FSCORE_TAU,
) -> FScore:
    """F-score at ``tau`` (normalized units) from ``points`` surface samples per mesh."""
    return SurfaceMatch.of_meshes(pred, gt, _generator(rng), points).fscore(tau)


def normal_consistency(
    pred: trimesh.Trimesh, gt: trimesh.Trimesh, rng: np.random.Generator | int = 0, points: int = SURFACE_POINTS
) -> float:
    """Normal consistency from ``points`` surface samples per mesh (unitless, [0, 1])."""
    return SurfaceMatch.of_meshes(pred, gt, _generator(rng), points).normal_consistency()


# ----------------------------------------------------------------- ECD and EMD


def edge_chamfer(
    pred: trimesh.Trimesh,
    gt: trimesh.Trimesh,
    rng: np.random.Generator | int = 0,
    points: int = EDGE_POINTS,
    eps: float = EDGE_EPS,
    threshold: float = EDGE_THRESHOLD,
    surface_samples: int | None = None,
) -> EdgeChamfer:
    """Chamfer-L1 between the edge points of both meshes (paper eq. 13, at most ``points`` each).

    Empty meshes give ``inf``.  Otherwise, if either mesh has no edge point the
    distance is undefined and NaN: a sharp part against a smooth one has no
    edges to pair, and NaN keeps such shapes out of an ECD mean instead of
    ranking them by an arbitrary penalty; the counts in the result say why.
    """
    if is_empty(pred) or is_empty(gt):
        return EdgeChamfer(np.inf, 0, 0)
    generator = _generator(rng)
    pred_edges, _ = edge_points(pred, generator, surface_samples, eps, threshold, points)
    gt_edges, _ = edge_points(gt, generator, surface_samples, eps, threshold, points)
    if len(pred_edges) == 0 or len(gt_edges) == 0:
        return EdgeChamfer(np.nan, len(pred_edges), len(gt_edges))
    return EdgeChamfer(chamfer_of_points(pred_edges, gt_edges).chamfer_l1, len(pred_edges), len(gt_edges))


def emd_of_points(pred_points: np.ndarray, gt_points: np.ndarray) -> float:
    """Earth mover's distance between two equal-size point sets: mean distance of the optimal matching.

    The one-to-one assignment minimizing the total Euclidean distance is exact
    (``scipy.optimize.linear_sum_assignment``), not an approximation such as
    auction or Sinkhorn; its cost grows cubically, hence the small sets.
    """
    if len(pred_points) != len(gt_points):
        raise ValueError("EMD needs two point sets of the same size")
    if len(pred_points) == 0:
        return np.inf
    cost = cdist(pred_points, gt_points)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def emd(
    pred: trimesh.Trimesh, gt: trimesh.Trimesh, rng: np.random.Generator | int = 0, points: int = EMD_POINTS
) -> float:
    """Earth mover's distance between ``points`` surface samples per mesh (normalized units)."""
    if is_empty(pred) or is_empty(gt):
        return np.inf
    generator = _generator(rng)
    return emd_of_points(sample_surface(pred, points, generator)[0], sample_surface(gt, points, generator)[0])


# ---------------------------------------------------------------- all together


@dataclass(frozen=True)
class MetricSettings:
    """Sample counts and thresholds of :func:`compare_meshes` (defaults: DESIGN.md section 3)."""

    iou_points: int = IOU_POINTS
    surface_points: int = SURFACE_POINTS
    fscore_tau: float = FSCORE_TAU
    edge_points: int = EDGE_POINTS
    edge_eps: float = EDGE_EPS
    edge_threshold: float = EDGE_THRESHOLD
    #: Dense samples for edge detection; None picks them by area (see ``edges``).
    edge_surface_samples: int | None = None
    emd_points: int = EMD_POINTS

    def describe(self, mm_per_unit: float | None = None) -> dict[str, str]:
        """One line per value of :meth:`MeshComparison.as_dict`: meaning, units and sample counts.

        ``mm_per_unit``: the real scale of the normalized frame; the lengths
        are then described in millimetres (as ``as_dict(mm_per_unit)`` gives them).
        """
        units = UNITS if mm_per_unit is None else f"mm ({mm_per_unit:.4g} mm per normalized unit)"
        tau = f"{self.fscore_tau} normalized units" + ("" if mm_per_unit is None else f" = {self.fscore_tau * mm_per_unit:.3g} mm")
        surface = f"{self.surface_points:,} surface points per mesh"
        dense = "area-scaled" if self.edge_surface_samples is None else f"{self.edge_surface_samples:,}"
        edges = (
            f"sharpness min|n_p.n_q| over q within {self.edge_eps} < {self.edge_threshold} "
            f"on {dense} dense surface samples, subsampled to at most {self.edge_points:,}"
        )
        return {
            "iou": f"volumetric IoU, unitless [0, 1]; {self.iou_points:,} uniform points in "
            f"[-{PADDED_HALF}, {PADDED_HALF}]^3, inside by generalized winding number (libigl's fast approximation)",
            "chamfer_l1": f"Chamfer-L1 = 0.5 (accuracy + completeness), {units}; {surface}",
            "accuracy": f"mean distance prediction -> ground truth, {units}; {surface}",
            "completeness": f"mean distance ground truth -> prediction, {units}; {surface}",
            "fscore": f"F-score at tau = {tau}, unitless [0, 1]; {surface}",
            "precision": f"share of prediction within tau = {tau} of ground truth; {surface}",
            "recall": f"share of ground truth within tau = {tau} of prediction; {surface}",
            "normal_consistency": f"mean |n . n_nearest| both ways, unitless [0, 1]; {surface}",
            "edge_chamfer": f"edge Chamfer-L1 (NaN if a side has no edge points), {units}; {edges}",
            "emd": f"earth mover's distance, exact assignment, mean matched distance, {units}; "
            f"{self.emd_points:,} surface points per mesh",
            "pred_edge_points": "edge points found on the prediction (after subsampling)",
            "gt_edge_points": "edge points found on the ground truth (after subsampling)",
            "pred_empty": "the prediction has no surface (all metrics at their worst value)",
            "gt_empty": "the ground truth has no surface (all metrics at their worst value)",
        }


@dataclass(frozen=True)
class MeshComparison:
    """All metrics of one prediction against its ground truth (units: :meth:`MetricSettings.describe`)."""

    iou: float
    chamfer_l1: float
    accuracy: float
    completeness: float
    fscore: float
    precision: float
    recall: float
    normal_consistency: float
    edge_chamfer: float
    emd: float
    pred_edge_points: int
    gt_edge_points: int
    pred_empty: bool
    gt_empty: bool
    settings: MetricSettings = field(default_factory=MetricSettings)

    @property
    def edge_chamfer_defined(self) -> bool:
        """False when ECD is NaN because a mesh has no edge points."""
        return not np.isnan(self.edge_chamfer)

    def as_dict(self, mm_per_unit: float | None = None) -> dict[str, float | int | bool]:
        """The values as plain Python numbers, keyed like :meth:`MetricSettings.describe`.

        ``mm_per_unit``: the real scale of the normalized frame; the lengths
        (:data:`DISTANCE_KEYS`) then come in millimetres, the rest unchanged.
        """
        values = asdict(self)
        del values["settings"]
        if mm_per_unit is not None:
            for key in DISTANCE_KEYS:
                values[key] *= mm_per_unit
        return values


def compare_meshes(
    pred: trimesh.Trimesh,
    gt: trimesh.Trimesh,
    rng: np.random.Generator | int = 0,
    settings: MetricSettings = MetricSettings(),
) -> MeshComparison:
    """Compare a predicted mesh with its ground truth by every metric of DESIGN.md section 3.

    Both meshes must already be in the same normalized frame.  One generator
    drives all sampling, so a seed makes the comparison reproducible.  The
    surface samples are drawn once and shared by Chamfer-L1, F-score and
    normal consistency.
    """
    generator = _generator(rng)
    match = SurfaceMatch.of_meshes(pred, gt, generator, settings.surface_points)
    edges = edge_chamfer(
        pred,
        gt,
        generator,
        settings.edge_points,
        settings.edge_eps,
        settings.edge_threshold,
        settings.edge_surface_samples,
    )
    return MeshComparison(
        iou=iou(pred, gt, generator, settings.iou_points),
        **match.chamfer()._asdict(),
        **match.fscore(settings.fscore_tau)._asdict(),
        normal_consistency=match.normal_consistency(),
        **edges._asdict(),
        emd=emd(pred, gt, generator, settings.emd_points),
        pred_empty=is_empty(pred),
        gt_empty=is_empty(gt),
        settings=settings,
    )


def compare_points(
    pred_points: np.ndarray,
    gt: trimesh.Trimesh,
    rng: np.random.Generator | int = 0,
    settings: MetricSettings = MetricSettings(),
) -> MeshComparison:
    """Compare a predicted point cloud (N, 3) with the ground-truth mesh, in the same normalized frame.

    Chamfer-L1 and F-score match the predicted points themselves with
    ``settings.surface_points`` samples of the ground truth; EMD is exact on
    ``min(settings.emd_points, N)`` points of each (a random subset of the
    prediction when it has more).  IoU, normal consistency and ECD need a
    predicted surface and are NaN (:data:`NEEDS_SURFACE`): not applicable,
    never scored as 0.  An empty prediction gets the worst values, as in
    :func:`compare_meshes`.
    """
    generator = _generator(rng)
    pred_points = np.asarray(pred_points, dtype=np.float64).reshape(-1, 3)
    gt_points = _surface_samples(gt, settings.surface_points, generator)[0]
    chamfer = chamfer_of_points(pred_points, gt_points)
    count = min(settings.emd_points, len(pred_points))
    if count == 0 or is_empty(gt):
        earth_movers = np.inf
    else:
        chosen = pred_points[generator.choice(len(pred_points), count, replace=False)]
        earth_movers = emd_of_points(chosen, sample_surface(gt, count, generator)[0])
    return MeshComparison(
        iou=np.nan,
        **chamfer._asdict(),
        **fscore_of_points(pred_points, gt_points, settings.fscore_tau)._asdict(),
        normal_consistency=np.nan,
        edge_chamfer=np.nan,
        emd=earth_movers,
        pred_edge_points=0,
        gt_edge_points=0,
        pred_empty=len(pred_points) == 0,
        gt_empty=is_empty(gt),
        settings=settings,
    )
