"""Make ``docs/images/sample_masks.png``: the automatic mask of every sample photo, to judge by eye.

Each tile is a sample photo of ``resources/samples`` as a first-time user
drops it in (no rectangle drawn): what the automatic mask keeps is shown as
it is, what it drops is dimmed, and its outline is drawn in green.  The
label gives the mask's IoU against the sample's exact mask, which
``resources/samples/make_samples.py`` renders again from the development
meshes (the spur gear's photo is transparent: its alpha channel is the mask).

    python docs/make_sample_masks.py [--checkpoint models/default.safetensors] [--meshes /work/shared/dev-meshes]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from svr_desktop.inference.preprocess import load_photo, prepare_photo
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.paths import default_model_path, resources_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from sample_photos import load_make_samples  # noqa: E402  (the sample-photo benchmark's loader of make_samples.py)

TILE_WIDTH = 320


def _tile(rgb: np.ndarray, mask: np.ndarray, label: str) -> Image.Image:
    shown = np.where(mask[..., None], rgb, (0.3 * rgb + 0.7 * 40).astype(np.uint8))
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(shown, contours, -1, (40, 220, 60), max(2, rgb.shape[1] // 240))
    tile = Image.fromarray(shown).resize((TILE_WIDTH, round(TILE_WIDTH * rgb.shape[0] / rgb.shape[1])), Image.LANCZOS)
    draw = ImageDraw.Draw(tile)
    draw.rectangle((0, 0, TILE_WIDTH, 18), fill=(0, 0, 0))
    draw.text((4, 3), label, fill=(255, 255, 255))
    return tile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=default_model_path())
    parser.add_argument("--meshes", type=Path, default=Path("/work/shared/dev-meshes"))
    parser.add_argument("--columns", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "images" / "sample_masks.png")
    args = parser.parse_args()

    reconstructor = Reconstructor.from_checkpoint(args.checkpoint, "cpu")
    samples = resources_dir() / "samples"
    truths = {sample.name: mask for sample, _, mask in load_make_samples().build(args.meshes)}
    tiles = []
    for path in sorted(samples.glob("*.png")):
        photo = load_photo(path)
        prepared = prepare_photo(photo, reconstructor.image_size, segmenter=reconstructor.segmenter)
        found = prepared.photo_mask
        truth = truths.get(path.stem)
        if truth is None and photo.alpha is not None:
            truth = photo.alpha >= 128
        iou = float((found & truth).sum() / (found | truth).sum())
        tiles.append(_tile(photo.rgb, found, f"{path.stem}: mask IoU {iou:.3f} ({prepared.background_method})"))
        print(f"{path.stem:26s} {iou:.3f}")
    rows = -(-len(tiles) // args.columns)
    sheet = Image.new("RGB", (args.columns * TILE_WIDTH, rows * max(t.height for t in tiles)), (255, 255, 255))
    for index, tile in enumerate(tiles):
        sheet.paste(tile, ((index % args.columns) * TILE_WIDTH, (index // args.columns) * tile.height))
    sheet.save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
