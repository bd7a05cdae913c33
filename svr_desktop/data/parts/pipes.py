"""Hollow pipe fittings: elbows, tees and concentric reducers.

All three have a wall of constant thickness and an end connection
(:mod:`.pipe_ports`) on every opening: bevelled plain ends, weld-neck
flanges with bolt circles, socket-weld collars or threaded (beaded) collars.
Fittings are hollow and open at their ends, so the bore shows in every view.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from .pipe_ports import END_STYLES, axial_bore, axial_solid, chain, make_port
from .primitives import Manifold, along_x, revolve, segments, subtract, union
from .spec import Choice, Family, Uniform

_END_PARAMS = (
    Choice("ends", END_STYLES, "end connection style"),
    Uniform("flange_diameter", 1.6, 2.2, "flange diameter / pipe diameter (flanged ends)"),
    Choice("bolt_count", (4, 6, 8), "bolts per flange (flanged ends)"),
)

ELBOW_PARAMS = (
    Uniform("pipe_diameter", 30.0, 160.0, "pipe outer diameter", "mm"),
    Uniform("wall", 0.06, 0.15, "wall thickness / pipe diameter"),
    Choice("angle", (30, 45, 60, 90), "bend angle (degrees)"),
    Uniform("bend_radius", 1.0, 2.0, "bend centreline radius / pipe diameter"),
    Uniform("straight", 0.0, 0.6, "straight pipe before each end connection / pipe diameter"),
) + _END_PARAMS


def _port(p: dict, diameter: float, straight: float):
    """The family's end connection for a pipe of outer ``diameter``."""
    return make_port(p["ends"], 0.5 * diameter, p["wall"] * diameter, straight,
                     p["flange_diameter"], p["bolt_count"])


def bend_warp(radius: float, angle_deg: float):
    """Vertex map that bends the z axis between 0 and the arc length into an arc.

    Points with z < 0 stay; the stretch ``0 <= z <= radius * angle`` is wrapped
    around a circle of ``radius`` centred on (radius, 0, 0), turning from +z
    towards +x; the rest follows rigidly.  Bending one revolved straight
    fitting this way gives a seamless elbow with exact end connections.
    """
    angle = math.radians(angle_deg)
    arc = radius * angle

    def warp(v: np.ndarray) -> np.ndarray:
        x, y, z = v[:, 0], v[:, 1], v[:, 2]
        phi = np.clip(z, 0.0, arc) / radius
        beyond = np.clip(z - arc, 0.0, None)
        out = np.empty_like(v)
        out[:, 0] = radius - (radius - x) * np.cos(phi) + beyond * np.sin(phi)
        out[:, 1] = y
        out[:, 2] = (radius - x) * np.sin(phi) + beyond * np.cos(phi) + np.minimum(z, 0.0)
        return out

    return warp


def build_elbow(p: dict) -> Manifold:
    """A pipe bend: one end along -z from the origin, turning towards +x."""
    d = p["pipe_diameter"]
    bend = p["bend_radius"] * d
    port = _port(p, d, p["straight"] * d)
    arc = bend * math.radians(p["angle"])
    n = partial(segments, size=2.0 * (bend + port.length + port.collar_radius))
    divisions = max(4, round(n(bend) * p["angle"] / 360.0))
    outer, inner = chain(port, port, gap=arc, divisions=divisions)
    n_hole = n(0.05 * d)
    holes = port.placed(0.0, -1.0).bolt_holes(n_hole) + port.placed(arc, 1.0).bolt_holes(n_hole)
    straight = subtract(revolve(outer + inner[::-1], n(port.collar_radius)), holes)
    return straight.warp_batch(bend_warp(bend, p["angle"]))


TEE_PARAMS = (
    Uniform("run_diameter", 30.0, 140.0, "run pipe outer diameter", "mm"),
    Uniform("branch_ratio", 0.5, 1.0, "branch diameter / run diameter"),
    Uniform("wall", 0.06, 0.15, "wall thickness / pipe diameter"),
    Uniform("run_length", 0.8, 1.5, "centre-to-end length of the run / run diameter "
            "(lengthened where collars would collide)"),
    Uniform("branch_length", 0.8, 1.5, "centre-to-end length of the branch / run diameter"),
) + _END_PARAMS


def build_tee(p: dict) -> Manifold:
    """A tee with its run along x and its branch towards +z."""
    d_run = p["run_diameter"]
    d_branch = p["branch_ratio"] * d_run
    probe_run, probe_branch = _port(p, d_run, 0.0), _port(p, d_branch, 0.0)
    margin = 0.1 * d_run
    run_len = max(p["run_length"] * d_run,
                  probe_branch.collar_radius + probe_run.length + margin)
    branch_len = max(p["branch_length"] * d_run,
                     probe_run.collar_radius + probe_branch.length + margin)
    run = _port(p, d_run, run_len - probe_run.length)
    branch = _port(p, d_branch, branch_len - probe_branch.length)
    n = partial(segments, size=2.0 * run_len)
    n_run, n_branch, n_hole = n(run.collar_radius), n(branch.collar_radius), n(0.1 * d_run)

    outer, inner = chain(run, run)
    solid = union([along_x(revolve(axial_solid(outer), n_run)),
                   revolve(axial_solid(branch.outer), n_branch)])
    tools = [along_x(revolve(axial_bore(inner), n_run)),
             revolve(axial_bore(branch.inner), n_branch)]
    tools += [along_x(hole) for hole in run.placed(0.0, 1.0).bolt_holes(n_hole)]
    tools += [along_x(hole) for hole in run.placed(0.0, -1.0).bolt_holes(n_hole)]
    tools += branch.bolt_holes(n_hole)
    return subtract(solid, tools)


REDUCER_PARAMS = (
    Uniform("large_diameter", 40.0, 160.0, "outer diameter of the large end", "mm"),
    Uniform("ratio", 0.45, 0.8, "small / large diameter"),
    Uniform("wall", 0.06, 0.12, "wall thickness / pipe diameter (each end)"),
    Uniform("cone_length", 0.4, 1.0, "length of the cone / large diameter"),
    Uniform("straight", 0.0, 0.4, "straight pipe before each end connection / large diameter"),
) + _END_PARAMS


def build_reducer(p: dict) -> Manifold:
    """A concentric reducer on the z axis, large end towards -z."""
    d_large = p["large_diameter"]
    d_small = p["ratio"] * d_large
    straight = p["straight"] * d_large
    large, small = _port(p, d_large, straight), _port(p, d_small, straight)
    cone = p["cone_length"] * d_large
    outer, inner = chain(large, small, gap=cone)
    n = partial(segments, size=large.length + cone + small.length)
    body = revolve(outer + inner[::-1], n(large.collar_radius))
    holes = large.placed(0.0, -1.0).bolt_holes(n(0.05 * d_large))
    holes += small.placed(cone, 1.0).bolt_holes(n(0.05 * d_small))
    return subtract(body, holes)


FAMILIES = (
    Family("pipe_elbow", "Hollow 30-90 degree pipe elbow with plain, flanged, socket or "
           "threaded ends.", ELBOW_PARAMS, build_elbow),
    Family("pipe_tee", "Hollow equal or reducing tee with plain, flanged, socket or threaded "
           "ends.", TEE_PARAMS, build_tee),
    Family("pipe_reducer", "Hollow concentric reducer with plain, flanged, socket or threaded "
           "ends.", REDUCER_PARAMS, build_reducer),
)
