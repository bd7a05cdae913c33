"""Photo to mesh: the application's main job.

A :class:`Reconstructor` loads a checkpoint once (its config rebuilds the
model) on the chosen device.  ``reconstruct_input`` takes a network-ready
image and ``a, b``; ``reconstruct_photo`` first prepares an engineer's photo
(background removal, framing, auto ``a, b``; :mod:`.preprocess`).  Both are
progress generators (:mod:`svr_desktop.progress`): the image is encoded once,
the implicit field is queried chunk by chunk through MISE
(:mod:`svr_desktop.geometry.extraction`), marching cubes extracts the
surface and :mod:`.postprocess` cleans it.  They return ``(mesh, stats)``
with per-stage timings and counts; stopping the generator between two
events cancels the work within one chunk and leaves nothing behind.  A
checkpoint whose output kind is ``points`` (the ``pointcloud`` method) has
no field to mesh: its reconstruction is one forward pass and the result a
``trimesh.PointCloud`` in the same view frame and units.
:func:`progress_plan` weighs their stages for one overall progress figure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import trimesh

from ..devices import pick_device
from ..geometry.extraction import extract_mesh, mise_resolutions
from ..geometry.image_turns import turn_image
from ..model.checkpoint import ModelCheckpoint, build_model, default_iso_level, read_model_checkpoint
from ..model.images import image_to_tensor
from ..model.implicit import Encoded, ImplicitNetwork
from ..model.pointcloud import PointCloudNet
from ..progress import Plan, Progress, ProgressGenerator
from .field import ImageField
from .postprocess import PostprocessReport, postprocess
from .preprocess import Photo, PhotoSource, PreparedPhoto, Rect, auto_ab, prepare_photo
from .segmentation import NetworkSegmenter
from .settings import ReconstructionSettings
from .turns import DEFAULT_TURNS, turn_angles

DEFAULT_SETTINGS = ReconstructionSettings()
#: The one stage of a point-cloud reconstruction after preprocessing.
PREDICT_POINTS = "predict points"

#: Seconds the stages took at 256^3 on the reference 2-core CPU (docs/benchmarks.md,
#: "Reconstruction"): the weights of :func:`progress_plan`, scaled to other resolutions.
_PREPROCESS_S, _ENCODE_S = 0.3, 0.01  # encoding: per image (per turned copy)
_DENSE_S_PER_POINT = 0.03 / 33**3  # MISE's first level queries every point of its grid
_LEVEL_S_AT_128 = 0.29  # a refined level queries near the surface: grows with resolution^2
_FINAL_LEVEL_SHARE = 0.6  # the last level is not dilated (geometry.extraction.evaluate_mise)
_MARCHING_S_AT_256 = 0.75  # grows with the grid's volume
_POSTPROCESS_S_AT_256 = 0.9  # grows with the faces, i.e. with resolution^2


#: Faces of a 256^3 reconstruction of a sample photo (350k-700k; docs/benchmarks.md).
_FACES_AT_256 = 550_000


def expected_faces(resolution: int) -> int:
    """About how many faces a reconstruction at ``resolution`` has: they grow with its square."""
    return int(_FACES_AT_256 * (resolution / 256) ** 2)


def progress_plan(settings: ReconstructionSettings = DEFAULT_SETTINGS, output_kind: str = "occupancy") -> Plan:
    """The stages :meth:`Reconstructor.reconstruct_photo` reports, weighted by their expected time.

    Marching cubes, not the network, is the second-largest stage at 256^3, and
    each MISE level costs about four times the one before: counting stages
    equally would make the bar crawl and then jump.  Feed it to
    :class:`~svr_desktop.progress.OverallProgress`.  A point-cloud model
    (``output_kind`` ``points``) has two stages: preprocessing and one pass.
    """
    if output_kind == "points":
        return [("preprocess", _PREPROCESS_S), (PREDICT_POINTS, _ENCODE_S)]
    levels = mise_resolutions(settings.resolution, settings.start_resolution)
    plan = [
        ("preprocess", _PREPROCESS_S),
        ("encode", _ENCODE_S * settings.turns),  # one encoding per turned copy
        (f"mise {levels[0]}^3", _DENSE_S_PER_POINT * (levels[0] + 1) ** 3),
    ]
    for resolution in levels[1:]:
        share = _FINAL_LEVEL_SHARE if resolution == levels[-1] else 1.0
        plan.append((f"mise {resolution}^3", _LEVEL_S_AT_128 * (resolution / 128) ** 2 * share))
    plan.append(("marching cubes", _MARCHING_S_AT_256 * (settings.resolution / 256) ** 3))
    plan.append(("post-process", _POSTPROCESS_S_AT_256 * (settings.resolution / 256) ** 2))
    return plan


@dataclass
class ReconstructionStats:
    """What a reconstruction did and how long each stage took (seconds)."""

    device: str
    a: float
    b: float
    resolution: int  # 0 for a point cloud: no grid
    threshold: float  # NaN for a point cloud: no field
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds, in order
    points_queried: int = 0
    faces: int = 0
    points: int = 0  # of a point cloud
    watertight: bool = False
    volume: float = 0.0  # normalized units^3
    postprocess: PostprocessReport | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def total_seconds(self) -> float:
        return sum(self.timings.values())


class Reconstructor:
    """A loaded model ready to turn images into meshes (point clouds for a ``points`` model)."""

    def __init__(
        self, model: ImplicitNetwork | PointCloudNet, output_kind: str, device: torch.device, iso_level: float | None = None
    ):
        self.model = model.to(device).eval()
        self.output_kind = output_kind  # "occupancy", "sdf" or "points" (model.checkpoint.OUTPUT_KINDS)
        self.device = device
        # The level the checkpoint was calibrated at, else the field's natural one (0.5 or 0); None for points.
        self.default_threshold = default_iso_level(output_kind) if iso_level is None else float(iso_level)
        # A model with a layered-depth head finds the part in a photo itself (issue 14).
        self.segmenter = NetworkSegmenter(self.model, device) if model.config.depth_head else None

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device | None = None) -> "Reconstructor":
        """Load a checkpoint (CheckpointError with the reason if it is not usable)."""
        return cls.from_read_checkpoint(read_model_checkpoint(path), device)

    @classmethod
    def from_read_checkpoint(cls, checkpoint: ModelCheckpoint, device: str | torch.device | None = None) -> "Reconstructor":
        """Build the model of a checkpoint already read (whose stored config a caller may check first)."""
        model = build_model(checkpoint)
        device = device if isinstance(device, torch.device) else pick_device(device)
        return cls(model, checkpoint.output_kind, device, checkpoint.iso_level)

    @property
    def image_size(self) -> int:
        return self.model.config.image_size

    @property
    def reads_turned_copies(self) -> bool:
        """Whether this model reads turned copies of its input: a depth-guided one, whose predicted
        depth layers they steady; any other reads the image alone."""
        return self.model.config.depth_guided

    def angles_read(self, turns: int) -> tuple[float, ...]:
        """The turns (degrees) of the copies this model reads when asked for ``turns``."""
        return turn_angles(turns) if self.reads_turned_copies else (0.0,)

    def field(self, image: np.ndarray, a: float, b: float, turns: int = DEFAULT_TURNS) -> ImageField:
        """The implicit field of a square uint8 image framed like a training render: occupancy
        probabilities, or signed distances for an SDF model.  The image, and the turned copies
        of it that :meth:`angles_read` names (:mod:`.turns`), are encoded once here."""
        angles = self.angles_read(turns)
        with torch.no_grad():
            encoded = self.model.encode(image_to_tensor(image, self.image_size, self.device))
            if len(angles) > 1:
                copies = [image_to_tensor(turn_image(image, angle), self.image_size, self.device) for angle in angles[1:]]
                turned = self.model.encode(torch.cat(copies))
                encoded = Encoded(encoded.features, torch.cat([encoded.layers, turned.layers]))
        return ImageField(self.model, encoded, a, b, probabilities=self.output_kind != "sdf", turns=angles)

    def reconstruct_input(
        self, image: np.ndarray, a: float, b: float, settings: ReconstructionSettings = DEFAULT_SETTINGS
    ) -> ProgressGenerator[tuple[trimesh.Trimesh | trimesh.PointCloud, ReconstructionStats]]:
        """Reconstruct from a square (S, S, 3) uint8 image framed like a training render
        (a data-set view or a prepared photo), with its ``a, b``: a mesh, or a point
        cloud from a ``points`` model (``settings`` other than ``device`` do not apply to it)."""
        if not (np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0):
            raise ValueError(f"a and b must be positive, got a={a}, b={b}")
        if self.output_kind == "points":
            return (yield from self._predict_points(image, a, b))
        threshold = self.default_threshold if settings.threshold is None else float(settings.threshold)
        stats = ReconstructionStats(str(self.device), float(a), float(b), settings.resolution, threshold)

        yield Progress("encode", 0, 1)
        start = time.perf_counter()
        field = self.field(image, a, b, settings.turns)
        stats.timings["encode"] = time.perf_counter() - start

        mesh, extraction = yield from extract_mesh(
            field,
            resolution=settings.resolution,
            threshold=threshold,
            chunk_size=settings.chunk_size,
            initial_resolution=settings.start_resolution,
        )
        for level in extraction.levels:
            stats.timings[f"mise {level.resolution}^3"] = level.seconds
        stats.timings["marching cubes"] = extraction.marching_cubes_seconds
        stats.points_queried = extraction.points_queried

        yield Progress("post-process", 0, 1)
        start = time.perf_counter()
        if len(mesh.faces) == 0:
            stats.notes.append("the field has no inside at this threshold: empty mesh")
        else:
            mesh, stats.postprocess = postprocess(mesh, min_fragment=settings.min_fragment, face_budget=settings.face_budget)
            stats.watertight = stats.postprocess.watertight
            stats.volume = stats.postprocess.volume
        stats.timings["post-process"] = time.perf_counter() - start
        stats.faces = len(mesh.faces)
        return mesh, stats

    def _predict_points(self, image: np.ndarray, a: float, b: float) -> ProgressGenerator[tuple[trimesh.PointCloud, ReconstructionStats]]:
        """One forward pass of a point-cloud model (eval mode: the latent's mean, so deterministic)."""
        stats = ReconstructionStats(str(self.device), float(a), float(b), 0, float("nan"))
        yield Progress(PREDICT_POINTS, 0, 1)
        start = time.perf_counter()
        with torch.no_grad():
            points = self.model(image_to_tensor(image, self.image_size, self.device), a, b).points[0]
        cloud = trimesh.PointCloud(points.float().cpu().numpy().astype(np.float64))
        stats.timings[PREDICT_POINTS] = time.perf_counter() - start
        stats.points = len(cloud.vertices)
        yield Progress(PREDICT_POINTS, 1, 1)
        return cloud, stats

    def reconstruct_photo(
        self,
        photo: PhotoSource | Photo | PreparedPhoto,
        a: float | None = None,
        b: float | None = None,
        background: str | np.ndarray = "auto",
        rect: Rect | None = None,
        settings: ReconstructionSettings = DEFAULT_SETTINGS,
    ) -> ProgressGenerator[tuple[trimesh.Trimesh | trimesh.PointCloud, ReconstructionStats, PreparedPhoto]]:
        """Prepare an engineer's photo and reconstruct it (a point cloud for a ``points`` model).

        ``a``/``b`` default to :func:`.preprocess.auto_ab` of the silhouette;
        ``background``/``rect`` choose the background removal.  Returns the
        prepared photo too, so a front can show the mask and the network input.
        """
        yield Progress("preprocess", 0, 1)
        start = time.perf_counter()
        if isinstance(photo, PreparedPhoto):
            prepared = photo
        else:
            prepared = prepare_photo(photo, self.image_size, background=background, rect=rect, segmenter=self.segmenter)
        seconds = time.perf_counter() - start
        auto_a, auto_b = auto_ab(prepared)
        mesh, stats = yield from self.reconstruct_input(
            prepared.network_input, auto_a if a is None else a, auto_b if b is None else b, settings
        )
        stats.timings = {"preprocess": seconds, **stats.timings}
        stats.notes = [*prepared.notes, *stats.notes]
        return mesh, stats, prepared
