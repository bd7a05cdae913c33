"""Solid-modelling primitives shared by the part families.

Everything is in millimetres with manifold3d solids.  Cylinders are built
along +z; :func:`along_x` and :func:`along_y` turn them.  Revolved profiles are
``(radius, z)`` point lists.  Circle resolution comes from :func:`segments`,
which scales with a circle's size relative to the whole part so that meshes
stay light (a few thousand faces) while large round features stay smooth.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import manifold3d as m3d
import numpy as np
import trimesh

Manifold = m3d.Manifold
CrossSection = m3d.CrossSection


def segments(radius: float, size: float, lo: int = 12, hi: int = 96) -> int:
    """Circle segment count for ``radius`` on a part of overall size ``size``.

    Grows with the square root of the relative radius (a circle spanning the
    whole part gets ``hi``), rounded to a multiple of four so that circles keep
    their axis-aligned extreme points.
    """
    relative = max(radius, 1e-9) / size
    return int(min(hi, max(lo, 4 * round(34.0 * math.sqrt(relative)))))


def polygon(points: Sequence[Sequence[float]]) -> CrossSection:
    """A cross-section from one closed contour in either orientation."""
    return CrossSection([np.asarray(points, dtype=np.float64)], m3d.FillRule.NonZero)


def union(parts: Iterable[Manifold]) -> Manifold:
    return Manifold.batch_boolean(list(parts), m3d.OpType.Add)


def subtract(base: Manifold, tools: Iterable[Manifold]) -> Manifold:
    tools = list(tools)
    if not tools:
        return base
    return Manifold.batch_boolean([base, *tools], m3d.OpType.Subtract)


def along_x(solid: Manifold) -> Manifold:
    """Turn a solid built along +z so that it points along +x."""
    return solid.rotate((0.0, 90.0, 0.0))


def along_y(solid: Manifold) -> Manifold:
    """Turn a solid built along +z so that it points along +y."""
    return solid.rotate((-90.0, 0.0, 0.0))


def extrude_xz(section: CrossSection, y0: float, y1: float) -> Manifold:
    """Extrude a profile drawn in the (x, z) plane over ``y0 <= y <= y1``."""
    return section.extrude(y1 - y0).rotate((90.0, 0.0, 0.0)).translate((0.0, y1, 0.0))


def extrude_yz(section: CrossSection, x0: float, x1: float) -> Manifold:
    """Extrude a profile drawn in the (y, z) plane over ``x0 <= x <= x1``."""
    return section.extrude(x1 - x0).rotate((90.0, 0.0, 90.0)).translate((x0, 0.0, 0.0))


def cylinder(height: float, radius: float, n: int, z0: float = 0.0) -> Manifold:
    """A cylinder on the z axis from ``z0`` to ``z0 + height``."""
    return Manifold.cylinder(height, radius, radius, n).translate((0.0, 0.0, z0))


def box(size: Sequence[float], center: Sequence[float] = (0.0, 0.0, 0.0)) -> Manifold:
    """An axis-aligned box of ``size`` centred at ``center``."""
    return Manifold.cube(tuple(size), True).translate(tuple(center))


def revolve(profile: Sequence[Sequence[float]], n: int, degrees: float = 360.0) -> Manifold:
    """Revolve a ``(radius, z)`` profile about the z axis."""
    return polygon(profile).revolve(n, degrees)


def tube(z0: float, z1: float, r_out: float, r_in: float, n: int) -> Manifold:
    """A hollow cylinder (``r_in = 0`` gives a solid one) from ``z0`` to ``z1``."""
    return revolve([(r_in, z0), (r_out, z0), (r_out, z1), (r_in, z1)], n)


def chamfered_cylinder(
    height: float, radius: float, n: int, bottom: float = 0.0, top: float = 0.0
) -> Manifold:
    """A cylinder from z = 0 to ``height`` with 45° chamfers on its rims."""
    profile = [(0.0, 0.0), (radius - bottom, 0.0), (radius, bottom)]
    profile += [(radius, height - top), (radius - top, height), (0.0, height)]
    return revolve(profile, n)


def chamfered_box(size: Sequence[float], chamfer: float,
                  center: Sequence[float] = (0.0, 0.0, 0.0)) -> Manifold:
    """A box with all twelve edges chamfered by ``chamfer`` (45°)."""
    sx, sy, sz = size
    c = 2.0 * min(chamfer, 0.45 * min(size))
    boxes = [box((sx, sy - c, sz - c)), box((sx - c, sy, sz - c)), box((sx - c, sy - c, sz))]
    return Manifold.batch_hull(boxes).translate(tuple(center))


def rounded_rect(width: float, height: float, radius: float, n: int) -> CrossSection:
    """A centred rectangle with rounded corners (``n`` segments per full circle)."""
    radius = min(radius, 0.49 * min(width, height))
    core = CrossSection.square((width - 2 * radius, height - 2 * radius), True)
    return core.offset(radius, m3d.JoinType.Round, 2.0, n)


def slot(length: float, width: float, n: int) -> CrossSection:
    """A centred slot (stadium) along x: overall ``length`` by ``width``."""
    r = 0.5 * width
    half = max(0.5 * length - r, 1e-3)
    ends = [CrossSection.circle(r, n).translate((dx, 0.0)) for dx in (-half, half)]
    return CrossSection.batch_hull(ends)


def regular_prism(corner_radius: float, height: float, sides: int = 6) -> Manifold:
    """A regular prism from z = 0 to ``height`` with a corner on +x."""
    return CrossSection.circle(corner_radius, sides).extrude(height)


def hex_across_corners(across_flats: float) -> float:
    """Corner radius of a hexagon with the given width across flats."""
    return across_flats / math.sqrt(3.0)


def chamfer_cone(r_face: float, r_corner: float, z0: float, z1: float, n: int,
                 bottom: bool = True, top: bool = True, angle_deg: float = 30.0) -> Manifold:
    """Solid of revolution that trims prism corners like a nut's 30° chamfer.

    On the chosen end faces it has radius ``r_face`` and widens at
    ``angle_deg`` to the face until past ``r_corner``; intersecting a prism
    whose corners lie at ``r_corner`` with it leaves the conical chamfer.
    """
    big = 1.1 * r_corner
    rise = (big - r_face) * math.tan(math.radians(angle_deg))
    profile = [(0.0, z0)]
    profile += [(r_face, z0), (big, z0 + rise)] if bottom else [(big, z0)]
    profile += [(big, z1 - rise), (r_face, z1)] if top else [(big, z1)]
    profile += [(0.0, z1)]
    return revolve(profile, n)


def thread_profile(r_major: float, pitch: float, z0: float, z1: float,
                   max_rings: int = 20) -> list[tuple[float, float]]:
    """``(r, z)`` points of V-thread rings between ``z0`` and ``z1`` (z increasing).

    The rings are an axisymmetric stand-in for a helical thread with the ISO
    profile depth: it reads as a thread without the cost of a swept helix.
    Starts and ends at the major radius; the visual pitch is stretched so that
    at most ``max_rings`` rings are drawn, which keeps long threads light.
    """
    rings = max(1, min(max_rings, int((z1 - z0) / pitch)))
    pitch = (z1 - z0) / rings
    r_minor = r_major - 0.6134 * pitch
    points = []
    for i in range(rings):
        z = z0 + i * pitch
        points += [(r_major, z), (r_major, z + pitch / 16.0), (r_minor, z + 0.4375 * pitch),
                   (r_minor, z + 0.5625 * pitch), (r_major, z + 0.9375 * pitch)]
    return points + [(r_major, z1)]


def ring_positions(radius: float, count: int, phase_deg: float = 0.0) -> list[tuple[float, float]]:
    """``count`` equally spaced points on a circle, the first at ``phase_deg``."""
    angles = np.radians(phase_deg) + 2.0 * np.pi * np.arange(count) / count
    return [(radius * math.cos(a), radius * math.sin(a)) for a in angles]


def holes_z(positions: Iterable[tuple[float, float]], radius: float, z0: float, z1: float,
            n: int) -> list[Manifold]:
    """Vertical hole tools (cylinders from ``z0`` to ``z1``) at ``positions``."""
    return [cylinder(z1 - z0, radius, n, z0).translate((x, y, 0.0)) for x, y in positions]


def counterbored_holes(positions: Iterable[tuple[float, float]], radius: float, z_bottom: float,
                       z_top: float, bore_radius: float, bore_depth: float,
                       n: int, n_bore: int) -> list[Manifold]:
    """Through holes with a counterbore of ``bore_depth`` coming down from ``z_top``."""
    tools = []
    for x, y in positions:
        hole = cylinder(z_top - z_bottom + 2.0, radius, n, z_bottom - 1.0)
        bore = cylinder(bore_depth + 1.0, bore_radius, n_bore, z_top - bore_depth)
        tools.append(union([hole, bore]).translate((x, y, 0.0)))
    return tools


def to_trimesh(solid: Manifold) -> trimesh.Trimesh:
    """Convert a manifold solid to a watertight, outward-oriented trimesh."""
    mesh = solid.to_mesh()
    vertices = np.asarray(mesh.vert_properties[:, :3], dtype=np.float64)
    faces = np.asarray(mesh.tri_verts, dtype=np.int64)
    return trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
