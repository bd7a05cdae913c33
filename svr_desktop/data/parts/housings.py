"""Cast housings: pillow-block bearing housings and open gearbox-style boxes.

Both are built like castings: a main body (hulls and rounded boxes) with
bosses, ribs, feet and flanges added, then machined features cut: bearing
bores with lips and seal grooves, bolt holes, slots, counterbores, drain holes.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .primitives import (Manifold, along_x, along_y, box, chamfered_box, chamfered_cylinder,
                         counterbored_holes, cylinder, holes_z, rounded_rect, segments, slot,
                         subtract, tube, union)
from .spec import Choice, Family, Flag, Integer, Uniform

PILLOW_PARAMS = (
    Uniform("bearing_diameter", 35.0, 130.0, "bearing seat diameter", "mm"),
    Uniform("wall", 0.18, 0.32, "housing wall around the seat / seat diameter"),
    Uniform("center_height", 0.75, 1.1,
            "shaft axis height / seat diameter (raised to clear the base)"),
    Uniform("base_length", 2.3, 3.2, "base length / seat diameter (lengthened to fit the bolts)"),
    Uniform("base_width", 0.45, 0.7, "base width (along the shaft) / seat diameter"),
    Uniform("base_thickness", 0.16, 0.26, "base thickness / seat diameter"),
    Uniform("housing_width", 1.0, 1.3, "housing width / base width"),
    Choice("mounting", ("holes", "slots", "counterbored"), "bolt holes in the feet"),
    Choice("ends", ("open", "lips", "lips_and_seal_grooves"),
           "open seat, end lips around a smaller shaft bore, or lips with seal grooves"),
    Uniform("shaft_bore", 0.5, 0.7, "shaft bore in the lips / seat diameter"),
    Flag("grease_nipple", 0.7, "grease-nipple boss on top"),
    Flag("base_recess", 0.5, "relief recess under the base between the feet"),
)


def _seat_tools(p: dict, r_seat: float, width: float, n) -> Manifold:
    """The machined seat on the y axis: bore, optional end lips and seal grooves."""
    reach = 0.5 * width + 1.0
    if p["ends"] == "open":
        return along_y(cylinder(2.0 * reach, r_seat, n(r_seat), -reach))
    lip = 0.15 * width
    r_shaft = p["shaft_bore"] * r_seat
    tools = [along_y(cylinder(width - 2.0 * lip, r_seat, n(r_seat), lip - 0.5 * width)),
             along_y(cylinder(2.0 * reach, r_shaft, n(r_seat), -reach))]
    if p["ends"] == "lips_and_seal_grooves":
        r_groove = r_shaft + 0.45 * (r_seat - r_shaft)
        y = 0.5 * width - 0.5 * lip
        tools += [along_y(tube(s * y - 0.2 * lip, s * y + 0.2 * lip, r_groove, 0.0, n(r_seat)))
                  for s in (-1.0, 1.0)]
    return union(tools)


def build_pillow_block(p: dict) -> Manifold:
    """A pillow block: base on z = 0, shaft axis along y at the centre height."""
    d = p["bearing_diameter"]
    r_seat = 0.5 * d
    r_house = r_seat + p["wall"] * d
    tb = p["base_thickness"] * d
    wb = p["base_width"] * d
    wh = p["housing_width"] * wb
    hc = max(p["center_height"] * d, tb + 0.6 * r_house)
    r_bolt = min(0.16 * wb, 0.07 * d + 1.0)
    lb = max(p["base_length"] * d, 2.0 * (r_house + 5.0 * r_bolt))
    n = partial(segments, size=lb)
    n_bolt = n(r_bolt)

    housing = along_y(cylinder(wh, r_house, n(r_house), -0.5 * wh)).translate((0.0, 0.0, hc))
    web = along_y(cylinder(wb, r_house, n(r_house), -0.5 * wb)).translate((0.0, 0.0, hc))
    pedestal = Manifold.batch_hull([web, box((2.0 * r_house, wb, tb), (0.0, 0.0, 0.5 * tb))])
    parts = [chamfered_box((lb, wb, tb), 0.12 * tb, (0.0, 0.0, 0.5 * tb)), pedestal, housing]
    tools = []
    if p["grease_nipple"]:
        r_boss = 0.08 * d + 1.0
        top = hc + r_house + 0.1 * d
        parts.append(chamfered_cylinder(top - hc, r_boss, n(r_boss), top=0.2 * r_boss)
                     .translate((0.0, 0.0, hc)))
        tools.append(cylinder(top - hc + 1.0, 0.4 * r_boss, n(r_boss), hc))

    tools.append(_seat_tools(p, r_seat, wh, n).translate((0.0, 0.0, hc)))

    foot = 0.5 * lb - r_house
    x_bolt = r_house + 0.5 * foot
    positions = [(-x_bolt, 0.0), (x_bolt, 0.0)]
    if p["mounting"] == "slots":
        sl = min(4.8 * r_bolt, foot - 2.0 * r_bolt)
        tools += [slot(sl, 2.0 * r_bolt, n_bolt).extrude(tb + 2.0)
                  .translate((x, y, -1.0)) for x, y in positions]
    elif p["mounting"] == "counterbored":
        tools += counterbored_holes(positions, r_bolt, 0.0, tb, 1.7 * r_bolt, 0.35 * tb,
                                    n_bolt, n(1.7 * r_bolt))
    else:
        tools += holes_z(positions, r_bolt, -1.0, tb + 1.0, n_bolt)
    if p["base_recess"]:
        tools.append(box((1.6 * r_house, wb + 2.0, 0.7 * tb), (0.0, 0.0, 0.0)))
    return subtract(union(parts), tools)


BOX_PARAMS = (
    Uniform("length", 60.0, 240.0, "outer length (x)", "mm"),
    Uniform("width", 0.5, 1.0, "outer width / length"),
    Uniform("height", 0.3, 0.8, "height / length"),
    Uniform("wall", 0.035, 0.07, "wall thickness / length"),
    Uniform("floor", 1.0, 2.0, "floor thickness / wall"),
    Uniform("corner_radius", 0.0, 0.15, "vertical corner radius / length (at least half a wall)"),
    Flag("top_flange", 0.7, "bolting flange around the open top"),
    Integer("flange_bolts", 2, 5, "flange bolts along each long side"),
    Integer("bearing_bosses", 0, 2, "coaxial bearing-boss pairs through the side walls"),
    Flag("ribs", 0.5, "stiffening ribs under the bosses"),
    Flag("feet", 0.6, "mounting feet with two holes at both ends"),
    Flag("drain", 0.4, "drain boss with a hole in an end wall"),
)


def build_box_housing(p: dict) -> Manifold:
    """An open-top box housing standing on z = 0, centred on the z axis."""
    length = p["length"]
    width, height = p["width"] * length, p["height"] * length
    t = p["wall"] * length
    floor = p["floor"] * t
    rc = max(p["corner_radius"] * length, 0.5 * t)
    n = partial(segments, size=length)
    outline = rounded_rect(length, width, rc, n(rc))
    parts = [outline.extrude(height)]
    tools = [rounded_rect(length - 2.0 * t, width - 2.0 * t, max(rc - t, 0.3 * t), n(rc))
             .extrude(height).translate((0.0, 0.0, floor))]

    tf = 1.3 * t
    if p["top_flange"]:
        fw = max(2.5 * t, 0.06 * length)
        parts.append(rounded_rect(length + 2.0 * fw, width + 2.0 * fw, rc + fw, n(rc + fw))
                     .extrude(tf).translate((0.0, 0.0, height - tf)))
        r_bolt = 0.22 * fw
        xs = np.linspace(-0.5 * length + rc, 0.5 * length - rc, p["flange_bolts"])
        positions = [(x, s * (0.5 * width + 0.5 * fw)) for x in xs for s in (-1, 1)]
        positions += [(s * (0.5 * length + 0.5 * fw), 0.0) for s in (-1, 1)]
        tools += holes_z(positions, r_bolt, height - tf - 1.0, height + 1.0, n(r_bolt))

    count = p["bearing_bosses"]
    if count:
        spacing = length / count
        r_boss = min(0.3 * height, 0.3 * spacing)
        z_boss = height - r_boss - (tf if p["top_flange"] else 0.0) - 0.5 * t
        z_boss = max(z_boss, floor + r_boss)
        reach = 0.35 * r_boss + t
        for i in range(count):
            x = -0.5 * length + (i + 0.5) * spacing
            for s in (-1.0, 1.0):
                boss = along_y(cylinder(reach + 0.5 * t, r_boss, n(r_boss), 0.5 * width - 0.5 * t))
                parts.append(boss.rotate((0.0, 0.0, 0.0 if s > 0 else 180.0))
                             .translate((x, 0.0, z_boss)))
                if p["ribs"]:
                    rib_h = z_boss - 0.5 * r_boss
                    parts.append(box((t, 0.9 * reach, rib_h),
                                     (x, s * (0.5 * width + 0.45 * reach - 0.25 * t), 0.5 * rib_h)))
            bore = along_y(cylinder(width + 2.0 * reach + 2.0, 0.55 * r_boss, n(r_boss),
                                    -0.5 * width - reach - 1.0))
            tools.append(bore.translate((x, 0.0, z_boss)))

    if p["feet"]:
        foot = max(0.12 * length, 3.0 * t)
        tfoot = 1.5 * t
        r_hole = 0.2 * foot
        for s in (-1.0, 1.0):
            x = s * (0.5 * length + 0.5 * foot - 0.5 * t)
            parts.append(chamfered_box((foot + t, width, tfoot), 0.2 * t, (x, 0.0, 0.5 * tfoot)))
            tools += holes_z([(s * (0.5 * length + 0.5 * foot), y) for y in
                              (-0.3 * width, 0.3 * width)], r_hole, -1.0, tfoot + 1.0, n(r_hole))

    if p["drain"]:
        r_drain = 0.06 * min(height, width) + 2.0
        z = floor + r_drain + 0.5 * t
        boss = along_x(chamfered_cylinder(t + 0.6 * r_drain, r_drain, n(r_drain),
                                          top=0.15 * r_drain))
        parts.append(boss.rotate((0.0, 0.0, 180.0)).translate((-0.5 * length + 0.5 * t, 0.0, z)))
        tools.append(along_x(cylinder(2.0 * t + r_drain + 2.0, 0.45 * r_drain, n(r_drain)))
                     .rotate((0.0, 0.0, 180.0)).translate((-0.5 * length + 1.5 * t, 0.0, z)))
    return subtract(union(parts), tools)


FAMILIES = (
    Family("pillow_block", "Pillow-block bearing housing: base with holes, slots or "
           "counterbores, bearing seat with optional lips and seal grooves, grease boss.",
           PILLOW_PARAMS, build_pillow_block),
    Family("box_housing", "Open gearbox-style housing: rounded box with bolted top flange, "
           "bearing bosses, ribs, feet and drain boss.", BOX_PARAMS, build_box_housing),
)
