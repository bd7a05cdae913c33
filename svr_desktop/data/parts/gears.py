"""Spur gears with involute teeth.

The tooth outline is a true involute of the base circle (radial below it),
with the standard addendum (1 module) and dedendum (1.25 modules).  The blank
can be a solid disc or a rim-and-hub wheel with a recessed web and lightening
holes; teeth can be chamfered at both faces, like hobbed gears usually are.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from .primitives import (Manifold, box, chamfered_cylinder, holes_z, polygon, revolve,
                         ring_positions, segments, subtract, tube, union)
from .spec import Choice, Family, Flag, Integer, Uniform

GEAR_PARAMS = (
    Uniform("module", 1.5, 5.0, "module (pitch diameter / teeth)", "mm"),
    Integer("teeth", 12, 56, "number of teeth"),
    Choice("pressure_angle", (20, 25), "pressure angle (degrees)"),
    Uniform("face_width", 5.0, 12.0, "face width / module"),
    Uniform("bore", 0.2, 0.45, "bore diameter / root diameter"),
    Flag("keyway", 0.6, "keyway in the bore"),
    Choice("hub", ("none", "one_side", "both_sides"), "hub protruding from the faces"),
    Uniform("hub_diameter", 0.4, 0.6, "hub diameter / root diameter (at least bore + wall)"),
    Uniform("hub_length", 0.3, 0.9, "hub protrusion / face width"),
    Choice("web", ("solid", "recessed", "holes"),
           "solid blank, recessed web, or recessed web with lightening holes (large gears)"),
    Uniform("web_thickness", 0.3, 0.5, "web thickness / face width"),
    Integer("web_holes", 4, 8, "number of lightening holes"),
    Flag("tooth_chamfer", 0.6, "45-degree chamfer on the tooth tips at both faces"),
)

_FLANK_POINTS = 6


def involute_outline(module: float, teeth: int, pressure_angle_deg: float) -> np.ndarray:
    """Closed counter-clockwise outline of a spur gear (points in the xy plane)."""
    alpha = math.radians(pressure_angle_deg)
    r_pitch = 0.5 * module * teeth
    r_base = r_pitch * math.cos(alpha)
    r_tip, r_root = r_pitch + module, r_pitch - 1.25 * module

    def inv(a: float) -> float:
        return math.tan(a) - a

    def half_angle(r: float) -> float:
        """Half the angular tooth thickness at radius ``r`` (on the involute)."""
        return math.pi / (2 * teeth) + inv(alpha) - inv(math.acos(min(1.0, r_base / r)))

    r_start = max(r_root, r_base)
    flank_r = np.linspace(r_start, r_tip, _FLANK_POINTS)
    flank_a = np.array([half_angle(r) for r in flank_r])
    root_a = flank_a[0]
    points = []
    for k in range(teeth):
        c = 2.0 * math.pi * k / teeth
        polar = [(r_root, c - root_a)] if r_root < r_base else []
        polar += [(r, c - a) for r, a in zip(flank_r, flank_a)]
        polar += [(r_tip, c)]
        polar += [(r, c + a) for r, a in zip(flank_r[::-1], flank_a[::-1])]
        polar += [(r_root, c + root_a)] if r_root < r_base else []
        polar += [(r_root, c + math.pi / teeth)]
        points += [(r * math.cos(a), r * math.sin(a)) for r, a in polar]
    return np.array(points)


def build_gear(p: dict) -> Manifold:
    """A spur gear on the z axis, faces at z = 0 and z = face width."""
    m, z = p["module"], p["teeth"]
    r_tip, r_root = 0.5 * m * z + m, 0.5 * m * z - 1.25 * m
    n = partial(segments, size=2.0 * r_tip)
    width = p["face_width"] * m
    teeth = polygon(involute_outline(m, z, p["pressure_angle"])).extrude(width)
    if p["tooth_chamfer"]:
        c = 0.5 * m
        teeth = teeth ^ chamfered_cylinder(width, r_tip, n(r_tip), bottom=c, top=c)

    r_bore = p["bore"] * r_root
    r_hub = max(p["hub_diameter"] * r_root, r_bore + 1.5 * m)
    parts = [teeth]
    hub_len = p["hub_length"] * width
    ch = 0.3 * (r_hub - r_bore)
    if p["hub"] != "none":
        z0 = -hub_len if p["hub"] == "both_sides" else 0.0
        parts.append(revolve([(r_bore, z0), (r_hub, z0), (r_hub, width + hub_len - ch),
                              (r_hub - ch, width + hub_len), (r_bore, width + hub_len)],
                             n(r_hub)))
    body = union(parts)

    tools = [tube(-hub_len - 1.0, width + hub_len + 1.0, r_bore, 0.0, n(r_bore))]
    r_rim = r_root - 2.0 * m
    span = r_rim - r_hub
    if p["web"] != "solid" and span > 3.0 * m:
        recess = 0.5 * (1.0 - p["web_thickness"]) * width
        tools += [tube(-1.0, recess, r_rim, r_hub, n(r_rim)),
                  tube(width - recess, width + 1.0, r_rim, r_hub, n(r_rim))]
        if p["web"] == "holes":
            rc = 0.5 * (r_rim + r_hub)
            r_hole = min(0.35 * span, 0.3 * math.pi * rc / p["web_holes"])
            tools += holes_z(ring_positions(rc, p["web_holes"]), r_hole, -1.0, width + 1.0,
                             n(r_hole))
    if p["keyway"]:
        key_w = 0.5 * r_bore
        depth = r_bore + 0.45 * key_w
        tools.append(box((key_w, depth, width + 2.0 * hub_len + 2.0),
                         (0.0, 0.5 * depth, 0.5 * width)))
    return subtract(body, tools)


FAMILIES = (
    Family("spur_gear", "Involute spur gear: 12-56 teeth, optional hub, recessed web with "
           "lightening holes, bore with keyway, chamfered teeth.", GEAR_PARAMS, build_gear),
)
