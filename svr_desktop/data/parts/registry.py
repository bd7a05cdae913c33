"""The registry of part families and the generation entry points.

``FAMILIES`` maps a family name to its :class:`~.spec.Family` record.
:func:`generate_part` draws the family's parameters from a numpy
``Generator`` and builds the solid, so a fixed seed always gives the same
mesh; the drawn ``params`` are returned with the mesh so a data set can record
them and :func:`build_part` can rebuild the part later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from . import brackets, discs, fasteners, gears, housings, pipes, profiles, shafts, valves
from .primitives import to_trimesh
from .spec import Family

FAMILIES: dict[str, Family] = {
    family.name: family
    for module in (discs, gears, shafts, fasteners, pipes, valves, brackets, housings, profiles)
    for family in module.FAMILIES
}


@dataclass
class GeneratedPart:
    """One generated part: its family, the parameters drawn and the mesh (mm)."""

    family: str
    params: dict
    mesh: trimesh.Trimesh


def family_names() -> list[str]:
    """Names of all registered families, in registry order."""
    return list(FAMILIES)


def build_part(family: str, params: dict) -> trimesh.Trimesh:
    """Build the mesh of ``family`` for an explicit (e.g. recorded) params dict."""
    solid = FAMILIES[family].build(params)
    if solid.is_empty():
        raise RuntimeError(f"{family} produced an empty solid ({solid.status()}) for {params}")
    return to_trimesh(solid)


def generate_part(family: str, rng: np.random.Generator) -> GeneratedPart:
    """Draw parameters for ``family`` from ``rng`` and build the part."""
    params = FAMILIES[family].sample_params(rng)
    return GeneratedPart(family=family, params=params, mesh=build_part(family, params))


def random_part(rng: np.random.Generator) -> GeneratedPart:
    """A part of a family chosen uniformly at random, then drawn from ``rng``."""
    names = family_names()
    return generate_part(names[int(rng.integers(len(names)))], rng)
