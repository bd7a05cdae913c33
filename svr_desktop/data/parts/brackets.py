"""Plate brackets and clamps: L-brackets, U-shaped clevis brackets, shaft and pipe clamps.

Brackets are extruded side profiles (bend radii and inner fillets included)
trimmed by a second extruded outline that rounds the free corners, then
drilled with hole, slot or countersink patterns.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from .primitives import (Manifold, CrossSection, along_x, along_y, box, chamfered_box,
                         cylinder, extrude_xz, extrude_yz, polygon, revolve, rounded_rect,
                         segments, slot, subtract, tube, union)
from .spec import Choice, Family, Flag, Integer, Uniform


def arc(cx: float, cz: float, r: float, start_deg: float, end_deg: float,
        count: int) -> list[tuple[float, float]]:
    """``count`` + 1 points on a circular arc from ``start_deg`` to ``end_deg``."""
    angles = np.radians(np.linspace(start_deg, end_deg, count + 1))
    return [(cx + r * math.cos(a), cz + r * math.sin(a)) for a in angles]


def hole_tool(kind: str, diameter: float, depth: float, n: int, slot_length: float) -> Manifold:
    """A hole through a plate from z = 0 to ``depth`` (screw head side at ``depth``).

    ``round``: plain hole; ``slot``: slot along x of ``slot_length``;
    ``countersunk``: 90° countersink at the top face.
    """
    r = 0.5 * diameter
    if kind == "slot":
        return slot(max(slot_length, diameter), diameter, n).extrude(depth + 2.0).translate(
            (0.0, 0.0, -1.0))
    tool = cylinder(depth + 2.0, r, n, -1.0)
    if kind == "countersunk":
        sink = min(0.5 * depth, r)
        cone = revolve([(0.0, depth - sink), (r, depth - sink), (r + sink + 1.0, depth + 1.0),
                        (0.0, depth + 1.0)], n)
        tool = union([tool, cone])
    return tool


def _columns(width: float, thickness: float, gussets: str, count: int) -> list[float]:
    """Across-width positions of hole columns, clear of the gussets."""
    if gussets == "center":
        span = 0.5 * (width - thickness)
        return [s * (0.5 * thickness + (j + 0.5) * span / count) for s in (-1, 1)
                for j in range(count)]
    edge = thickness if gussets == "edges" else 0.0
    span = width - 2.0 * edge
    return [-0.5 * span + (j + 0.5) * span / count for j in range(count)]


L_BRACKET_PARAMS = (
    Uniform("leg_a", 40.0, 160.0, "horizontal leg length", "mm"),
    Uniform("leg_b", 0.5, 1.3, "vertical leg length / horizontal leg length"),
    Uniform("width", 0.35, 1.0, "width / horizontal leg length"),
    Uniform("thickness", 0.04, 0.1, "plate thickness / horizontal leg length"),
    Choice("construction", ("bent", "machined"),
           "bent sheet (round bend) or machined (sharp outside, filleted inside)"),
    Uniform("bend_radius", 0.5, 2.0, "inner bend (or fillet) radius / thickness"),
    Uniform("corner_radius", 0.0, 0.3, "radius of the free corners / width"),
    Integer("hole_rows", 1, 2, "hole rows on each leg"),
    Integer("hole_columns", 1, 3, "hole columns across the width (per side of a centre "
            "gusset; fewer on narrow brackets)"),
    Choice("holes", ("round", "slot", "countersunk"), "hole style"),
    Uniform("hole_size", 0.3, 0.55, "hole diameter / hole pitch"),
    Choice("gussets", ("none", "center", "edges"), "stiffening gussets in the bend"),
    Uniform("gusset_size", 0.35, 0.7, "gusset leg / shorter bracket leg"),
)


def build_l_bracket(p: dict) -> Manifold:
    """An L-bracket: horizontal leg along +x on z = 0, vertical leg along +z on x = 0."""
    a = p["leg_a"]
    b, w = p["leg_b"] * a, p["width"] * a
    t, ri = p["thickness"] * a, p["bend_radius"] * p["thickness"] * a
    n = partial(segments, size=max(a, b, w))
    k = max(3, n(ri) // 4)
    ro = ri + t
    if p["construction"] == "bent":
        outline = [(a, 0.0), (a, t)] + arc(ro, ro, ri, 270.0, 180.0, k) + [(t, b), (0.0, b)]
        outline += arc(ro, ro, ro, 180.0, 270.0, k)
    else:
        outline = [(a, 0.0), (a, t)] + arc(t + ri, t + ri, ri, 270.0, 180.0, k)
        outline += [(t, b), (0.0, b), (0.0, 0.0)]
    body = extrude_xz(polygon(outline), -0.5 * w, 0.5 * w)
    rc = p["corner_radius"] * w
    if rc > 0.5:
        body = body ^ rounded_rect(2.0 * a, w, rc, n(rc)).extrude(b + 2.0).translate(
            (0.0, 0.0, -1.0))
        body = body ^ extrude_yz(rounded_rect(w, 2.0 * b, rc, n(rc)), -1.0, a + 1.0)

    parts = [body]
    if p["gussets"] != "none":
        g = p["gusset_size"] * (min(a, b) - ro)
        tri = polygon([(0.5 * t, 0.5 * t), (ro + g, 0.5 * t), (0.5 * t, ro + g)])
        ys = [0.0] if p["gussets"] == "center" else [-0.5 * (w - t), 0.5 * (w - t)]
        parts += [extrude_xz(tri, y - 0.5 * t, y + 0.5 * t) for y in ys]

    min_pitch = 0.12 * a
    usable = w if p["gussets"] == "none" else 0.5 * w
    count = max(1, min(p["hole_columns"], int(usable / min_pitch)))
    columns = _columns(w, t, p["gussets"], count)
    pitch_y = abs(columns[1] - columns[0]) if len(columns) > 1 else w
    tools = []
    for leg, horizontal in ((a, True), (b, False)):
        rows = p["hole_rows"]
        pitch_x = (leg - ro) / rows
        d = p["hole_size"] * min(pitch_x, pitch_y)
        tool = hole_tool(p["holes"], d, t, n(0.5 * d), 0.5 * (pitch_x + d))
        for i in range(rows):
            s = ro + (i + 0.5) * pitch_x
            for y in columns:
                if horizontal:
                    tools.append(tool.translate((s, y, 0.0)))
                else:
                    tools.append(along_x(tool).translate((0.0, y, s)))
    return subtract(union(parts), tools)


U_BRACKET_PARAMS = (
    Uniform("length", 50.0, 160.0, "length over the arms", "mm"),
    Uniform("width", 0.35, 0.8, "width / length"),
    Uniform("base_thickness", 0.06, 0.14, "base thickness / length"),
    Uniform("arm_height", 0.5, 1.1, "arm height / length (raised to fit the pin hole)"),
    Uniform("arm_thickness", 0.06, 0.14, "arm thickness / length"),
    Choice("arm_top", ("round", "square"), "rounded or chamfered arm ends"),
    Uniform("pin_hole", 0.25, 0.5, "pin hole diameter / width"),
    Flag("bosses", 0.4, "bosses around the pin hole on the arms' outer faces"),
    Choice("base_holes", (2, 4), "mounting holes in the base"),
    Flag("base_slots", 0.4, "mounting slots instead of round holes"),
    Uniform("fillet", 0.0, 1.5, "inner fillet radius / base thickness"),
)


def build_u_bracket(p: dict) -> Manifold:
    """A clevis (U) bracket: base on z = 0, arms at both ends of x, pin along x."""
    length = p["length"]
    half, w = 0.5 * length, p["width"] * length
    tb, ta = p["base_thickness"] * length, p["arm_thickness"] * length
    height = max(p["arm_height"] * length, tb + 0.9 * w)
    rf = p["fillet"] * tb
    n = partial(segments, size=max(length, height))
    k = max(3, n(rf) // 4)
    inner = half - ta
    outline = [(-half, 0.0), (half, 0.0), (half, height), (inner, height)]
    outline += arc(inner - rf, tb + rf, rf, 0.0, -90.0, k)
    outline += arc(-inner + rf, tb + rf, rf, 270.0, 180.0, k)
    outline += [(-inner, height), (-half, height)]
    body = extrude_xz(polygon(outline), -0.5 * w, 0.5 * w)

    z_pin = height - 0.5 * w
    if p["arm_top"] == "round":
        top = CrossSection.batch_hull([CrossSection.square((w, z_pin + 1.0)).translate(
            (-0.5 * w, -1.0)), CrossSection.circle(0.5 * w, n(0.5 * w)).translate((0.0, z_pin))])
    else:
        c = 0.18 * w
        top = polygon([(-0.5 * w, -1.0), (0.5 * w, -1.0), (0.5 * w, height - c),
                       (0.5 * w - c, height), (-0.5 * w + c, height), (-0.5 * w, height - c)])
    body = body ^ extrude_yz(top, -half - 1.0, half + 1.0)

    r_pin = 0.5 * p["pin_hole"] * w
    parts = [body]
    boss_len = 0.4 * ta + 0.1 * w
    if p["bosses"]:
        r_boss = min(0.5 * w, 1.6 * r_pin)
        boss = along_x(cylinder(boss_len + 0.5 * ta, r_boss, n(r_boss), half - 0.5 * ta))
        parts += [boss.translate((0.0, 0.0, z_pin)),
                  boss.rotate((0.0, 0.0, 180.0)).translate((0.0, 0.0, z_pin))]
    reach = half + boss_len + 1.0
    tools = [along_x(cylinder(2.0 * reach, r_pin, n(r_pin), -reach)).translate((0.0, 0.0, z_pin))]
    span = inner - rf
    d = min(0.25 * w, 0.4 * span)
    x_hole = 0.55 * span
    ys = [0.0] if p["base_holes"] == 2 else [-0.25 * w, 0.25 * w]
    tool = hole_tool("slot" if p["base_slots"] else "round", d, tb, n(0.5 * d),
                     min(2.0 * d, 0.8 * span))
    tools += [tool.translate((sx * x_hole, y, 0.0)) for sx in (-1, 1) for y in ys]
    return subtract(union(parts), tools)


CLAMP_PARAMS = (
    Choice("style", ("collar", "saddle"),
           "split shaft collar with a clamping screw, or pipe saddle clamp with two ears"),
    Uniform("bore", 15.0, 80.0, "clamped diameter (shaft or pipe)", "mm"),
    Uniform("width", 0.35, 0.8, "width along the axis / bore"),
    Uniform("collar_wall", 0.25, 0.5, "collar: radial wall / bore"),
    Uniform("slit", 0.04, 0.1, "collar: slit width / bore"),
    Flag("lug", 0.5, "collar: clamping lugs beside the slit"),
    Uniform("strap", 0.08, 0.16, "saddle: strap thickness / bore"),
    Uniform("ear_length", 0.5, 1.0, "saddle: ear length / bore"),
    Flag("ear_slots", 0.4, "saddle: slotted ear holes"),
)


def _collar(p: dict) -> Manifold:
    """Split shaft collar on the z axis, slit on +x, screw along y."""
    bore = p["bore"]
    r_in = 0.5 * bore
    r_out = r_in + p["collar_wall"] * bore
    w = p["width"] * bore
    slit = p["slit"] * bore
    n = partial(segments, size=2.0 * r_out)
    wall = r_out - r_in
    r_screw = min(0.3 * w, 0.2 * wall, 0.06 * bore + 1.5)
    parts = [tube(0.0, w, r_out, r_in, n(r_out))]
    if p["lug"]:
        lug = 3.5 * r_screw
        x_screw = r_out + 0.5 * lug
        half_y = 0.5 * slit + 3.5 * r_screw
        x0, x1 = r_in + 0.5 * wall, r_out + lug  # from inside the ring wall outwards
        parts.append(chamfered_box((x1 - x0, 2.0 * half_y, w), 0.1 * w,
                                   (0.5 * (x0 + x1), 0.0, 0.5 * w)))
    else:
        x_screw = r_in + 0.5 * wall
        lug = 0.0
        half_y = math.sqrt(max(r_out ** 2 - x_screw ** 2, 0.0))
    reach = r_out + lug + 1.0
    tools = [box((reach - r_in + 2.0, slit, w + 2.0), (0.5 * (reach + r_in), 0.0, 0.5 * w))]
    screw = along_y(cylinder(2.0 * half_y + 2.0, r_screw, n(r_screw), -half_y - 1.0))
    head_from = 0.5 * slit + 2.2 * r_screw
    head = along_y(cylinder(half_y + 1.0 - head_from, 1.7 * r_screw, n(r_screw), head_from))
    tools += [screw.translate((x_screw, 0.0, 0.5 * w)), head.translate((x_screw, 0.0, 0.5 * w))]
    return subtract(union(parts), tools)


def _saddle(p: dict) -> Manifold:
    """Pipe saddle clamp: pipe along y through the origin, ears on z = -bore / 2."""
    r = 0.5 * p["bore"]
    t = max(p["strap"] * p["bore"], 1.0)
    ear = p["ear_length"] * p["bore"]
    w = p["width"] * p["bore"]
    x_end = r + t + ear
    n = partial(segments, size=2.0 * x_end)
    k = max(8, n(r) // 2)
    outline = [(x_end, -r), (x_end, -r + t), (r + t, -r + t)]
    outline += arc(0.0, 0.0, r + t, 0.0, 180.0, k)
    outline += [(-r - t, -r + t), (-x_end, -r + t), (-x_end, -r), (-r, -r)]
    outline += arc(0.0, 0.0, r, 180.0, 0.0, k) + [(r, -r)]
    body = extrude_xz(polygon(outline), -0.5 * w, 0.5 * w)
    rc = 0.3 * w
    body = body ^ rounded_rect(2.0 * x_end, w, rc, n(rc)).extrude(2.0 * r + 2.0 * t).translate(
        (0.0, 0.0, -r - 1.0))
    d = min(0.45 * ear, 0.5 * w)
    kind = "slot" if p["ear_slots"] else "round"
    tool = hole_tool(kind, d, t, n(0.5 * d), min(1.8 * d, 0.8 * ear)).translate((0.0, 0.0, -r))
    x_hole = r + t + 0.5 * ear
    return subtract(body, [tool.translate((sx * x_hole, 0.0, 0.0)) for sx in (-1, 1)])


def build_clamp(p: dict) -> Manifold:
    """A shaft collar or a pipe saddle clamp, depending on ``style``."""
    return _collar(p) if p["style"] == "collar" else _saddle(p)


FAMILIES = (
    Family("l_bracket", "Bent or machined L-bracket with round, slotted or countersunk hole "
           "patterns on both legs, rounded corners and optional gussets.",
           L_BRACKET_PARAMS, build_l_bracket),
    Family("u_bracket", "Clevis (U) bracket with round or chamfered arms, pin hole, optional "
           "bosses, filleted inside corners and base holes or slots.",
           U_BRACKET_PARAMS, build_u_bracket),
    Family("clamp", "Split shaft collar (with or without clamping lugs) or pipe saddle clamp "
           "with two ears.", CLAMP_PARAMS, build_clamp),
)
