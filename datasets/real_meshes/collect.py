"""Fetch the real part meshes listed in ``sources.json`` into a folder that ``dataset build --meshes`` reads.

These are 226 single-part meshes (robot links, gripper fingers, printed
brackets and mounts) from permissively licensed public repositories. Training
on their renders shows the network real CAD geometry, not only the procedural
generator's 17 families: the model card's session 11 fine-tune did so
(``README.md`` beside this file says how they were chosen).  Each file is read
from a clone of its repository at the recorded commit and checked against
its recorded sha256; a mesh whose file held small extra bodies keeps only its
largest, and the few with holes are closed (trimesh's ``fill_holes``) as when
the list was made, so the folder is the same on every machine.

    python datasets/real_meshes/collect.py --out /work/data/real-train-src/meshes [--clones DIR] [--sources LIST]

``--sources`` names another list in the same format (``sources_more.json``:
187 printed, drive-train and fixture parts; ``sources_third.json``: 140
chunky parts of other kinds; ``README.md`` says how they were chosen).

Needs ``git`` and network access to github.com.  Clones are kept in
``--clones`` (default: a ``clones`` folder beside ``--out``), so a second run
only writes what is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
from pathlib import Path

import numpy as np
import trimesh
from scipy.spatial import QhullError

from svr_desktop.files import atomic_write_bytes

SOURCES = Path(__file__).with_name("sources.json")


def _clone(repo: str, commit: str, clones: Path) -> Path:
    """A blob-less clone of ``repo`` that holds ``commit``."""
    folder = clones / repo.replace("/", "+")
    if not folder.exists():
        subprocess.run(
            ["git", "clone", "--quiet", "--filter=blob:none", "--no-checkout", f"https://github.com/{repo}", str(folder)],
            check=True,
        )
    known = subprocess.run(["git", "-C", str(folder), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True)
    if known.returncode != 0:
        subprocess.run(["git", "-C", str(folder), "fetch", "--quiet", "origin", commit], check=True)
    return folder


def _body_volume(body: trimesh.Trimesh) -> float:
    """A body's volume; its convex hull's when it is open; 0 when it is flat (a stray face or two)."""
    if body.is_watertight:
        return abs(body.volume)
    try:
        return body.convex_hull.volume
    except QhullError:
        return 0.0


def _largest_body(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """The body with the largest volume."""
    bodies = mesh.split(only_watertight=False)
    return bodies[int(np.argmax([_body_volume(body) for body in bodies]))]


def _prepared(data: bytes, entry: dict) -> bytes:
    """The file as stored in the folder: unchanged, or the recorded repair as PLY."""
    if not (entry["largest_body_only"] or entry["fill_holes"]):
        return data
    mesh = trimesh.load(io.BytesIO(data), file_type=Path(entry["path"]).suffix.lower().lstrip("."), force="mesh")
    mesh.merge_vertices()
    if entry["largest_body_only"]:
        mesh = _largest_body(mesh)
    if entry["fill_holes"]:
        trimesh.repair.fill_holes(mesh)
    trimesh.repair.fix_normals(mesh)
    if not mesh.is_watertight:
        raise ValueError(f"{entry['repo']}:{entry['path']}: not watertight after its recorded repair")
    return mesh.export(file_type="ply")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write the meshes to")
    parser.add_argument("--clones", type=Path, default=None, help="where to keep the repositories' clones")
    parser.add_argument("--sources", type=Path, default=SOURCES, help="the list of meshes (default: sources.json beside this file)")
    args = parser.parse_args()
    clones = args.clones or args.out.parent / "clones"
    clones.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    entries = json.loads(args.sources.read_text())["meshes"]
    written = 0
    for entry in entries:
        target = args.out / entry["file"]
        if target.exists():
            continue
        folder = _clone(entry["repo"], entry["commit"], clones)
        data = subprocess.run(
            ["git", "-C", str(folder), "show", f"{entry['commit']}:{entry['path']}"], check=True, capture_output=True
        ).stdout
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ValueError(f"{entry['repo']}:{entry['path']}: its content is not the recorded one (sha256 differs)")
        atomic_write_bytes(target, _prepared(data, entry))
        written += 1
    print(f"{args.out}: {len(entries)} meshes ({written} written now)")


if __name__ == "__main__":
    main()
