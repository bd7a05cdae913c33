"""The core calls the window runs on worker threads, as progress generators.

Each function only strings core functions together, so that the GUI thread
never decodes a photo, runs GrabCut, loads a model or writes a file itself.
They return plain numpy / trimesh / core objects; widgets are built from
them back in the GUI thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from ..inference.display import DISPLAY_THRESHOLD, DisplayMesh, display_mesh
from ..inference.export import ExportReport, ExportUnits, export_mesh, export_point_cloud
from ..inference.preprocess import (
    DEFAULT_FILL_FRACTION,
    Photo,
    PhotoError,
    PhotoSource,
    PreparedPhoto,
    Rect,
    Segmenter,
    load_photo,
    prepare_photo,
)
from ..inference.reconstructor import ReconstructionStats, Reconstructor, expected_faces, progress_plan
from ..inference.settings import ReconstructionSettings
from ..inference.simplify import FaceTarget, export_plan, simplify_for_export
from ..progress import Plan, Progress, ProgressGenerator

#: Weight of computing the vertex normals in :func:`reconstruction_plan` (seconds at 256^3).
_NORMALS_S = 0.05
#: Weight of making the viewer's lighter copy of a large mesh (seconds at 256^3, 2-core machine).
_DISPLAY_S = 0.8


@dataclass(frozen=True)
class Framing:
    """How a photo becomes the network input (see :func:`prepare_photo`)."""

    background: str = "auto"
    rect: Rect | None = None
    fill_fraction: float = DEFAULT_FILL_FRACTION
    segmenter: Segmenter | None = None  # the loaded model's, for the "auto" background

    @classmethod
    def as_is(cls) -> Framing:
        """For images already framed like a training render (data-set views): used unchanged."""
        return cls("off", None, 1.0)

    def prepare(self, photo: Photo, image_size: int) -> PreparedPhoto:
        return prepare_photo(
            photo, image_size, background=self.background, rect=self.rect, fill_fraction=self.fill_fraction,
            segmenter=self.segmenter,
        )


@dataclass
class PhotoPreview:
    """A loaded photo and its preparation for the network.

    ``prepared`` is ``None`` when the photo loaded but its silhouette could
    not be found with the chosen settings; ``problem`` then says why.
    """

    photo: Photo
    prepared: PreparedPhoto | None
    problem: str | None = None


def preview_photo(source: PhotoSource | Photo, image_size: int, framing: Framing) -> ProgressGenerator[PhotoPreview]:
    """Load ``source`` (unless it is a :class:`Photo` already) and prepare it as ``framing`` says.

    Loading errors raise :class:`PhotoError` (nothing to show); preparation
    errors are returned in :attr:`PhotoPreview.problem` with the photo.
    """
    yield Progress("load photo", 0, 1)
    photo = source if isinstance(source, Photo) else load_photo(source)
    yield Progress("find the part", 0, 1)
    try:
        prepared = framing.prepare(photo, image_size)
    except PhotoError as exc:
        return PhotoPreview(photo, None, str(exc))
    return PhotoPreview(photo, prepared)


def load_model(path: str | Path, device: str) -> ProgressGenerator[Reconstructor]:
    """Load and check a checkpoint (``CheckpointError``, a ``ValueError``, if unusable)."""
    yield Progress("load model", 0, 1)
    return Reconstructor.from_checkpoint(path, device)


def reconstruct(
    reconstructor: Reconstructor,
    photo: Photo,
    prepared: PreparedPhoto | None,
    framing: Framing,
    a: float | None,
    b: float | None,
    settings: ReconstructionSettings,
) -> ProgressGenerator[tuple[trimesh.Trimesh | trimesh.PointCloud, ReconstructionStats, PreparedPhoto, DisplayMesh | None]]:
    """:meth:`Reconstructor.reconstruct_photo` of ``photo`` (``a``/``b`` None: from the silhouette);
    a point cloud from a ``points`` model.  Last comes what the viewer draws for a mesh
    (:func:`.display_mesh`: a lighter copy of a large one), ``None`` for a point cloud.

    ``prepared`` (the preview's preparation with the same ``framing``) is
    reused when it has the model's input size; otherwise the photo is
    prepared here.  The mesh's vertex normals are computed here too: smooth
    shading needs them and trimesh caches them on the mesh, so the GUI thread
    finds them ready instead of computing them while it should be painting.
    """
    seconds = None
    if prepared is None or prepared.image_size != reconstructor.image_size:
        yield Progress("preprocess", 0, 1)
        start = time.perf_counter()
        prepared = framing.prepare(photo, reconstructor.image_size)
        seconds = time.perf_counter() - start
    mesh, stats, prepared = yield from reconstructor.reconstruct_photo(prepared, a=a, b=b, settings=settings)
    if seconds is not None:
        stats.timings["preprocess"] = seconds
    display = None
    if isinstance(mesh, trimesh.Trimesh) and len(mesh.faces):
        yield Progress("shading normals", 0, 1)
        np.asarray(mesh.vertex_normals)
        if len(mesh.faces) > DISPLAY_THRESHOLD:
            yield Progress("display copy", 0, 1)
        display = display_mesh(mesh)
    return mesh, stats, prepared, display


def reconstruction_plan(settings: ReconstructionSettings, output_kind: str = "occupancy") -> Plan:
    """The stages of :func:`reconstruct` weighted for the overall progress bar (a point cloud has
    no normals; a mesh expected to be small needs no display copy)."""
    if output_kind == "points":
        return progress_plan(settings, output_kind)
    plan = [*progress_plan(settings, output_kind), ("shading normals", _NORMALS_S)]
    if expected_faces(settings.resolution) > DISPLAY_THRESHOLD:
        plan.append(("display copy", _DISPLAY_S))
    return plan


def export(
    mesh: trimesh.Trimesh | trimesh.PointCloud, path: str | Path, units: ExportUnits, faces: FaceTarget | None,
    overwrite: bool,
) -> ProgressGenerator[ExportReport]:
    """Simplify ``mesh`` as ``faces`` says (``None``: it is simplified already), then write it atomically.

    A point cloud has no faces to simplify: it is written as PLY (a ``ValueError`` for other formats)."""
    if isinstance(mesh, trimesh.PointCloud):
        yield Progress("write", 0, 1)
        report = export_point_cloud(mesh, path, units=units, overwrite=overwrite)
        yield Progress("write", 1, 1)
        return report
    if faces is not None:
        mesh, _ = yield from simplify_for_export(mesh, faces)
    yield Progress("write", 0, 1)
    report = export_mesh(mesh, path, units=units, overwrite=overwrite)
    yield Progress("write", 1, 1)
    return report


def export_stages(faces: FaceTarget | None, mesh_faces: int) -> Plan:
    """The stages of :func:`export` weighted for the overall progress bar."""
    return export_plan(faces or FaceTarget("full"), mesh_faces)
