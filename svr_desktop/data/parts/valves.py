"""Valve bodies: a globe, gate or ball body on a run with end connections.

The run reuses the pipe end connections (:mod:`.pipe_ports`); a bonnet neck
with a bolted flange rises from the body and a stem bore goes down into the
flow passage, so the body is open at three places like a real casting.
"""

from __future__ import annotations

import math
from functools import partial

from .pipe_ports import axial_bore, axial_solid, chain, make_port
from .primitives import (Manifold, along_x, chamfered_cylinder, cylinder, holes_z, revolve,
                         ring_positions, segments, subtract, union)
from .spec import Choice, Family, Flag, Uniform

VALVE_PARAMS = (
    Uniform("pipe_diameter", 25.0, 110.0, "pipe outer diameter of the run", "mm"),
    Uniform("wall", 0.08, 0.15, "wall thickness / pipe diameter"),
    Choice("body", ("globe", "gate", "ball"),
           "body shape: sphere, flat vertical oval, or barrel along the run"),
    Uniform("body_size", 0.8, 1.1, "body radius / pipe diameter"),
    Uniform("face_to_face", 2.4, 3.4, "face-to-face length / pipe diameter "
            "(lengthened where the end collars would meet the body)"),
    Choice("ends", ("flange", "socket", "threaded"), "end connection style"),
    Uniform("flange_diameter", 1.6, 2.2, "end flange diameter / pipe diameter"),
    Choice("bolt_count", (4, 6, 8), "bolts per end flange"),
    Uniform("bonnet_height", 1.3, 1.9, "bonnet flange top above the run axis / pipe diameter "
            "(raised to clear the body)"),
    Choice("bonnet_bolts", (4, 6, 8), "bolts in the bonnet flange"),
    Flag("drain_boss", 0.4, "drain boss with a hole under the body"),
)


def _body(kind: str, radius: float, n) -> Manifold:
    """The central casting, centred on the origin."""
    if kind == "globe":
        return Manifold.sphere(radius, n(radius))
    if kind == "gate":
        height = 2.0 * radius
        return cylinder(height, radius, n(radius), -0.5 * height).scale((0.6, 1.0, 1.0))
    length = 1.4 * radius
    barrel = chamfered_cylinder(length, 0.85 * radius, n(radius), 0.2 * radius, 0.2 * radius)
    return along_x(barrel.translate((0.0, 0.0, -0.5 * length)))


def build_valve(p: dict) -> Manifold:
    """A valve body with its run along x and its bonnet towards +z."""
    d = p["pipe_diameter"]
    r_out, wall = 0.5 * d, p["wall"] * d
    r_body = p["body_size"] * d
    probe = make_port(p["ends"], r_out, wall, 0.0, p["flange_diameter"], p["bolt_count"])
    half = max(0.5 * p["face_to_face"] * d, 0.85 * r_body + probe.length + 0.05 * d)
    port = make_port(p["ends"], r_out, wall, half - probe.length, p["flange_diameter"],
                     p["bolt_count"])
    bonnet_t = 0.3 * d
    top = max(p["bonnet_height"] * d, r_body + bonnet_t + 0.25 * d)
    n = partial(segments, size=2.0 * half)
    n_hole = n(0.05 * d)

    r_neck, r_bonnet = 0.55 * d, 0.85 * d
    outer, inner = chain(port, port)
    parts = [along_x(revolve(axial_solid(outer), n(port.collar_radius))),
             _body(p["body"], r_body, n),
             cylinder(top - bonnet_t, r_neck, n(r_neck)),
             chamfered_cylinder(bonnet_t, r_bonnet, n(r_bonnet), top=0.15 * bonnet_t)
             .translate((0.0, 0.0, top - bonnet_t))]
    r_stem = 0.5 * r_neck
    tools = [along_x(revolve(axial_bore(inner), n(port.collar_radius))),
             cylinder(top + 1.0, r_stem, n(r_stem))]
    tools += [along_x(h) for h in port.placed(0.0, 1.0).bolt_holes(n_hole)]
    tools += [along_x(h) for h in port.placed(0.0, -1.0).bolt_holes(n_hole)]
    r_bolts = 0.5 * (r_neck + r_bonnet) + 0.05 * d
    r_bolt = min(0.3 * (r_bonnet - r_neck), 0.4 * math.pi * r_bolts / p["bonnet_bolts"])
    tools += holes_z(ring_positions(r_bolts, p["bonnet_bolts"], 180.0 / p["bonnet_bolts"]),
                     r_bolt, top - bonnet_t - 1.0, top + 1.0, n_hole)
    if p["drain_boss"]:
        r_boss = 0.25 * d
        depth = r_body if p["body"] != "ball" else 0.85 * r_body
        parts.append(cylinder(0.6 * depth, r_boss, n(r_boss), -depth - 0.1 * d))
        tools.append(cylinder(depth, 0.45 * r_boss, n(r_boss), -depth - 0.2 * d))
    return subtract(union(parts), tools)


FAMILIES = (
    Family("valve_body", "Globe, gate or ball valve body with flanged, socket or threaded "
           "ends and a bolted bonnet flange.", VALVE_PARAMS, build_valve),
)
