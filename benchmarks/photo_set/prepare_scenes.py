"""Geometry and cameras of the photo benchmark set (step 1 of 2; project venv).

Writes, for every view of the set, the part's true view-frame mesh (DESIGN.md
section 2: rotated by a seeded uniform rotation, bounding box centred, longest
edge 1) and the view's orthographic half-width ``h = 0.55 * (1 + jitter)``, so
``a = b = 1 / h`` exactly as for :class:`svr_desktop.data.render.Renderer`.
``render_photo_set.py`` (step 2, run with the separate Mitsuba environment)
only reads these files: it needs neither torch nor ``svr_desktop``.

Parts: the development meshes (``manifest.json`` of ``--meshes``; licences
there) and generated parts of :class:`svr_desktop.data.sources.ProceduralSource`
whose indices start at :data:`PART_INDEX_BASE`, far above any training build,
so none of them is a training shape.  Everything is seeded, so a rerun writes
the same meshes and ``views.json``.

    python benchmarks/photo_set/prepare_scenes.py [--meshes ../shared/dev-meshes] [--out /work/data/photo-bench]

Output: ``OUT/meshes/<view>.ply`` and ``OUT/views.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from svr_desktop.data.render import MAX_SCALE_JITTER
from svr_desktop.data.sources import ProceduralSource
from svr_desktop.geometry.frames import PADDED_HALF, normalize_mesh, random_rotation, to_view_frame
from svr_desktop.geometry.mesh_io import load_mesh

#: First ProceduralSource index of the generated parts (training builds use 0..N).
PART_INDEX_BASE = 900_000
#: Seed of the set: parts are drawn with ``default_rng([seed, index])`` like the builder does,
#: rotations and half-widths with ``default_rng([seed, 1, part, view])``.  Another seed
#: (``--seed``) makes a second set of other views, generated parts and scenes, to check
#: that a change tuned on the first holds on images it was not tuned on.
SEED = 14
#: Relative half-width jitter, the data-set builder's default.
SCALE_JITTER = 0.05
assert SCALE_JITTER <= MAX_SCALE_JITTER


def parts(meshes: Path, generated: int, seed: int):
    """(name, source description, licence, object-frame mesh) of every part of the set."""
    manifest = json.loads((meshes / "manifest.json").read_text())
    for entry in manifest["meshes"]:
        source = f"{entry['repo']}@{entry['commit'][:10]}:{entry['path_in_repo']}"
        yield Path(entry["file"]).stem, source, entry["license"], load_mesh(meshes / entry["file"])
    procedural = ProceduralSource(PART_INDEX_BASE + generated)
    for index in range(PART_INDEX_BASE, PART_INDEX_BASE + generated):
        shape = procedural.make(index, np.random.default_rng([seed, index]))
        yield f"part{index}_{shape.source}", f"ProceduralSource index {index} seed {seed}: {shape.source}", "generated", shape.mesh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meshes", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "dev-meshes")
    parser.add_argument("--out", type=Path, default=Path("/work/data/photo-bench"))
    parser.add_argument("--generated", type=int, default=20, help="generated parts (default 20)")
    parser.add_argument("--dev-views", type=int, default=2, help="views per development mesh (default 2)")
    parser.add_argument("--generated-views", type=int, default=1, help="views per generated part (default 1)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"seed of the set (default {SEED})")
    args = parser.parse_args()

    (args.out / "meshes").mkdir(parents=True, exist_ok=True)
    views = []
    for part_number, (name, source, licence, mesh) in enumerate(parts(args.meshes, args.generated, args.seed)):
        normalized, _ = normalize_mesh(mesh)
        count = args.generated_views if licence == "generated" else args.dev_views
        for view in range(count):
            rng = np.random.default_rng([args.seed, 1, part_number, view])
            rotation = random_rotation(rng)
            half_width = PADDED_HALF * (1.0 + rng.uniform(-SCALE_JITTER, SCALE_JITTER))
            view_mesh, _ = to_view_frame(normalized, rotation)
            view_name = f"{len(views):02d}_{name}_v{view}"
            path = Path("meshes") / f"{view_name}.ply"
            view_mesh.export(args.out / path)
            extent = view_mesh.bounds[1] - view_mesh.bounds[0]
            views.append({
                "name": view_name,
                "source": source,
                "licence": licence,
                "view_mesh": str(path),
                "rotation": np.round(rotation, 12).tolist(),
                "half_width": float(half_width),
                "a": 1.0 / half_width,
                "b": 1.0 / half_width,
                "extent": np.round(extent, 6).tolist(),
                "faces": len(view_mesh.faces),
            })
            print(f"{view_name:60s} h={half_width:.4f} extent={np.round(extent, 3).tolist()}", flush=True)
    (args.out / "views.json").write_text(json.dumps({"seed": args.seed, "views": views}, indent=1))
    print(f"{len(views)} views -> {args.out / 'views.json'}")


if __name__ == "__main__":
    main()
