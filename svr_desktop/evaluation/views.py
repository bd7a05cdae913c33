"""The inputs of an evaluation: framed images, their cameras and the ground truth.

Two sources give the same :class:`EvalView`:

* a **data-set split** (:func:`dataset_views`): the stored renders are framed
  exactly like training inputs and carry their ``a, b``, and the stored
  object-frame mesh is moved into each view's frame with the view's rotation
  and renormalization (:meth:`ShapeRecord.to_view`);
* a **folder of mesh files** (:func:`render_mesh_folder`): each mesh is
  normalized, rotated and rendered by the data-set renderer exactly as the
  data-set builder does it, from a generator seeded by ``(seed, index)``, so
  runs with the same seed see the same images and frames.

Either way the ground truth lives in the view frame the reconstructor works
in (DESIGN.md section 2), so prediction and ground truth compare directly.
Categories and families label the rows of a report: procedural parts are
grouped by the part module their family lives in (``discs``, ``gears``, ...);
mesh files take both from a ``manifest.json`` next to them when it lists
them (as ``/work/shared/dev-meshes`` does), else category ``mesh`` and the
file name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from ..data.dataset import load_manifest, load_split
from ..data.parts import FAMILIES
from ..data.render import Renderer, render_object
from ..data.shards import ShapeRecord
from ..data.sources import MeshFolderSource, ShapeSkipped
from ..geometry.frames import normalize_mesh, random_rotation
from ..progress import Progress, ProgressGenerator

#: Relative jitter of the rendering scale for mesh folders: the data-set builder's default.
MESH_SCALE_JITTER = 0.05


@dataclass(frozen=True)
class EvalView:
    """One evaluation input and its ground truth.

    ``image`` is a square uint8 RGB image framed like a training render,
    ``mask`` its silhouette, ``a, b`` its projection; ``ground_truth`` is the
    normalized mesh in this view's frame.  ``shape_number`` counts shapes in
    evaluation order (0-based).
    """

    shape: str
    shape_number: int
    view: int
    category: str
    family: str
    image: np.ndarray
    mask: np.ndarray
    a: float
    b: float
    ground_truth: trimesh.Trimesh

    @property
    def name(self) -> str:
        """``shape/view`` label, also the stem of saved prediction files."""
        return f"{self.shape}_view{self.view}"


def part_category(family: str) -> str:
    """The part module a procedural family is defined in (``flange`` -> ``discs``)."""
    return FAMILIES[family].build.__module__.rsplit(".", 1)[-1]


def mesh_folder_labels(folder: str | Path) -> dict[str, tuple[str, str]]:
    """File name -> (category, family) from the folder's ``manifest.json``, if it has one listing meshes."""
    path = Path(folder) / "manifest.json"
    try:
        entries = json.loads(path.read_text()).get("meshes", [])
        return {entry["file"]: (str(entry["category"]), str(entry["family"])) for entry in entries}
    except (OSError, json.JSONDecodeError, AttributeError, KeyError, TypeError):
        return {}


def _record_labels(record: ShapeRecord, mesh_labels: dict[str, tuple[str, str]]) -> tuple[str, str]:
    if record.source in FAMILIES:
        return part_category(record.source), record.source
    return mesh_labels.get(record.source, ("mesh", Path(record.source).stem))


def dataset_views(
    root: str | Path, split: str = "test", views: int | None = None, shapes: int | None = None
) -> list[EvalView]:
    """The first ``views`` stored views (all by default) of the first ``shapes`` shapes of a split."""
    manifest = load_manifest(root)
    records = load_split(root, split)
    if not records:
        raise ValueError(f"{root}: the data set has no '{split}' shapes (its '{split}' split is empty)")
    records = records[:shapes] if shapes else records
    meshes = manifest.get("config", {}).get("meshes")
    mesh_labels = mesh_folder_labels(meshes) if meshes else {}
    result = []
    for number, record in enumerate(records):
        category, family = _record_labels(record, mesh_labels)
        for view in range(min(views or record.views, record.views)):
            result.append(
                EvalView(
                    shape=record.shape_id,
                    shape_number=number,
                    view=view,
                    category=category,
                    family=family,
                    image=record.images[view],
                    mask=record.masks[view],
                    a=float(record.a[view]),
                    b=float(record.b[view]),
                    ground_truth=record.view_mesh(view),
                )
            )
    return result


@dataclass(frozen=True)
class RenderedFolder:
    """Views rendered from a mesh folder and the files that could not be used (with reasons)."""

    views: list[EvalView]
    skipped: list[str]


def render_mesh_folder(
    folder: str | Path, views: int = 1, seed: int = 0, image_size: int = 224, shapes: int | None = None
) -> ProgressGenerator[RenderedFolder]:
    """Render ``views`` random views of every mesh file directly in ``folder`` (the first ``shapes``).

    Unreadable meshes are skipped with the reason; meshes that are not
    watertight are repaired as the data-set builder does (their inside test
    needs a closed surface).  Raises ``ValueError`` when the folder holds no
    mesh file or none is usable.
    """
    source = MeshFolderSource(folder, limit=shapes)
    labels = mesh_folder_labels(folder)
    result, skipped = [], []
    yield Progress("rendering meshes", 0, len(source))
    with Renderer(image_size=image_size, scale_jitter=MESH_SCALE_JITTER) as renderer:
        for index in range(len(source)):
            rng = np.random.default_rng([seed, index])
            try:
                shape = source.make(index, rng)
            except ShapeSkipped as exc:
                skipped.append(str(exc))
                yield Progress("rendering meshes", index + 1, len(source))
                continue
            category, family = labels.get(shape.source, ("mesh", Path(shape.source).stem))
            mesh = normalize_mesh(shape.mesh)[0]
            number = index - len(skipped)
            for view in range(views):
                ground_truth, _, rendered = render_object(mesh, random_rotation(rng), rng, renderer)
                result.append(
                    EvalView(
                        shape=shape.source,
                        shape_number=number,
                        view=view,
                        category=category,
                        family=family,
                        image=rendered.image,
                        mask=rendered.mask,
                        a=rendered.a,
                        b=rendered.b,
                        ground_truth=ground_truth,
                    )
                )
            yield Progress("rendering meshes", index + 1, len(source))
    if not result:
        raise ValueError(f"{folder}: none of its mesh files could be used ({'; '.join(skipped)})")
    return RenderedFolder(result, skipped)
