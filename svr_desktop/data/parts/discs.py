"""Disc-like turned parts: pipe flanges and V-belt pulleys.

Both start from a revolved ``(radius, z)`` profile, which gives chamfers,
raised faces, hubs and V-grooves directly, and then get their hole patterns,
keyways and set-screw holes cut.  Most parameters are fractions of the outer
diameter, so any draw inside the documented ranges gives a valid part.
"""

from __future__ import annotations

import math
from functools import partial

from .primitives import (Manifold, along_y, box, cylinder, holes_z, revolve, ring_positions,
                         segments, subtract, tube, union)
from .spec import Choice, Family, Flag, Integer, Uniform

FLANGE_PARAMS = (
    Choice("style", ("weld_neck", "slip_on", "blind", "plate"),
           "hub style: tapered welding neck, straight slip-on hub, blind (no bore), "
           "plate (no hub)"),
    Uniform("outer_diameter", 80.0, 320.0, "outer diameter", "mm"),
    Uniform("thickness", 0.08, 0.16, "disc thickness / outer diameter"),
    Uniform("bore", 0.25, 0.5, "bore diameter / outer diameter (no bore when blind)"),
    Uniform("hub_wall", 0.1, 0.2, "hub wall at its root / outer radius"),
    Uniform("hub_height", 0.6, 1.8, "hub height / disc thickness"),
    Choice("bolt_count", (4, 6, 8, 12, 16), "number of bolt holes"),
    Uniform("bolt_hole", 0.35, 0.65, "bolt hole diameter / width of the bolt ring"),
    Flag("raised_face", 0.6, "raised sealing face on the front"),
    Uniform("raised_face_height", 0.08, 0.2, "raised face height / disc thickness"),
    Uniform("rim_chamfer", 0.05, 0.25, "rim chamfer / disc thickness"),
    Flag("spot_faces", 0.4, "bolt holes spot-faced on the back"),
)


def build_flange(p: dict) -> Manifold:
    """A pipe flange on the z axis: front (sealing) face at z = 0, hub towards +z."""
    outer = 0.5 * p["outer_diameter"]
    n = partial(segments, size=p["outer_diameter"])
    t = p["thickness"] * p["outer_diameter"]
    style = p["style"]
    r_bore = 0.0 if style == "blind" else p["bore"] * outer
    r_hub = 0.45 * outer if style == "blind" else r_bore + p["hub_wall"] * outer
    ring = outer - r_hub
    r_bolts = r_hub + 0.5 * ring
    count = p["bolt_count"]
    r_hole = min(0.5 * p["bolt_hole"] * ring, 0.5 * math.pi * r_bolts / count)
    c = p["rim_chamfer"] * t
    z_front = 0.0
    profile = []
    if p["raised_face"]:
        z_front = -p["raised_face_height"] * t
        r_face = r_bolts - r_hole - 0.03 * outer
        profile += [(r_bore, z_front), (r_face, z_front), (r_face, 0.0)]
    else:
        profile += [(r_bore, 0.0)]
    profile += [(outer - c, 0.0), (outer, c), (outer, t - c), (outer - c, t)]
    z_top = t
    if style in ("weld_neck", "slip_on"):
        z_top = t + p["hub_height"] * t
        if style == "weld_neck":
            r_neck = r_bore + 0.4 * (r_hub - r_bore)
            wall = r_neck - r_bore
            profile += [(r_hub, t), (r_neck, z_top - 0.5 * wall), (r_neck - 0.38 * wall, z_top)]
        else:
            ch = 0.2 * (r_hub - r_bore)
            profile += [(r_hub, t), (r_hub, z_top - ch), (r_hub - ch, z_top)]
    profile += [(r_bore, z_top)]
    body = revolve(profile, n(outer))

    positions = ring_positions(r_bolts, count, 180.0 / count)
    tools = holes_z(positions, r_hole, z_front - 1.0, t + 1.0, n(r_hole))
    r_spot = min(1.7 * r_hole, r_bolts - r_hub - 0.01 * outer, outer - r_bolts - 0.01 * outer)
    if p["spot_faces"] and r_spot > 1.15 * r_hole:
        tools += holes_z(positions, r_spot, 0.92 * t, z_top + 1.0, n(r_spot))
    return subtract(body, tools)


PULLEY_PARAMS = (
    Uniform("outer_diameter", 60.0, 260.0, "outer diameter", "mm"),
    Integer("grooves", 1, 4, "number of V-grooves"),
    Choice("groove_angle", (34, 36, 38), "included angle of the V-grooves (degrees)"),
    Uniform("groove_width", 0.06, 0.12, "groove top width / outer diameter"),
    Uniform("groove_depth", 0.8, 1.2, "groove depth / groove top width"),
    Uniform("rim_thickness", 0.04, 0.08, "rim thickness under the grooves / outer diameter"),
    Uniform("hub_diameter", 0.28, 0.42, "hub diameter / outer diameter"),
    Uniform("hub_length", 0.8, 1.4, "hub length / rim width"),
    Choice("hub_side", ("both", "one"), "hub protrudes on both sides or on one side"),
    Choice("web", ("solid", "thin", "holes"), "solid disc, thin web, or thin web with holes"),
    Uniform("web_thickness", 0.3, 0.5, "thin web thickness / rim width"),
    Integer("web_holes", 3, 6, "number of lightening holes in the web"),
    Uniform("bore", 0.35, 0.6, "bore diameter / hub diameter"),
    Flag("keyway", 0.7, "keyway in the bore"),
    Flag("set_screw", 0.5, "radial set-screw hole (where the hub protrudes enough)"),
)


def build_pulley(p: dict) -> Manifold:
    """A V-belt pulley on the z axis, centred on the rim."""
    outer = 0.5 * p["outer_diameter"]
    n = partial(segments, size=p["outer_diameter"])
    top = p["groove_width"] * p["outer_diameter"]
    pitch, edge = 1.25 * top, 0.65 * top
    width = (p["grooves"] - 1) * pitch + top + 2.0 * edge
    depth = p["groove_depth"] * top
    bottom = top - 2.0 * depth * math.tan(math.radians(0.5 * p["groove_angle"]))
    r_rim = outer - depth - p["rim_thickness"] * p["outer_diameter"]
    c = 0.3 * edge
    half = 0.5 * width
    rim = [(r_rim, -half), (outer - c, -half), (outer, -half + c)]
    for i in range(p["grooves"]):
        zc = -half + edge + 0.5 * top + i * pitch
        rim += [(outer, zc - 0.5 * top), (outer - depth, zc - 0.5 * bottom),
                (outer - depth, zc + 0.5 * bottom), (outer, zc + 0.5 * top)]
    rim += [(outer, half - c), (outer - c, half), (r_rim, half)]

    r_hub = p["hub_diameter"] * outer
    r_bore = p["bore"] * r_hub
    hub_len = p["hub_length"] * width
    z0, z1 = (-0.5 * hub_len, 0.5 * hub_len) if p["hub_side"] == "both" else (-half, hub_len - half)
    ch = 0.15 * (r_hub - r_bore)
    hub = [(r_bore, z0), (r_hub - ch, z0), (r_hub, z0 + ch),
           (r_hub, z1 - ch), (r_hub - ch, z1), (r_bore, z1)]
    web_t = width if p["web"] == "solid" else p["web_thickness"] * width
    r_web_in, r_web_out = 0.5 * (r_bore + r_hub), r_rim + 0.3 * (outer - depth - r_rim)
    web = tube(-0.5 * web_t, 0.5 * web_t, r_web_out, r_web_in, n(r_web_out))
    body = union([revolve(rim, n(outer)), web, revolve(hub, n(r_hub))])

    tools = []
    span = r_rim - r_hub
    if p["web"] == "holes" and span > 0.1 * outer:
        rc = 0.5 * (r_hub + r_rim)
        r_hole = min(0.32 * span, 0.3 * math.pi * rc / p["web_holes"])
        tools += holes_z(ring_positions(rc, p["web_holes"], 90.0), r_hole, -width, width, n(r_hole))
    key_w = 0.5 * r_bore
    if p["keyway"]:
        tools.append(box((key_w, r_bore + 0.45 * key_w, z1 - z0 + 2.0),
                         (0.0, 0.5 * (r_bore + 0.45 * key_w), 0.5 * (z0 + z1))))
    r_screw = min(0.35 * (r_hub - r_bore), 0.08 * hub_len + 0.2)
    protrusion = z1 - half
    if p["set_screw"] and protrusion > 2.5 * r_screw:
        screw = along_y(cylinder(r_hub + 1.0, r_screw, n(r_screw)))
        tools.append(screw.translate((0.0, 0.0, half + 0.5 * protrusion)))
    return subtract(body, tools)


FAMILIES = (
    Family("flange", "Pipe flange: weld-neck, slip-on, blind or plate, with a bolt circle, "
           "optional raised face and spot faces.", FLANGE_PARAMS, build_flange),
    Family("v_pulley", "V-belt pulley with 1-4 grooves, hub, solid or thin web with "
           "lightening holes, bore, keyway and set screw.", PULLEY_PARAMS, build_pulley),
)
