"""End connections shared by the pipe fittings and the valve body.

A :class:`Port` is an axisymmetric end connection on a local z axis: ``z = 0``
is where it joins the fitting's body and the open end is at ``z = length``.
Its outer and bore surfaces are ``(r, z)`` polylines, so fittings can either
revolve one port on its own (:meth:`Port.hollow`) or chain several along a
common axis into one revolved solid and one revolved bore
(:func:`axial_solid`, :func:`axial_bore`).

Styles:

* ``plain``: bevelled pipe end (butt weld).
* ``flange``: weld-neck flange with raised face and a bolt circle.
* ``socket``: socket-weld collar whose counterbore takes the pipe.
* ``threaded``: beaded collar with an internal (ring-groove) thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .primitives import (Manifold, holes_z, revolve, ring_positions, subtract, thread_profile)

END_STYLES = ("plain", "flange", "socket", "threaded")

Profile = list[tuple[float, float]]


@dataclass(frozen=True)
class Port:
    """An end connection on the local z axis (see the module docstring)."""

    outer: Profile
    inner: Profile
    #: Largest radius and axial extent (from the open end) of the collar.
    collar_radius: float
    collar_length: float
    #: Bolt holes as (circle radius, count, hole radius, z0, z1) or None.
    bolts: tuple | None = field(default=None)

    @property
    def length(self) -> float:
        return self.outer[-1][1]

    def placed(self, z0: float, direction: float) -> "Port":
        """The same port with its local z mapped to ``z0 + direction * z``."""
        def move(profile: Profile) -> Profile:
            return [(r, z0 + direction * z) for r, z in profile]

        bolts = None
        if self.bolts is not None:
            rb, count, rh, b0, b1 = self.bolts
            b0, b1 = sorted((z0 + direction * b0, z0 + direction * b1))
            bolts = (rb, count, rh, b0, b1)
        return Port(move(self.outer), move(self.inner), self.collar_radius, self.collar_length,
                    bolts)

    def bolt_holes(self, n: int) -> list[Manifold]:
        """Bolt-hole tools (cylinders along z), empty for styles without bolts."""
        if self.bolts is None:
            return []
        rb, count, rh, z0, z1 = self.bolts
        return holes_z(ring_positions(rb, count, 180.0 / count), rh, z0, z1, n)

    def hollow(self, n: int, n_hole: int) -> Manifold:
        """The port on its own as a hollow solid of revolution with its bolt holes."""
        body = revolve(self.outer + self.inner[::-1], n)
        return subtract(body, self.bolt_holes(n_hole))


def make_port(style: str, r_out: float, wall: float, straight: float,
              flange_ratio: float = 1.9, bolt_count: int = 4) -> Port:
    """An end connection for a pipe of outer radius ``r_out`` and ``wall``.

    ``straight`` is the plain pipe length between the body and the collar;
    ``flange_ratio`` (flange / pipe diameter) and ``bolt_count`` apply to
    flanges only.
    """
    r_in = r_out - wall
    c = 0.35 * wall
    if style == "plain":
        length = straight + wall
        return Port([(r_out, 0.0), (r_out, length - c), (r_out - c, length)],
                     [(r_in, 0.0), (r_in, length)], r_out, 0.0)
    if style == "flange":
        r_flange = flange_ratio * r_out
        thick, hub = 0.45 * r_out + 1.5 * wall, 0.5 * r_out
        r_hub = r_out + 0.6 * wall
        r_bolts = 0.5 * (r_hub + r_flange) + 0.05 * (r_flange - r_hub)
        r_hole = min(0.3 * (r_flange - r_hub), 0.45 * math.pi * r_bolts / bolt_count)
        face_h, r_face = 0.08 * thick, r_bolts - r_hole - 0.1 * (r_flange - r_hub)
        length = straight + thick + hub
        z_back = length - thick
        ch = 0.1 * thick
        outer = [(r_out, 0.0), (r_out, z_back - hub), (r_hub, z_back), (r_flange - ch, z_back),
                 (r_flange, z_back + ch), (r_flange, length - face_h), (r_face, length - face_h),
                 (r_face, length)]
        return Port(outer, [(r_in, 0.0), (r_in, length)], r_flange, thick + hub,
                    (r_bolts, bolt_count, r_hole, z_back - 1.0, length + 1.0))
    r_collar = r_out + 0.8 * wall + 0.12 * r_out
    rise = r_collar - r_out
    if style == "socket":
        collar, depth = 0.9 * r_out, 0.6 * r_out
        length = straight + collar + rise
        r_socket = r_out + 0.02 * wall
        outer = [(r_out, 0.0), (r_out, length - collar - rise), (r_collar, length - collar),
                 (r_collar, length - c), (r_collar - c, length)]
        inner = [(r_in, 0.0), (r_in, length - depth), (r_socket, length - depth),
                 (r_socket, length)]
        return Port(outer, inner, r_collar, collar + rise)
    if style == "threaded":
        collar = 0.7 * r_out
        length = straight + collar + rise
        thread_len = 0.85 * collar
        outer = [(r_out, 0.0), (r_out, length - collar - rise), (r_collar, length - collar),
                 (r_collar, length - 0.6 * collar), (r_collar + 0.3 * wall, length - 0.5 * collar),
                 (r_collar + 0.3 * wall, length - c), (r_collar + 0.3 * wall - c, length)]
        r_thread = r_in + 0.45 * wall
        pitch = min(0.12 * r_out, 0.6 * wall)
        thread = thread_profile(r_thread, pitch, length - thread_len, length - c, 8)
        r_minor = min(r for r, _ in thread)
        inner = [(r_in, 0.0), (r_in, length - thread_len)]
        inner += [(r_thread + r_minor - r, z) for r, z in thread]
        inner += [(r_thread + c, length)]
        return Port(outer, inner, r_collar + 0.3 * wall, collar + rise)
    raise ValueError(f"unknown end style {style!r}")


def axial_solid(outer: Profile) -> Profile:
    """Close an outer polyline (z increasing) on the axis: the solid's profile."""
    return [(0.0, outer[0][1])] + outer + [(0.0, outer[-1][1])]


def axial_bore(inner: Profile) -> Profile:
    """Close a bore polyline on the axis, reaching 1 mm past both ends."""
    (r0, z0), (r1, z1) = inner[0], inner[-1]
    return [(0.0, z0 - 1.0), (r0, z0 - 1.0)] + inner + [(r1, z1 + 1.0), (0.0, z1 + 1.0)]


def chain(first: Port, second: Port, gap: float = 0.0,
          divisions: int = 1) -> tuple[Profile, Profile]:
    """Outer and bore polylines of two ports back to back on one axis.

    ``first`` points towards -z from ``z = 0``, ``second`` towards +z from
    ``z = gap``.  The gap (a reducer's cone, an elbow's bend before it is
    bent) is bridged by straight segments, split into ``divisions`` pieces.
    """
    a, b = first.placed(0.0, -1.0), second.placed(gap, 1.0)

    def bridge(end: Profile, start: Profile) -> Profile:
        if gap == 0.0:
            return end[::-1] + start[1:]  # both start on z = 0: keep that point once
        (r0, z0), (r1, z1) = end[0], start[0]
        steps = [i / divisions for i in range(1, divisions)]
        return end[::-1] + [(r0 + t * (r1 - r0), z0 + t * (z1 - z0)) for t in steps] + start

    return bridge(a.outer, b.outer), bridge(a.inner, b.inner)
