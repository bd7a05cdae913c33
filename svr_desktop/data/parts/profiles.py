"""Extruded-profile parts: structural beam segments and finned heat sinks.

Beams are rolled sections (I, H, C, T, angle, rectangular hollow) with root
fillets, cut to length (square or mitred), drilled through the web and the
flanges and optionally welded to an end plate.  Heat sinks are a base plate
with straight, cross-cut or pin fins and mounting holes.
"""

from __future__ import annotations

import math
from functools import partial

import manifold3d as m3d

from .primitives import (CrossSection, Manifold, box, chamfered_box, cylinder, extrude_xz,
                         extrude_yz, holes_z, polygon, rounded_rect, segments, slot,
                         subtract, union)
from .spec import Choice, Family, Flag, Integer, Uniform

BEAM_PARAMS = (
    Choice("profile", ("I", "H", "C", "T", "angle", "box"), "cross-section"),
    Uniform("depth", 40.0, 200.0, "section depth", "mm"),
    Uniform("flange_width", 0.45, 1.0, "flange width / depth (H sections: at least 0.9)"),
    Uniform("web", 0.04, 0.09, "web (box: wall) thickness / depth"),
    Uniform("flange", 0.06, 0.13, "flange (angle: leg) thickness / depth"),
    Uniform("root_radius", 0.3, 1.5, "root fillet radius / web thickness"),
    Uniform("length", 1.5, 4.0, "segment length / depth"),
    Integer("web_holes", 1, 5, "holes through the web along the length"),
    Choice("hole_shape", ("round", "slot", "hexagon"), "web hole shape"),
    Uniform("hole_size", 0.3, 0.6, "web hole height / clear web height"),
    Flag("flange_holes", 0.5, "bolt holes through the flanges near both ends"),
    Choice("end_cut", ("square", "miter"), "cut of the start end"),
    Uniform("miter_angle", 15.0, 45.0, "miter angle (degrees)"),
    Flag("end_plate", 0.3, "end plate with four bolt holes welded to the far end"),
)


def _section(p: dict, d: float, w: float, tw: float,
             tf: float) -> tuple[CrossSection, float, float]:
    """The cross-section in the (y, z) plane, centred; also the web's y extent."""
    def rect(y0, y1, z0, z1):
        return CrossSection.square((y1 - y0, z1 - z0)).translate((y0, z0))

    h, kind = 0.5 * d, p["profile"]
    half = 0.5 * w
    if kind in ("I", "H"):
        parts = [rect(-half, half, h - tf, h), rect(-half, half, -h, -h + tf),
                 rect(-0.5 * tw, 0.5 * tw, -h, h)]
        web = (-0.5 * tw, 0.5 * tw)
    elif kind == "C":
        parts = [rect(-half, half, h - tf, h), rect(-half, half, -h, -h + tf),
                 rect(-half, -half + tw, -h, h)]
        web = (-half, -half + tw)
    elif kind == "T":
        parts = [rect(-half, half, h - tf, h), rect(-0.5 * tw, 0.5 * tw, -h, h)]
        web = (-0.5 * tw, 0.5 * tw)
    elif kind == "angle":
        parts = [rect(-half, -half + tf, -h, h), rect(-half, half, -h, -h + tf)]
        web = (-half, -half + tf)
    else:
        r = 1.5 * tw
        return (rounded_rect(w, d, r, 16) - rounded_rect(w - 2 * tw, d - 2 * tw, 0.5 * r, 16),
                -half, half)
    section = CrossSection.batch_boolean(parts, m3d.OpType.Add)
    r = p["root_radius"] * tw
    if r > 0.2:
        section = section.offset(r, m3d.JoinType.Round, 2.0, 16).offset(
            -r, m3d.JoinType.Round, 2.0, 16)
    return section, web[0] - r, web[1] + r


def _web_window(p: dict, d: float, tw: float, tf: float) -> tuple[float, float]:
    """Centre height and clear height of the part of the web that holes may cut."""
    r = p["root_radius"] * tw
    kind = p["profile"]
    if kind in ("I", "H", "C"):
        return 0.0, d - 2.0 * tf - 2.0 * r
    if kind == "box":
        return 0.0, d - 4.0 * tw
    if kind == "T":
        return -0.5 * tf - 0.5 * r, d - tf - r
    return 0.5 * tf + 0.5 * r, d - tf - r


def _hole_shape(shape: str, height: float, pitch: float) -> CrossSection:
    if shape == "slot":
        return slot(min(2.0 * height, 0.8 * pitch), height, 16)
    if shape == "hexagon":
        return CrossSection.circle(0.5 * height / math.cos(math.pi / 6.0), 6)
    return CrossSection.circle(0.5 * height, 24)


def build_beam(p: dict) -> Manifold:
    """A beam segment along y (cut end towards -y), section depth along z."""
    d = p["depth"]
    w = p["flange_width"] * d
    if p["profile"] == "H":
        w = max(w, 0.9 * d)
    tw, tf = p["web"] * d, p["flange"] * d
    length = p["length"] * d
    section, web_y0, web_y1 = _section(p, d, w, tw, tf)
    body = extrude_yz(section, -0.5 * length, 0.5 * length)
    n = partial(segments, size=length)

    cut = 0.0
    if p["end_cut"] == "miter":
        a = math.radians(p["miter_angle"])
        x0 = -0.5 * length + 0.5 * w * math.tan(a)
        body = body.trim_by_plane((math.cos(a), math.sin(a), 0.0), x0 * math.cos(a))
        cut = w * math.tan(a)
    parts = [body]
    if p["end_plate"]:
        plate_t = 1.2 * tf
        margin = 0.25 * d
        plate = chamfered_box((plate_t, w + 0.2 * d, d + 2.0 * margin), 0.1 * plate_t,
                              (0.5 * length + 0.5 * plate_t - 0.01, 0.0, 0.0))
        r_bolt = 0.18 * margin
        bolts = [cylinder(plate_t + 2.0, r_bolt, n(r_bolt), -1.0).rotate((0.0, 90.0, 0.0))
                 .translate((0.5 * length, y, s * (0.5 * d + 0.5 * margin)))
                 for y in (-0.25 * w, 0.25 * w) for s in (-1.0, 1.0)]
        parts.append(subtract(plate, bolts))

    x_lo, x_hi = -0.5 * length + cut, 0.5 * length
    tools = []
    zc, clear = _web_window(p, d, tw, tf)
    count = p["web_holes"]
    if clear > 0.15 * d:
        span = x_hi - x_lo - 0.6 * clear
        pitch = span / count
        height = min(p["hole_size"] * clear, 0.6 * pitch)
        shape = _hole_shape(p["hole_shape"], height, pitch)
        y0, y1 = web_y0 - 1.0, web_y1 + 1.0
        for i in range(count):
            x = x_lo + 0.3 * clear + (i + 0.5) * pitch
            tools.append(extrude_xz(shape.translate((x, zc)), y0, y1))
    if p["flange_holes"]:
        kind = p["profile"]
        middle = 0.5 * (web_y1 + 0.5 * w)  # of the flange beside the web
        if kind in ("angle", "C"):
            ys = [middle]
        elif kind == "box":
            ys = [0.0]
        else:
            ys = [-middle, middle]
        room = 0.5 * w - tw if kind == "box" else 0.5 * w - web_y1
        r_hole = min(0.3 * room, 0.05 * d + 1.0)
        edge = 3.0 * r_hole
        xs = [x_lo + edge, x_hi - edge]
        tools += holes_z([(x, y) for x in xs for y in ys], r_hole, -0.5 * d - 1.0, 0.5 * d + 1.0,
                         n(r_hole))
    return subtract(union(parts), tools).rotate((0.0, 0.0, 90.0))


HEATSINK_PARAMS = (
    Uniform("length", 40.0, 160.0, "base length across the fins (x)", "mm"),
    Uniform("width", 0.5, 1.2, "base width along the fins (y) / length"),
    Uniform("base_thickness", 0.05, 0.12, "base thickness / length"),
    Uniform("fin_height", 0.2, 0.6, "fin height / length"),
    Integer("fins", 5, 20, "number of fins (pin style: at most 12 per row)"),
    Uniform("fin_fill", 0.25, 0.5, "fin root thickness / fin pitch"),
    Uniform("fin_taper", 0.5, 1.0, "fin tip thickness / root thickness"),
    Choice("style", ("straight", "crosscut", "pin"), "fin style"),
    Integer("crosscuts", 1, 4, "crosscut style: transverse cuts through the fins"),
    Choice("mounting", ("none", "end_tabs", "base_holes"),
           "bare base, base tabs beyond the fins with holes, or holes between the fins"),
    Flag("center_channel", 0.3, "fin-free channel down the middle (clip seat)"),
)


def build_heat_sink(p: dict) -> Manifold:
    """A heat sink: base on z = 0, fins up, fins running along y."""
    length = p["length"]
    width, tb = p["width"] * length, p["base_thickness"] * length
    hf = p["fin_height"] * length
    n = partial(segments, size=max(length, width))
    fins = min(p["fins"], 12) if p["style"] == "pin" else p["fins"]
    pitch = length / fins
    root = max(p["fin_fill"] * pitch, 0.8)
    tip = p["fin_taper"] * root
    tab = 0.12 * width if p["mounting"] == "end_tabs" else 0.0
    fin_w = width - 2.0 * tab
    xs = [-0.5 * length + (i + 0.5) * pitch for i in range(fins)]
    if p["center_channel"] and fins >= 5:
        xs = [x for x in xs if abs(x) > 0.6 * pitch + (0.5 * pitch if fins % 2 else 0.0)]

    base = chamfered_box((length, width, tb), 0.15 * tb, (0.0, 0.0, 0.5 * tb))
    parts = [base]
    if p["style"] == "pin":
        rows = max(2, min(12, round(fin_w / pitch)))
        ys = [-0.5 * fin_w + (j + 0.5) * fin_w / rows for j in range(rows)]
        pin = Manifold.cylinder(hf + 0.5, 0.5 * root, 0.5 * tip, 12).translate((0.0, 0.0, tb - 0.5))
        parts += [pin.translate((x, y, 0.0)) for x in xs for y in ys]
    else:
        fin = polygon([(-0.5 * root, tb - 0.5), (0.5 * root, tb - 0.5),
                       (0.5 * tip, tb + hf), (-0.5 * tip, tb + hf)])
        comb = CrossSection.batch_boolean([fin.translate((x, 0.0)) for x in xs], m3d.OpType.Add)
        parts.append(extrude_xz(comb, -0.5 * fin_w, 0.5 * fin_w))
    body = union(parts)

    tools = []
    if p["style"] == "crosscut":
        k = p["crosscuts"]
        gap = min(0.5 * pitch + 1.0, 0.3 * fin_w / k)
        for j in range(k):
            y = -0.5 * fin_w + (j + 1) * fin_w / (k + 1)
            tools.append(box((length + 2.0, gap, hf), (0.0, y, tb + 0.15 * hf + 0.5 * hf)))
    if p["mounting"] == "end_tabs":
        r_hole = min(0.3 * tab, 0.04 * length + 1.0)
        tools += holes_z([(sx * 0.35 * length, sy * (0.5 * width - 0.5 * tab))
                          for sx in (-1, 1) for sy in (-1, 1)], r_hole, -1.0, tb + 1.0, n(r_hole))
    elif p["mounting"] == "base_holes" and len(xs) >= 3:
        gap = pitch - root
        r_hole = 0.35 * gap
        if r_hole > 0.6:
            gaps = [0.5 * (xs[0] + xs[1]), 0.5 * (xs[-2] + xs[-1])]
            tools += holes_z([(x, sy * 0.35 * fin_w) for x in gaps for sy in (-1, 1)],
                             r_hole, -1.0, tb + 1.0, n(r_hole))
    return subtract(body, tools)


FAMILIES = (
    Family("beam", "Structural beam segment (I, H, C, T, angle or box section) with root "
           "fillets, web holes (round, slotted, hexagonal), flange holes, mitre cut and "
           "end plate.", BEAM_PARAMS, build_beam),
    Family("heat_sink", "Finned heat sink: straight, cross-cut or pin fins on a base with end "
           "tabs or holes.", HEATSINK_PARAMS, build_heat_sink),
)
