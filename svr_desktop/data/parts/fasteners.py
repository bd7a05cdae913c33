"""Hex bolts and nuts with ISO metric proportions.

Threads are stacks of V-shaped ring grooves (see
:func:`~.primitives.thread_profile`).  Hex heads and nuts get the usual 30° corner
chamfer by intersecting the prism with a double cone.
"""

from __future__ import annotations

from functools import partial

from .primitives import (Manifold, box, chamfer_cone, chamfered_cylinder, cylinder,
                         hex_across_corners, regular_prism, revolve, segments, subtract,
                         thread_profile, union)
from .spec import Choice, Family, Flag, Uniform

#: ISO metric coarse series: size -> (pitch, hex across flats, head height, nut height,
#: socket head diameter, hex socket across flats), all in mm.
METRIC = {
    "M6": (1.0, 10.0, 4.0, 5.2, 10.0, 5.0),
    "M8": (1.25, 13.0, 5.3, 6.8, 13.0, 6.0),
    "M10": (1.5, 16.0, 6.4, 8.4, 16.0, 8.0),
    "M12": (1.75, 18.0, 7.5, 10.8, 18.0, 10.0),
    "M16": (2.0, 24.0, 10.0, 14.8, 24.0, 14.0),
    "M20": (2.5, 30.0, 12.5, 18.0, 30.0, 17.0),
    "M24": (3.0, 36.0, 15.0, 21.5, 36.0, 19.0),
}


def _diameter(size: str) -> float:
    return float(size[1:])


def hex_with_chamfer(across_flats: float, z0: float, z1: float, n: int,
                     bottom: bool = True, top: bool = True) -> Manifold:
    """A hex prism between ``z0`` and ``z1`` with 30° chamfered corners."""
    r_corner = hex_across_corners(across_flats)
    prism = regular_prism(r_corner, z1 - z0).translate((0.0, 0.0, z0))
    return prism ^ chamfer_cone(0.47 * across_flats, r_corner, z0, z1, n, bottom, top)


BOLT_PARAMS = (
    Choice("size", tuple(METRIC), "ISO metric thread size"),
    Uniform("length", 1.5, 6.0, "shank length / thread diameter"),
    Choice("head", ("hex", "flange_hex", "socket_cap"), "head type"),
    Uniform("thread_fraction", 0.35, 1.0, "threaded length / shank length"),
    Flag("washer_face", 0.5, "washer face under a hex head"),
    Choice("point", ("chamfered", "dog"), "end of the shank"),
)


def build_bolt(p: dict) -> Manifold:
    """A bolt along z: the shank tip at z = 0, the head on top."""
    d = _diameter(p["size"])
    pitch, s, k, _, dk, s_socket = METRIC[p["size"]]
    length = p["length"] * d
    r = 0.5 * d
    n = partial(segments, size=length + k)
    thread_len = p["thread_fraction"] * length
    r_minor = r - 0.6134 * pitch
    if p["point"] == "dog":
        r_dog, l_dog = 0.75 * r_minor, 0.5 * d
        profile = [(0.0, 0.0), (r_dog - 0.15 * d, 0.0), (r_dog, 0.15 * d), (r_dog, l_dog),
                   (r_minor, l_dog)]
        z_thread = l_dog + pitch
    else:
        profile = [(0.0, 0.0), (r_minor - 0.1 * d, 0.0), (r_minor, 0.1 * d)]
        z_thread = 0.1 * d + pitch
    profile += thread_profile(r, pitch, z_thread, max(thread_len, z_thread + pitch))
    profile += [(r, length + 0.5 * k), (0.0, length + 0.5 * k)]  # overlaps the head
    shank = revolve(profile, max(16, n(r)))

    n_head = max(24, n(0.5 * s))
    if p["head"] == "socket_cap":
        head = chamfered_cylinder(d, 0.5 * dk, n(0.5 * dk), bottom=0.03 * d, top=0.08 * d)
        socket = regular_prism(hex_across_corners(s_socket), 0.6 * d + 1.0)
        head = subtract(head, [socket.translate((0.0, 0.0, 0.4 * d))])
    elif p["head"] == "flange_hex":
        flange_r, flange_t = 0.5 * 1.45 * s, 0.2 * k
        flange = revolve([(0.0, 0.0), (flange_r, 0.0), (flange_r, 0.4 * flange_t),
                          (0.5 * s, flange_t), (0.0, flange_t)], n(flange_r))
        head = union([flange, hex_with_chamfer(s, 0.5 * flange_t, k, n_head, bottom=False)])
    else:
        z0 = 0.0
        parts = []
        if p["washer_face"]:
            z0 = 0.05 * d
            parts.append(cylinder(z0 + 0.01 * d, 0.5 * 0.95 * s, n(0.5 * s)))
        parts.append(hex_with_chamfer(s, z0, z0 + k, n_head, bottom=False))
        head = union(parts)
    return union([shank, head.translate((0.0, 0.0, length))])


NUT_PARAMS = (
    Choice("size", tuple(METRIC), "ISO metric thread size"),
    Choice("style", ("hex", "jam", "flange", "castle"), "nut style"),
    Flag("double_chamfer", 0.7, "corner chamfer on both faces (else only the top)"),
    Uniform("countersink", 0.04, 0.1, "thread countersink depth / thread diameter"),
)


def build_nut(p: dict) -> Manifold:
    """A nut on the z axis, bearing face at z = 0."""
    d = _diameter(p["size"])
    pitch, s, _, m, _, _ = METRIC[p["size"]]
    style = p["style"]
    height = {"hex": m, "jam": 0.6 * m, "flange": 1.1 * m, "castle": 1.35 * m}[style]
    n = partial(segments, size=max(s, height) * 1.4)
    n_hex = max(24, n(0.5 * s))
    if style == "flange":
        flange_r, flange_t = 0.5 * 1.45 * s, 0.22 * m
        flange = revolve([(0.0, 0.0), (flange_r, 0.0), (flange_r, 0.4 * flange_t),
                          (0.5 * s, flange_t), (0.0, flange_t)], n(flange_r))
        body = union([flange, hex_with_chamfer(s, 0.5 * flange_t, height, n_hex, bottom=False)])
    elif style == "castle":
        hex_top = 0.75 * m
        crown = chamfered_cylinder(height - hex_top + 0.1 * m, 0.5 * 0.92 * s, n(0.5 * s),
                                   top=0.06 * s).translate((0.0, 0.0, hex_top - 0.1 * m))
        slots = [box((1.3 * s, 0.28 * d, 0.42 * m), (0.0, 0.0, height)).rotate((0.0, 0.0, a))
                 for a in (0.0, 60.0, 120.0)]
        body = subtract(union([hex_with_chamfer(s, 0.0, hex_top, n_hex, p["double_chamfer"],
                                                False), crown]), slots)
    else:
        body = hex_with_chamfer(s, 0.0, height, n_hex, p["double_chamfer"], True)

    r = 0.5 * d
    sink = p["countersink"] * d
    bore = [(0.0, -1.0), (r + sink + 1.0, -1.0), (r, sink)]
    thread = thread_profile(r, pitch, sink, height - sink)
    r_minor = min(rr for rr, _ in thread)
    bore += [(r + r_minor - rr, z) for rr, z in thread]  # the male profile turned inside out
    bore += [(r, height - sink), (r + sink + 1.0, height + 1.0), (0.0, height + 1.0)]
    return subtract(body, [revolve(bore, max(16, n(r)))])


FAMILIES = (
    Family("hex_bolt", "Metric bolt M6-M24: hex, flanged hex or socket-cap head, ring-groove "
           "thread, chamfered or dog point.", BOLT_PARAMS, build_bolt),
    Family("hex_nut", "Metric nut M6-M24: hex, jam, flanged or castle (slotted) style, "
           "internal ring-groove thread, countersunk bore.", NUT_PARAMS, build_nut),
)
