"""Does a reference mesh show the same part as a reconstruction?  A measured mismatch test.

A comparison against the wrong reference file still produces numbers, and
with a model as rough as the shipped one they look plausible: in the issue
that asked for this check, an unrelated part scored IoU 0.085 against 0.103
for the true one.  Volumetric IoU depends largely on the *depth* the
network inferred, which it gets only roughly (models/MODEL_CARD.md), so a
true reference scores low too, and IoU does not separate right from wrong
(measured below).

What the network does recover is the part's **outline in the photo**: the
view frame looks down -z (DESIGN.md section 2), so the silhouette of both
meshes projected along z is the photo's own outline.  The test therefore
compares *front silhouettes*: both meshes, normalized into the shared frame
by their bounding boxes, are projected onto the xy plane of the padded cube
on a :data:`GRID` x :data:`GRID` raster, and the intersection over union of
the two silhouettes is measured.  The check uses that alignment even when a
comparison applies ICP: ICP fits whole surfaces, depth included, and can
tilt the outline while doing so (the true part of
``docs/images/compare_panel.png`` went from 0.98 to 0.78 under ICP at RMS
0.073), whereas the bounding-box alignment is the one measured below.

A reference is reported as not matching when the silhouette IoU is below
:data:`MIN_SILHOUETTE_IOU` (0.8).  Measured with
``benchmarks/reference_mismatch.py`` (results in ``docs/benchmarks.md``,
"Reference mismatch"): the shipped model reconstructed one rendered view of
each of 12 real part meshes (``/work/shared/dev-meshes``) at 64^3, and every
reconstruction was compared with all 12 references.  Front-silhouette IoU
was 0.935 to 0.989 for the 12 true pairs and 0.267 to 0.821 for the 132
unrelated ones, so 0.8 flags 131 of 132 wrong references and no true one,
with a margin of 0.13 below the worst true pair for photos whose outline
is less clean than a render's.  Volumetric IoU does not separate them
(0.065 to 0.601 true, 0.013 to 0.543 unrelated), which is why it plays no
part in the rule.

Silhouettes are rasterized from area-uniform surface samples: a surface
patch of area ``dA`` covers ``|n_z| dA`` of the plane, so every silhouette
cell receives at least two layers' worth of samples (the front and back
of the part above it) and :data:`SILHOUETTE_SAMPLES` leave none empty in
practice.  No cell is filled in afterwards, so real holes (bolt holes seen
from the front) stay holes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from .frames import PADDED_HALF
from .metrics import is_empty
from .sampling import sample_surface

#: Silhouette raster side: cells of 1.1 / 64 = 1.7 % of the part's longest side.
GRID = 64
#: Surface samples per mesh for its silhouette (at least ~10 per silhouette cell on a normalized part).
SILHOUETTE_SAMPLES = 200_000
#: Below this front-silhouette IoU the reference is reported as a mismatch (measured: see the module docstring).
MIN_SILHOUETTE_IOU = 0.8


def front_silhouette(
    mesh: trimesh.Trimesh, rng: np.random.Generator | int = 0, grid: int = GRID, samples: int = SILHOUETTE_SAMPLES
) -> np.ndarray:
    """The mesh seen along -z: a (grid, grid) bool raster of the padded square ``[-0.55, 0.55]^2``.

    Row 0 is the top (largest y), as in the photo.  An empty mesh has an empty silhouette.
    """
    raster = np.zeros((grid, grid), dtype=bool)
    if is_empty(mesh):
        return raster
    points, _ = sample_surface(mesh, samples, np.random.default_rng(rng))
    cells = np.floor((points[:, :2] + PADDED_HALF) / (2 * PADDED_HALF) * grid).astype(np.int64)
    inside = np.all((cells >= 0) & (cells < grid), axis=1)
    columns, rows = cells[inside, 0], grid - 1 - cells[inside, 1]
    raster[rows, columns] = True
    return raster


def silhouette_iou(first: np.ndarray, second: np.ndarray) -> float:
    """Intersection over union of two silhouette rasters; 0 when both are empty."""
    union = np.count_nonzero(first | second)
    return float(np.count_nonzero(first & second) / union) if union else 0.0


@dataclass(frozen=True)
class ReferenceCheck:
    """The measured evidence on whether the reference shows the reconstructed part."""

    silhouette_iou: float  # front silhouettes (projection along z) in the shared frame, unitless

    @property
    def mismatch(self) -> bool:
        """True when the outlines overlap less than :data:`MIN_SILHOUETTE_IOU`."""
        return self.silhouette_iou < MIN_SILHOUETTE_IOU

    def warning(self) -> str:
        """A sentence for the user when the reference looks like another part; ``""`` otherwise."""
        if not self.mismatch:
            return ""
        return (
            f"This reference may not be the reconstructed part: seen from the photo's viewpoint their outlines "
            f"overlap only {self.silhouette_iou:.0%} (a matching reference overlaps {MIN_SILHOUETTE_IOU:.0%} or more). "
            "Check the file, and that it is oriented as the part is in the photo."
        )


def check_reference(
    reconstruction: trimesh.Trimesh, reference: trimesh.Trimesh, rng: np.random.Generator | int = 0
) -> ReferenceCheck:
    """Measure the front-silhouette IoU of two meshes in one normalized frame."""
    generator = np.random.default_rng(rng)
    return ReferenceCheck(silhouette_iou(front_silhouette(reconstruction, generator), front_silhouette(reference, generator)))
