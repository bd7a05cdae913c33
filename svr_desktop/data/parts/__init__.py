"""Procedural industrial parts for the synthetic data set.

Each family (flange, gear, bracket, ...) is a parametric watertight solid
built with manifold3d booleans, with randomized dimensions and features
(holes, slots, teeth, fins, chamfers): the edges and fine details that the
reconstruction method is about.  See ``docs/dataset.md`` for the families and
their parameter ranges.

    part = generate_part("spur_gear", np.random.default_rng(0))
    part.mesh        # watertight trimesh.Trimesh in mm
    part.params      # JSON-serializable dict of the drawn parameters
"""

from .registry import FAMILIES, GeneratedPart, build_part, family_names, generate_part, random_part
from .spec import Family

__all__ = ["FAMILIES", "Family", "GeneratedPart", "build_part", "family_names",
           "generate_part", "random_part"]
