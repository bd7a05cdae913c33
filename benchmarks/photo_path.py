"""Mask and reconstruction accuracy of the photo path on path-traced product photos.

Every image of the benchmark set (``benchmarks/photo_set/``: Mitsuba renders
of the dev meshes and of generated parts, with exact masks, true ``a, b`` and
true view-frame meshes) goes through exactly what ``svr-desktop reconstruct``
runs, :meth:`Reconstructor.reconstruct_photo` (automatic background removal,
framing, ``a, b`` from the silhouette, MISE, marching cubes, post-processing),
and is scored in its view frame:

* ``mask_iou``: the automatic mask (``PreparedPhoto.photo_mask``, the mask
  that framed the network input) against the true mask, with the method
  that found it and its ``mask_confidence``;
* ``iou``, ``cd_l1``: reconstruction against the true view-frame mesh
  (:mod:`svr_desktop.geometry.metrics`, DESIGN.md section 3: 100,000 points
  each, normalized units), and the volume ratio reconstruction / truth;
* ``a_auto`` against ``a_true``: the ``a = b`` that the photo path chose and
  the one that is exact for the network input it framed, ``(1 / h) * W / s``
  (``h``: the photo's true half-width, ``W``: photo side, ``s``: side of the
  square crop in photo pixels).  They differ when the part's longest edge is
  not in the image plane (``auto_ab``'s assumption) or the mask is wrong;
* the same part and view drawn by the project's own
  :class:`~svr_desktop.data.render.Renderer` (same view-frame mesh, same
  half-width, a random appearance) through the same photo path:
  ``own_iou``, ``own_mask_iou``, and ``renderers_agree``, the IoU of the
  two renderers' exact masks (a check that both frame the view alike).

    python benchmarks/photo_path.py [--set /work/data/photo-bench] [--checkpoint CK] [--resolution 64] [--limit N]
    python benchmarks/photo_path.py --masks-only   # the automatic masks alone (seconds, not minutes)

``--masks-only`` runs only :func:`prepare_photo` with the model's segmenter
(what ``reconstruct`` runs before the network) and scores the masks; its
JSON line has ``mean_mask_iou``, ``min_mask_iou``, ``masks_below_0_85``,
``empty_masks`` and how well the confidence flags the bad masks.

Prints one line per image and ends with one JSON line: per-image figures and
the means (``mean_mask_iou``, ``min_mask_iou``, ``masks_below_0_85``,
``mean_iou_photo``, ``mean_iou_own_render``, ``gap`` = own - photo).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

from svr_desktop.data.render import Renderer
from svr_desktop.geometry.frames import PADDED_HALF
from svr_desktop.geometry.metrics import chamfer_l1, iou
from svr_desktop.inference.preprocess import CONFIDENT_AGREEMENT, Photo, PreparedPhoto, PhotoError, prepare_photo
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.inference.settings import ReconstructionSettings
from svr_desktop.paths import default_model_path
from svr_desktop.progress import run_to_completion

#: Masks below this IoU count as failures (issue 14's floor).
MASK_FLOOR = 0.85
#: ``a_auto / a_true`` further than this from 1 counts as a framing mismatch.
AB_TOLERANCE = 0.05
#: Seed of the own renderer's appearance draws.
OWN_RENDER_SEED = 14


@functools.cache
def sample_photos():
    """``benchmarks/sample_photos.py`` as a module (a script beside this one, not a package)."""
    spec = importlib.util.spec_from_file_location("sample_photos", Path(__file__).with_name("sample_photos.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def set_folder(path: Path) -> Path:
    """The benchmark set's folder, given the folder or its ``scenes.json``.

    Raises ``ValueError`` with a one-line message when there is no set there, so
    that a wrong path is reported before the model is loaded.
    """
    folder = path.parent if path.name == "scenes.json" else path
    if not (folder / "scenes.json").is_file():
        raise ValueError(f"no benchmark set at {path}: expected a folder with scenes.json "
                         "(docs/photo_path.md says how to render one)")
    return folder


def load_set(folder: Path) -> tuple[dict, list[dict]]:
    """The render settings and the image records of ``scenes.json``, with paths made absolute."""
    scenes = json.loads((folder / "scenes.json").read_text())
    for record in scenes["images"]:
        for key in ("image", "mask", "view_mesh"):
            record[key] = folder / record[key]
    return scenes["settings"], scenes["images"]


def read_mask(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L")) >= 128


def mask_iou(found: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two (H, W) bool masks; 1 when both are empty."""
    union = np.count_nonzero(found | truth)
    return float(np.count_nonzero(found & truth) / union) if union else 1.0


def true_input_a(half_width: float, prepared: PreparedPhoto) -> float:
    """The ``a = b`` exact for ``prepared.network_input``: the photo shows ``2 h`` world
    units across its width, the framed input shows the crop of side ``s`` photo pixels."""
    photo_side = prepared.photo.shape[1]
    return (1.0 / half_width) * photo_side / prepared.crop_box[2]


def own_render(renderer: Renderer, view_mesh: trimesh.Trimesh, half_width: float, rng: np.random.Generator):
    """The view as the project's renderer draws it at half-width ``half_width``.

    The renderer draws its own half-width; with ``scale_jitter=0`` that is
    0.55, and an orthographic view of the mesh at ``h`` is the view of the mesh
    scaled by ``0.55 / h`` at 0.55, pixel for pixel.
    """
    if renderer.scale_jitter != 0.0:
        raise ValueError("own_render needs a Renderer with scale_jitter=0")
    scaled = view_mesh.copy()
    scaled.apply_scale(PADDED_HALF / half_width)
    return renderer.render(scaled, rng)


def mask_fields(prepared: PreparedPhoto | None, true_mask: np.ndarray) -> dict:
    """The automatic mask's IoU against the true one, how it was found and its confidence
    (``prepared`` None: no mask was found, scored as an empty one)."""
    if prepared is None:
        return {"mask_iou": round(mask_iou(np.zeros_like(true_mask), true_mask), 4), "mask": "empty", "mask_confidence": None}
    return {
        "mask_iou": round(mask_iou(prepared.photo_mask, true_mask), 4),
        "mask": prepared.background_method,
        "mask_confidence": None if prepared.mask_confidence is None else round(prepared.mask_confidence, 4),
    }


def score(
    reconstructor: Reconstructor, image: np.ndarray, true_mask: np.ndarray, truth: trimesh.Trimesh,
    half_width: float, settings: ReconstructionSettings, index: int,
) -> dict:
    """Run the photo path on ``image`` and score its mask, ``a`` and mesh against the truth."""
    start = time.perf_counter()
    mesh, stats, prepared = run_to_completion(reconstructor.reconstruct_photo(Photo.from_array(image), settings=settings))
    seconds = time.perf_counter() - start
    rng = np.random.default_rng([0, index])
    ratio = mesh.volume / truth.volume if mesh.is_watertight and len(mesh.faces) else float("nan")
    finite = sample_photos()._finite_or_none
    return {
        **mask_fields(prepared, true_mask),
        "iou": round(iou(mesh, truth, rng), 4),
        "cd_l1": finite(chamfer_l1(mesh, truth, rng).chamfer_l1),
        "volume_ratio": finite(ratio),
        "a_auto": round(stats.a, 4),
        "a_true": round(true_input_a(half_width, prepared), 4),
        "seconds": round(seconds, 2),
    }


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 4) if values else None


def mask_figures(masks: list[float]) -> dict:
    """Mean and lowest mask IoU and how many masks fall below :data:`MASK_FLOOR`."""
    return {"mean_mask_iou": _mean(masks), "min_mask_iou": min(masks), "masks_below_0_85": sum(m < MASK_FLOOR for m in masks)}


def by_ground(rows: list[dict], value) -> dict:
    """Mean of ``value(row)`` per kind of ground, in name order.

    Mask rules are judged per ground: a change that helps on a workbench can
    cost plain grounds, which are what most product photos have.
    """
    kinds = sorted({row["ground"] for row in rows})
    return {kind: _mean(value(row) for row in rows if row["ground"] == kind) for kind in kinds}


def summarize(rows: list[dict], **header) -> dict:
    """The closing JSON: settings, means over the images and the per-image rows."""
    masks = [row["photo"]["mask_iou"] for row in rows]
    photo_iou = _mean(row["photo"]["iou"] for row in rows)
    own_iou = _mean(row["own"]["iou"] for row in rows)
    return {
        **header,
        "n": len(rows),
        **mask_figures(masks),
        "mask_iou_by_ground": by_ground(rows, lambda row: row["photo"]["mask_iou"]),
        "mean_iou_photo": photo_iou,
        "mean_iou_own_render": own_iou,
        "gap": round(own_iou - photo_iou, 4),
        "mean_cd_l1_photo": _mean(row["photo"]["cd_l1"] for row in rows),
        "mean_cd_l1_own_render": _mean(row["own"]["cd_l1"] for row in rows),
        "mean_own_mask_iou": _mean(row["own"]["mask_iou"] for row in rows),
        "min_renderers_agree": min(row["renderers_agree"] for row in rows),
        "ab_mismatches": sum(abs(row["photo"]["a_auto"] / row["photo"]["a_true"] - 1) > AB_TOLERANCE for row in rows),
        "images": rows,
    }


def score_masks(reconstructor: Reconstructor, records: list[dict]) -> dict:
    """Only the automatic masks: ``prepare_photo`` as ``reconstruct`` calls it, against the true masks."""
    rows = []
    for record in records:
        photo = np.asarray(Image.open(record["image"]).convert("RGB"))
        true_mask = read_mask(record["mask"])
        try:
            prepared = prepare_photo(Photo.from_array(photo), reconstructor.image_size, segmenter=reconstructor.segmenter)
        except PhotoError:  # an empty mask
            prepared = None
        row = {"image": record["name"], "ground": record["ground"]["kind"], "material": record["material"]["kind"], **mask_fields(prepared, true_mask)}
        rows.append(row)
        confidence = float("nan") if row["mask_confidence"] is None else row["mask_confidence"]
        print(f"{row['image']:52s} {row['mask_iou']:6.3f} {row['mask']:8s} {confidence:6.3f}  {row['ground']}/{row['material']}", flush=True)
    return summarize_masks(rows)


def summarize_masks(rows: list[dict]) -> dict:
    """Means of a ``--masks-only`` run; a mask counts as flagged when its confidence is below
    :data:`CONFIDENT_AGREEMENT` (no confidence counts as not flagged)."""
    masks = [row["mask_iou"] for row in rows]
    bad = [m < MASK_FLOOR for m in masks]
    flagged = [row["mask_confidence"] is not None and row["mask_confidence"] < CONFIDENT_AGREEMENT for row in rows]
    return {
        "n": len(rows),
        **mask_figures(masks),
        "mask_iou_by_ground": by_ground(rows, lambda row: row["mask_iou"]),
        "empty_masks": sum(m < 0.01 for m in masks),
        "flagged_bad": sum(b and f for b, f in zip(bad, flagged)),
        "flagged_good": sum(f and not b for b, f in zip(bad, flagged)),
        "images": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=Path("/work/data/photo-bench"), help="the benchmark set: its folder or its scenes.json")
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the shipped model")
    parser.add_argument("--resolution", type=int, default=64, help="effective grid resolution (default 64)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N images")
    parser.add_argument("--masks-only", action="store_true", help="score only the automatic masks (no reconstruction)")
    args = parser.parse_args()
    try:
        args.set = set_folder(args.set)
    except ValueError as error:
        parser.error(str(error))

    render_settings, records = load_set(args.set)
    checkpoint = args.checkpoint or default_model_path()
    reconstructor = Reconstructor.from_checkpoint(checkpoint)
    settings = ReconstructionSettings(resolution=args.resolution)
    records = records[: args.limit]
    if args.masks_only:
        print(f"model {checkpoint}, masks only, {len(records)} images")
        print(json.dumps({"checkpoint": str(checkpoint), "set": str(args.set), **score_masks(reconstructor, records)}))
        return
    print(f"model {checkpoint} on {reconstructor.device}, resolution {args.resolution}, {len(records)} images")
    print(f"{'image':52s} {'mask':>6s} {'IoU':>6s} {'own':>6s} {'ownmsk':>6s} {'a_auto':>6s} {'a_true':>6s}  ground/material")
    rows = []
    with Renderer(image_size=render_settings["size"], scale_jitter=0.0) as renderer:
        for index, record in enumerate(records):
            photo = np.asarray(Image.open(record["image"]).convert("RGB"))
            true_mask = read_mask(record["mask"])
            truth = trimesh.load(record["view_mesh"], force="mesh")
            h = record["half_width"]
            own = own_render(renderer, truth, h, np.random.default_rng([OWN_RENDER_SEED, index]))
            row = {
                "image": record["name"],
                "ground": record["ground"]["kind"],
                "material": record["material"]["kind"],
                "xy_extent": round(max(record["extent"][:2]), 4),
                "renderers_agree": round(mask_iou(own.mask, true_mask), 4),
                "photo": score(reconstructor, photo, true_mask, truth, h, settings, index),
                "own": score(reconstructor, own.image, own.mask, truth, h, settings, index),
            }
            rows.append(row)
            p, o = row["photo"], row["own"]
            print(f"{record['name']:52s} {p['mask_iou']:6.3f} {p['iou']:6.3f} {o['iou']:6.3f} {o['mask_iou']:6.3f} "
                  f"{p['a_auto']:6.3f} {p['a_true']:6.3f}  {row['ground']}/{row['material']}", flush=True)
    print(json.dumps(summarize(rows, checkpoint=str(checkpoint), resolution=args.resolution, set=str(args.set))))


if __name__ == "__main__":
    main()
