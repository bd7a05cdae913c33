"""Stepped shafts: turned sections with shoulders, keyways, ring grooves and holes.

The section diameters fall off geometrically on both sides of the largest
one, as on a real gearbox shaft (bearing seats, gear seats, journals).
Keyways go on the longest sections other than the largest one, retaining-ring
grooves on the shortest ones, a bearing-width away from their shoulder.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from .primitives import (Manifold, along_y, box, cylinder, revolve, segments, slot, subtract,
                         tube)
from .spec import Family, Flag, Integer, Uniform, UniformList

SHAFT_PARAMS = (
    Uniform("length", 80.0, 320.0, "overall length", "mm"),
    Integer("steps", 3, 6, "number of cylindrical sections"),
    UniformList("section_lengths", 0.5, 2.0, 6, "relative section lengths (first `steps` used)"),
    Uniform("max_diameter", 0.1, 0.25, "largest diameter / length"),
    UniformList("step_ratios", 0.72, 0.92, 6,
                "diameter of a section / diameter of its neighbour towards the largest one"),
    Uniform("peak", 0.0, 1.0, "position of the largest section (0 = first, 1 = last)"),
    Uniform("end_chamfer", 0.04, 0.12, "end chamfer / end diameter"),
    Integer("keyways", 0, 2, "number of keyways"),
    Integer("ring_grooves", 0, 3, "number of retaining-ring grooves"),
    Flag("center_holes", 0.5, "60-degree centre holes in both end faces"),
    Flag("cross_hole", 0.3, "radial through hole in the first section"),
    Flag("end_flat", 0.3, "D-flat on the last section"),
)


def _radii(p: dict) -> list[float]:
    """Section radii: the peak section has the largest, the others step down."""
    steps = p["steps"]
    peak = round(p["peak"] * (steps - 1))
    radii = [0.0] * steps
    radii[peak] = 0.5 * p["max_diameter"] * p["length"]
    for i in range(peak - 1, -1, -1):
        radii[i] = radii[i + 1] * p["step_ratios"][i]
    for i in range(peak + 1, steps):
        radii[i] = radii[i - 1] * p["step_ratios"][i]
    return radii


def build_shaft(p: dict) -> Manifold:
    """A stepped shaft lying on the x axis, keyways and flat facing up (+z)."""
    length, steps = p["length"], p["steps"]
    n = partial(segments, size=length)
    weights = np.array(p["section_lengths"][:steps])
    bounds = np.concatenate([[0.0], np.cumsum(weights / weights.sum() * length)])
    bounds[-1] = length
    lengths = np.diff(bounds)
    radii = _radii(p)
    r_max = max(radii)

    ce0, ce1 = 2.0 * p["end_chamfer"] * radii[0], 2.0 * p["end_chamfer"] * radii[-1]
    profile = [(0.0, 0.0), (radii[0] - ce0, 0.0), (radii[0], ce0)]
    for j in range(1, steps):
        a, b, z = radii[j - 1], radii[j], bounds[j]
        c = min(0.3 * abs(a - b), 0.25 * lengths.min())
        if b > a:
            profile += [(a, z), (b - c, z), (b, z + c)]
        else:
            profile += [(a, z - c), (a - c, z), (b, z)]
    profile += [(radii[-1], length - ce1), (radii[-1] - ce1, length), (0.0, length)]
    body = revolve(profile, n(r_max))

    peak = radii.index(r_max)
    candidates = sorted((i for i in range(steps) if i != peak), key=lambda i: (-lengths[i], i))
    tools = []
    for i in candidates[:p["keyways"]]:
        r, width = radii[i], 0.56 * radii[i]
        depth = 0.22 * r
        key = slot(0.65 * lengths[i], width, n(0.5 * width)).extrude(depth + 1.0)
        key = key.rotate((0.0, -90.0, 0.0))
        tools.append(key.translate((depth - r, 0.0, 0.5 * (bounds[i] + bounds[i + 1]))))
    for i in candidates[::-1][:p["ring_grooves"]]:
        r = radii[i]
        z = bounds[i + 1] - 0.7 * lengths[i] if i < peak else bounds[i] + 0.7 * lengths[i]
        w = 0.16 * r
        tools.append(tube(z - 0.5 * w, z + 0.5 * w, r + 1.0, 0.9 * r, n(r)))
    if p["center_holes"]:
        for r, z, flip in ((radii[0], 0.0, False), (radii[-1], length, True)):
            rc, t30 = 0.3 * r, math.tan(math.radians(30.0))
            rp = 0.4 * rc
            z_cone = (rc - rp) / t30
            hole = revolve([(0.0, -1.0), (rc + t30, -1.0), (rp, z_cone),
                            (rp, z_cone + 1.5 * rc), (0.0, z_cone + 1.5 * rc + 0.6 * rp)],
                           n(rc))
            tools.append(hole.mirror((0.0, 0.0, 1.0)).translate((0.0, 0.0, z)) if flip else hole)
    if p["cross_hole"]:
        r = radii[0]
        hole = along_y(cylinder(4.0 * r, 0.25 * r, n(0.25 * r), -2.0 * r))
        tools.append(hole.translate((0.0, 0.0, 0.4 * lengths[0])))
    if p["end_flat"]:
        r, z0 = radii[-1], bounds[-2] + 0.3 * lengths[-1]
        depth = 0.3 * r
        tools.append(box((depth + 1.0, 2.0 * r + 2.0, length - z0 + 1.0),
                         (depth - r - 0.5 * (depth + 1.0), 0.0, 0.5 * (z0 + length + 1.0))))
    return subtract(body, tools).rotate((0.0, 90.0, 0.0))


FAMILIES = (
    Family("stepped_shaft", "Stepped shaft with 3-6 chamfered sections, keyways, "
           "retaining-ring grooves, centre holes, cross hole and D-flat.",
           SHAFT_PARAMS, build_shaft),
)
