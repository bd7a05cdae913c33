"""What a user asks of an export: its file format, the extent a real size
measures, and how many faces it keeps.

Plain Python on purpose (no numpy or trimesh): the command line offers and
checks these options while it parses them, before anything heavy is
imported (issue 15).  :mod:`.export` writes the files, :mod:`.simplify`
meets the face target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from .settings import MIN_FACE_BUDGET

#: Extensions :func:`.export.export_mesh` writes (lower case, without the dot).
EXPORT_EXTENSIONS = ("stl", "obj", "ply", "glb")
#: Extensions :func:`.export.export_point_cloud` writes.
POINT_CLOUD_EXTENSIONS = ("ply",)
#: Bounding-box dimensions a real size can be given for.
DIMENSIONS = ("x", "y", "z", "longest")
#: Everyday names of the axis dimensions (view frame: x right, y up, z towards the camera).
DIMENSION_ALIASES = {"width": "x", "height": "y", "depth": "z"}

#: Default bound on the deviation of an export from the full mesh, as a share of
#: the part's size: 0.2 % (0.24 mm on a 120 mm part, half a cell of a 256^3 grid).
DEFAULT_TOLERANCE = 0.002


def percent(share: float) -> str:
    """A share of the part size as people write it: ``0.17 %``."""
    return f"{share * 100:.2f} %"


def check_tolerance(tolerance: float) -> None:
    """``ValueError`` unless ``tolerance`` is a share of the part size in (0, 1)."""
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and 0 < tolerance < 1):
        raise ValueError(f"the tolerance must be a share of the part size in (0, 1), got {tolerance!r}")


@dataclass(frozen=True)
class FaceTarget:
    """How many faces an export keeps: ``auto`` (error-bounded), ``full``, or at most ``budget``."""

    mode: Literal["auto", "full", "budget"] = "auto"
    budget: int | None = None
    tolerance: float = DEFAULT_TOLERANCE

    def __post_init__(self) -> None:
        if self.mode not in ("auto", "full", "budget"):
            raise ValueError(f"unknown face target {self.mode!r} (use auto, full or a number of faces)")
        if (self.mode == "budget") != (self.budget is not None):
            raise ValueError("a face budget goes with mode 'budget' only")
        if self.budget is not None and self.budget < MIN_FACE_BUDGET:
            raise ValueError(f"the face budget must be at least {MIN_FACE_BUDGET}, got {self.budget}")
        check_tolerance(self.tolerance)

    @classmethod
    def parse(cls, text: str, tolerance: float = DEFAULT_TOLERANCE) -> FaceTarget:
        """``auto``, ``full`` or a whole number of faces, as typed on a command line."""
        word = str(text).strip().lower()
        if word in ("auto", "full"):
            return cls(word, None, tolerance)
        try:
            budget = int(word)
        except ValueError:
            raise ValueError(f"expected auto, full or a number of faces, got {text!r}") from None
        return cls("budget", budget, tolerance)

    def describe(self) -> str:
        """What this keeps, in words."""
        if self.mode == "full":
            return "every face (full resolution)"
        if self.mode == "budget":
            return f"at most {self.budget:,} faces"
        return f"as few faces as keep 99.9 % of the surface within {percent(self.tolerance)} of the part size"
