"""How an implicit field becomes a mesh: one settings object for every front.

The command line, the GUI's parameters panel, the evaluation and the
benchmarks all describe a reconstruction with one
:class:`ReconstructionSettings` and hand it to the
:class:`~svr_desktop.inference.reconstructor.Reconstructor`, as
occupancy_networks feeds its one ``generation`` config section to its mesh
generator.  Values are checked when the object is made, so a bad value is
refused before any model runs.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .turns import DEFAULT_TURNS, turn_angles

#: Smallest face budget accepted: a tetrahedron.
MIN_FACE_BUDGET = 4

#: Effective grid resolutions of the surface extraction: MISE starts at 32
#: cells and doubles, and 512 (a 513^3 grid) is the most a desktop holds.
GRID_RESOLUTIONS = (32, 64, 128, 256, 512)

#: The resolutions the desktop application offers: a 32^3 grid is MISE's
#: first level, too coarse to be worth inspecting on its own.
APPLICATION_RESOLUTIONS = GRID_RESOLUTIONS[1:]

#: Points per network query: bounds memory (about 11 kB per point for the
#: full model) and is how often cancellation is checked.
DEFAULT_CHUNK = 16_384


@dataclass(frozen=True)
class ReconstructionSettings:
    """Everything about a reconstruction except the image, its ``a, b`` and the model.

    ``resolution``: effective grid resolution (one of :data:`GRID_RESOLUTIONS`);
    ``threshold``: iso-level of the field, None for the model's own (0.5 for
    occupancy, 0 for SDF); ``initial_resolution``: MISE's first, dense level
    (capped at ``resolution``); ``chunk_size``: points per network query;
    ``min_fragment``: connected pieces smaller than this share of the largest
    are dropped; ``face_budget``: decimate to at most this many faces (None:
    keep marching cubes' full resolution); ``turns``: how many copies of the
    image, turned in its plane by 0, +-8, +-16, ... degrees, a depth-guided
    model reads and averages the depth layers of (1: the image alone;
    :mod:`.turns`); ``device``: where the model runs (``auto``, ``cpu``,
    ``cuda``, ``cuda:N``), used when a model is loaded.
    """

    resolution: int = 256
    threshold: float | None = None
    initial_resolution: int = 32
    chunk_size: int = DEFAULT_CHUNK
    min_fragment: float = 0.05
    face_budget: int | None = None
    turns: int = DEFAULT_TURNS
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.resolution not in GRID_RESOLUTIONS:
            raise ValueError(f"resolution must be one of {', '.join(map(str, GRID_RESOLUTIONS))}, got {self.resolution}")
        if self.initial_resolution not in GRID_RESOLUTIONS:
            raise ValueError(
                f"initial resolution must be one of {', '.join(map(str, GRID_RESOLUTIONS))}, got {self.initial_resolution}"
            )
        if self.threshold is not None and not math.isfinite(self.threshold):
            raise ValueError(f"threshold must be a finite number, got {self.threshold}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk size must be positive, got {self.chunk_size}")
        if not 0.0 <= self.min_fragment < 1.0:
            raise ValueError(f"min_fragment must lie in [0, 1), got {self.min_fragment}")
        turn_angles(self.turns)  # refuses a count out of range, with the reason
        if self.face_budget is not None and self.face_budget < MIN_FACE_BUDGET:
            raise ValueError(f"face budget must be at least {MIN_FACE_BUDGET}, got {self.face_budget}")

    @property
    def start_resolution(self) -> int:
        """MISE's first level: ``initial_resolution``, at most ``resolution``."""
        return min(self.initial_resolution, self.resolution)

    def replace(self, **changes) -> "ReconstructionSettings":
        """A copy with some values changed (checked like a new object)."""
        return dataclasses.replace(self, **changes)
