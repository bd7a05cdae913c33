"""Parameter specifications and the :class:`Family` record.

A family declares its parameters as a tuple of independent draws (uniform
floats or lists of them, integers, choices, flags), each with a documented range.  Geometric
constraints between parameters are handled by the family's ``build``: most
parameters are fractions of a main dimension, so every combination inside the
ranges gives a valid part.  Sampled values are rounded and converted to plain
Python types, so the recorded ``params`` dict is JSON-serializable and
``family.build(params)`` rebuilds exactly the same solid from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Union

import manifold3d as m3d
import numpy as np

#: Decimals kept for sampled floats (1 micrometre when the unit is mm).
_DECIMALS = 3


@dataclass(frozen=True)
class Uniform:
    """A float drawn uniformly from ``[lo, hi]``."""

    name: str
    lo: float
    hi: float
    doc: str
    unit: str = ""

    def sample(self, rng: np.random.Generator) -> float:
        return round(float(rng.uniform(self.lo, self.hi)), _DECIMALS)

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.lo:g} – {self.hi:g}{unit}"


@dataclass(frozen=True)
class UniformList:
    """``count`` floats, each drawn uniformly from ``[lo, hi]``.

    For per-element values of a variable number of elements (e.g. shaft
    steps): the family uses as many of them as it needs.
    """

    name: str
    lo: float
    hi: float
    count: int
    doc: str

    def sample(self, rng: np.random.Generator) -> list[float]:
        return [round(float(v), _DECIMALS) for v in rng.uniform(self.lo, self.hi, self.count)]

    def describe(self) -> str:
        return f"{self.count} × ({self.lo:g} – {self.hi:g})"


@dataclass(frozen=True)
class Integer:
    """An integer drawn uniformly from ``lo..hi`` (both included)."""

    name: str
    lo: int
    hi: int
    doc: str

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.lo, self.hi + 1))

    def describe(self) -> str:
        return f"{self.lo} – {self.hi}"


@dataclass(frozen=True)
class Choice:
    """One of ``options``, each equally likely."""

    name: str
    options: tuple
    doc: str

    def sample(self, rng: np.random.Generator) -> Any:
        value = self.options[int(rng.integers(len(self.options)))]
        return value.item() if isinstance(value, np.generic) else value

    def describe(self) -> str:
        return "{" + ", ".join(str(o) for o in self.options) + "}"


@dataclass(frozen=True)
class Flag:
    """``True`` with probability ``p``."""

    name: str
    p: float
    doc: str

    def sample(self, rng: np.random.Generator) -> bool:
        return bool(rng.random() < self.p)

    def describe(self) -> str:
        return f"yes with p = {self.p:g}"


Param = Union[Uniform, UniformList, Integer, Choice, Flag]


@dataclass(frozen=True)
class Family:
    """A parametric family of parts.

    ``params`` are sampled in their declared order (so a fixed seed gives a
    fixed part); ``build`` turns a params dict into a manifold solid in mm.
    """

    name: str
    description: str
    params: tuple[Param, ...]
    build: Callable[[dict], m3d.Manifold]

    def sample_params(self, rng: np.random.Generator) -> dict:
        return {p.name: p.sample(rng) for p in self.params}
