"""A training mix: one manifest over the shards of several data sets, no data copied.

Fine-tunes train on more than one data set: generated parts in both render
styles, renders of real meshes.  A mix folder holds only a manifest whose
shard paths point into the source data sets (absolute paths); training maps
the shards as it does any data set's, with the uncompressed copies in the
mix's own ``cache``.

Splits stay honest: a shape id takes the split of the first data set that
lists it.  Two builds with the same seed and shape count draw the same parts
under the same ids, so a part rendered in both styles is never trained on
in one style and tested in the other.  ``val_from_first`` scores validation
on the first data set's views only, the look a run is judged by, and keeps
validation as long as it is for that data set alone.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..files import atomic_write_text
from .build_settings import SPLITS
from .dataset import load_manifest

#: Build settings that every data set of a mix must share: the network sees
#: one image size, one depth map, and one voxel size scales the distances.
SHARED_SETTINGS = ("image_size", "depth_size", "depth_layers")


def _shared(manifest: dict) -> tuple:
    config = manifest.get("config") or {}
    voxels = (config.get("sampling") or {}).get("voxel_resolution")
    return tuple(config.get(key) for key in SHARED_SETTINGS) + (voxels,)


def mix_manifests(sources: list[tuple[Path, dict]], val_from_first: bool = False) -> dict:
    """The manifest of a mix of ``sources`` (each a data-set folder and its manifest)."""
    if len(sources) < 2:
        raise ValueError("a mix needs at least two data sets")
    first_root, first = sources[0]
    for root, manifest in sources[1:]:
        if _shared(manifest) != _shared(first):
            raise ValueError(
                f"{root} was built with other image, depth-map or voxel sizes than {first_root} "
                f"({_shared(manifest)} against {_shared(first)}: image size, depth size, depth layers, voxel resolution); "
                "a mix needs one setting"
            )
    split_of: dict[str, str] = {}
    for _, manifest in sources:
        for split in SPLITS:
            for shape_id in manifest["splits"][split]:
                split_of.setdefault(shape_id, split)
    shards = []
    for index, (root, manifest) in enumerate(sources):
        for shard in manifest["shards"]:
            shapes = shard["shapes"]
            if val_from_first and index > 0:
                shapes = [shape_id for shape_id in shapes if split_of[shape_id] != "val"]
            if shapes:
                shards.append({"file": str((root / shard["file"]).resolve()), "shapes": shapes})
    splits = {split: sorted({shape_id for shape_id, kind in split_of.items() if kind == split}) for split in SPLITS}
    if val_from_first:
        splits["val"] = sorted(set(splits["val"]) & set(first["splits"]["val"]))
    return {
        "format": first["format"],
        "config": first.get("config", {}),
        "image_size": first.get("image_size"),
        "views": max(int(manifest.get("views", 1)) for _, manifest in sources),
        "mixed_from": [str(root.resolve()) for root, _ in sources],
        "shards": shards,
        "splits": splits,
    }


def write_mix(out: str | Path, data_sets: list[str | Path], val_from_first: bool = False) -> dict:
    """Write the mix of ``data_sets`` to ``out/manifest.json`` (atomically) and return it.

    A folder that holds a built data set is refused; an earlier mix in it is
    replaced.
    """
    out = Path(out)
    if (out / "build.json").exists() or (out / "shards").exists():
        raise ValueError(f"{out} holds a built data set; write the mix to another folder")
    sources = [(Path(root), load_manifest(root)) for root in data_sets]
    mix = mix_manifests(sources, val_from_first)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "manifest.json", json.dumps(mix, indent=1))
    return mix
