"""Meshes for CAD: as few faces as a stated geometric error allows.

Marching cubes at 256^3 gives 350k-700k faces, most of them on flat or
gently curved walls, where they add file size and slow CAD tools down
without adding shape.  :func:`simplify_within` finds the smallest mesh whose
*deviation* from the full mesh stays within a tolerance, and
:func:`simplify_for_export` applies what the user chose: that error-bounded
simplification (the default), the full mesh, or an explicit face budget.

**Deviation** is measured, not assumed: the distance from points of each
mesh to the other mesh's surface (exact point-to-triangle distances,
libigl's AABB tree), both ways, on a sample of the full mesh's vertices and
on area samples plus the vertices of the simplified one, divided by the
part's size (the longest edge of its bounding box).  The figure bounded is
the 99.9th percentile of each direction, the larger of the two: "99.9 % of
the surface lies within the tolerance".  The largest distance is reported
too, but not bounded: on these reconstructions it comes from needles and
fins one or two grid cells thin, marching-cubes noise that any
simplification removes first (docs/benchmarks.md, "Meshes for CAD").

**Simplification** is manifold3d's ``simplify``: it collapses edges whose
removal moves the surface less than its tolerance argument and always
returns a closed manifold, so no repair step is needed.  That argument is
only a local bound (collapses add up), so it is a knob here: a few probes
search the largest knob whose *measured* deviation meets the tolerance.
Where it lets two sheets touch (a thin wall simplified until its sides
meet) it keeps two vertices at one position, which a file without
connectivity (STL) would merge: :func:`keep_vertices_apart` parts them.
Quadric decimation (``fast_simplification``) needs about 1.4 times the
faces for the same error and broke the solid along thin walls in 31 of 32
runs on the sample photos' meshes; libigl's ``qslim`` keeps it but takes
ten times longer per probe.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import manifold3d
import numpy as np
import trimesh
from scipy.spatial import cKDTree

from ..geometry.queries import MeshQuery
from ..progress import Plan, Progress, ProgressGenerator
from .export_settings import DEFAULT_TOLERANCE, FaceTarget, check_tolerance, percent
from .postprocess import postprocess

#: Quantile of the point-to-surface distances that the tolerance bounds.
DEVIATION_QUANTILE = 0.999
#: Simplification probes of one search (each: one simplification and one measurement).
MAX_PROBES = 5
#: Probes the progress figure counts on (one on 7 of the 8 sample photos); further
#: probes still report, for cancellation, but move nothing.
_EXPECTED_PROBES = 1
#: A probe within this share of the tolerance ends the search: more probes would
#: shave off a few percent of the faces for a second or more each.
GOOD_ENOUGH = 0.8
#: Points measured per direction (a 100k-point sample gives the 99.9th
#: percentile from 100 points above it).
MEASURED_POINTS = 100_000
#: The first knob, as a share of the tolerance: on the sample photos' meshes the
#: measured deviation is 1.4 to 1.9 times the knob.
_FIRST_KNOB = 0.55
#: Vertices closer than this share of the part size could become one in a file:
#: float32 coordinates keep about 1e-7 of their magnitude.
_DISTINCT = 1e-6
#: How far :func:`keep_vertices_apart` moves such vertices, as a share of the part size.
_NUDGE = 1e-5


@dataclass
class SimplifyReport:
    """What :func:`simplify_for_export` did.

    Deviations are shares of the part size (longest bounding-box edge):
    ``deviation`` is the bounded 99.9th percentile, ``max_deviation`` the
    largest distance measured; both ``None`` when nothing was measured (full
    mesh, explicit budget).  ``probes`` lists ``(faces, deviation)`` of
    every mesh tried.
    """

    faces_before: int
    faces_after: int = 0
    vertices_after: int = 0
    tolerance: float | None = None
    deviation: float | None = None
    max_deviation: float | None = None
    probes: list[tuple[int, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class Deviation:
    """Distances between two surfaces as shares of the part size: the bounded quantile and the largest."""

    quantile: float
    largest: float


class DeviationMeter:
    """Measures how far simplified versions of one full mesh stray from it.

    The full mesh's AABB tree and its point sample are built once and
    reused by every probe of a search.
    """

    def __init__(self, full: trimesh.Trimesh, points: int = MEASURED_POINTS, seed: int = 0):
        self._rng = np.random.default_rng(seed)
        self._points = points
        self.size = float(np.ptp(np.asarray(full.vertices), axis=0).max())  # the part size
        if not self.size > 0:
            raise ValueError("the mesh has no extent to measure deviations against")
        vertices = np.asarray(full.vertices, dtype=np.float64)
        chosen = self._rng.choice(len(vertices), size=min(points, len(vertices)), replace=False)
        # Marching-cubes vertices lie on the surface, about half a grid cell apart: a fair sample of it.
        self._full_points = vertices[chosen]
        self._full = MeshQuery(full)

    def __call__(self, candidate: trimesh.Trimesh) -> Deviation:
        """Deviation of ``candidate`` from the full mesh (symmetric: the worse direction counts)."""
        seed = int(self._rng.integers(0, 2**31 - 1))
        samples, _ = trimesh.sample.sample_surface(candidate, self._points, seed=seed)
        # Vertices too: a simplification's error peaks between them, its corners are where it changed most.
        own = np.vstack([samples, candidate.vertices])
        to_candidate = MeshQuery(candidate).closest(self._full_points)[0]
        to_full = self._full.closest(own)[0]
        quantile = max(np.quantile(to_candidate, DEVIATION_QUANTILE), np.quantile(to_full, DEVIATION_QUANTILE))
        largest = max(to_candidate.max(), to_full.max())
        return Deviation(float(quantile) / self.size, float(largest) / self.size)


def simplify_for_export(mesh: trimesh.Trimesh, target: FaceTarget) -> ProgressGenerator[tuple[trimesh.Trimesh, SimplifyReport]]:
    """The mesh to write for ``target``: error-bounded, full, or decimated to a budget.

    Yields ``Progress("simplify", done, total)`` while searching (nothing
    for ``full``); returns the mesh (``mesh`` itself when nothing changes)
    and a :class:`SimplifyReport`.
    """
    if len(mesh.faces) == 0:
        raise ValueError("the mesh has no faces, nothing to simplify")
    if target.mode == "auto":
        return (yield from simplify_within(mesh, target.tolerance))
    start = time.perf_counter()
    report = SimplifyReport(faces_before=len(mesh.faces))
    if target.mode == "budget" and len(mesh.faces) > target.budget:
        yield Progress("simplify", 0, 1)
        mesh, post = postprocess(mesh, min_fragment=0.0, face_budget=target.budget)
        report.notes.extend(post.actions)
        yield Progress("simplify", 1, 1)
    return mesh, _finish(report, mesh, start)


def simplify_within(
    mesh: trimesh.Trimesh, tolerance: float = DEFAULT_TOLERANCE
) -> ProgressGenerator[tuple[trimesh.Trimesh, SimplifyReport]]:
    """The smallest mesh found whose measured deviation from ``mesh`` is at most ``tolerance``.

    ``mesh`` must be a closed manifold (a post-processed reconstruction is);
    ``tolerance`` is a share of the part size.  Probes the simplification
    knob up to :data:`MAX_PROBES` times: each next knob assumes the deviation
    grows in proportion to it, and stays between the largest knob that met
    the tolerance and the smallest that did not.  When no probe meets it,
    the full mesh is returned with a note.
    """
    check_tolerance(tolerance)
    start = time.perf_counter()
    report = SimplifyReport(faces_before=len(mesh.faces), tolerance=tolerance)
    yield _step(0)
    solid = to_manifold(mesh)
    meter = DeviationMeter(mesh)
    yield _step(1)
    best, best_deviation = mesh, Deviation(0.0, 0.0)
    knob, met, missed = _FIRST_KNOB * tolerance, 0.0, math.inf
    for probe in range(MAX_PROBES):
        candidate = keep_vertices_apart(from_manifold(solid.simplify(knob * meter.size)), meter.size)
        yield _step(2 + 2 * probe)
        if candidate is None:  # as good as a miss: less simplification keeps the sheets apart
            missed, knob = knob, math.sqrt(met * knob) if met > 0 else knob / 2
            continue
        deviation = meter(candidate)
        report.probes.append((len(candidate.faces), deviation.quantile))
        yield _step(3 + 2 * probe)
        if deviation.quantile <= tolerance:
            met = knob
            if len(candidate.faces) < len(best.faces):
                best, best_deviation = candidate, deviation
            if deviation.quantile >= GOOD_ENOUGH * tolerance:
                break
        else:
            missed = knob
        knob = _next_knob(knob, deviation.quantile, tolerance, met, missed)
    if best is mesh:
        report.notes.append(
            f"no simplification kept 99.9 % of the surface within {percent(tolerance)} of the part size; "
            "kept the full mesh"
        )
    report.deviation, report.max_deviation = best_deviation.quantile, best_deviation.largest
    return best, _finish(report, best, start)


def _step(done: int) -> Progress:
    """Progress of the search: setting up, then simplifying and measuring per probe, as
    ``done`` of the steps that :data:`_EXPECTED_PROBES` probes take."""
    steps = 1 + 2 * _EXPECTED_PROBES
    return Progress("simplify", min(done, steps), steps)


def _next_knob(knob: float, deviation: float, tolerance: float, met: float, missed: float) -> float:
    """The next knob: aim just under the tolerance, assuming deviation grows in proportion to the knob.

    The guess is kept strictly between the largest knob that met the
    tolerance and the smallest that missed it (their geometric mean when it
    falls outside), so the search never probes the same ground twice.
    """
    guess = knob * 0.95 * tolerance / max(deviation, 1e-3 * tolerance)
    low = met if met > 0 else guess / 2
    if not low < guess < missed:
        guess = math.sqrt(low * missed) if math.isfinite(missed) else 2.0 * low
    return guess


def keep_vertices_apart(mesh: trimesh.Trimesh, size: float) -> trimesh.Trimesh | None:
    """``mesh`` with no two vertices that a file would merge; ``None`` when they cannot be parted.

    STL stores loose triangles, so every reader joins corners at the same
    position: two sheets that touch at a vertex then share it and the solid
    is pinched there (not manifold, not watertight).  Each vertex closer
    than :data:`_DISTINCT` of the part ``size`` to another moves inwards
    along its own normal by :data:`_NUDGE` of it: touching sheets face each
    other, so they part, and nothing moves by more than a hundredth of the
    default tolerance.
    """
    close = cKDTree(mesh.vertices).query_pairs(_DISTINCT * size, output_type="ndarray")
    if len(close) == 0:
        return mesh
    moved = np.unique(close)
    vertices = np.array(mesh.vertices, dtype=np.float64)
    vertices[moved] -= _NUDGE * size * np.asarray(mesh.vertex_normals)[moved]
    if len(cKDTree(vertices).query_pairs(_DISTINCT * size)):
        return None
    return trimesh.Trimesh(vertices=vertices, faces=np.array(mesh.faces), process=False)


def to_manifold(mesh: trimesh.Trimesh) -> manifold3d.Manifold:
    """``mesh`` as a manifold3d solid; ``ValueError`` when it is not a closed manifold."""
    solid = manifold3d.Manifold(
        manifold3d.Mesh64(
            np.ascontiguousarray(mesh.vertices, dtype=np.float64),
            np.ascontiguousarray(mesh.faces, dtype=np.uint64),
        )
    )
    if solid.status() != manifold3d.Error.NoError:
        raise ValueError(f"the mesh is not a closed manifold ({solid.status().name}); it cannot be simplified")
    return solid


def from_manifold(solid: manifold3d.Manifold) -> trimesh.Trimesh:
    """A manifold3d solid as a trimesh mesh (float64 vertices, no processing)."""
    out = solid.to_mesh64()
    return trimesh.Trimesh(
        vertices=np.asarray(out.vert_properties[:, :3], dtype=np.float64),
        faces=np.asarray(out.tri_verts, dtype=np.int64),
        process=False,
    )


def _finish(report: SimplifyReport, mesh: trimesh.Trimesh, start: float) -> SimplifyReport:
    report.faces_after, report.vertices_after = len(mesh.faces), len(mesh.vertices)
    report.seconds = time.perf_counter() - start
    return report


#: CPU seconds per million faces on the reference 2-core machine (docs/benchmarks.md,
#: "Meshes for CAD"): the error-bounded search (one probe, as on 7 of the 8 sample
#: photos), a face budget (qslim, which it falls back to) and writing (STL to GLB).
#: The weights of :func:`export_plan`.
_SEARCH_S, _BUDGET_S, _WRITE_S = 4.0, 11.0, 1.5
#: About how many times fewer faces an error-bounded export keeps (sample photos, 256^3: 7.7 to 9.4).
_AUTO_REDUCTION = 8


def export_plan(target: FaceTarget, faces: int) -> Plan:
    """The stages of simplifying and writing a ``faces``-face mesh for ``target``, weighted by their time.

    For :class:`~svr_desktop.progress.OverallProgress`: simplifying costs in
    proportion to the faces it starts from, writing to the faces it keeps.
    """
    millions = faces / 1e6
    simplify = {"auto": _SEARCH_S, "budget": _BUDGET_S, "full": 0.0}[target.mode] * millions
    kept = {"auto": millions / _AUTO_REDUCTION, "budget": min(target.budget or 0, faces) / 1e6, "full": millions}
    return [("simplify", simplify), ("write", max(_WRITE_S * kept[target.mode], 1e-3))]
