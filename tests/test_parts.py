"""Procedural part families: validity, determinism, recorded parameters, variety."""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import trimesh

from svr_desktop.data.parts import (FAMILIES, build_part, family_names, generate_part,
                                    random_part)

SEEDS = range(20)
NAMES = family_names()


@lru_cache(maxsize=None)
def parts_of(name: str) -> tuple:
    """The 20 seeded parts of a family, generated once for all tests."""
    return tuple(generate_part(name, np.random.default_rng(seed)) for seed in SEEDS)


def genus(mesh) -> int:
    """Number of through holes of a single closed body (Euler: V - E + F = 2 - 2g)."""
    return (2 - mesh.euler_number) // 2


def test_registry_has_enough_documented_families():
    assert len(NAMES) >= 12
    for name, family in FAMILIES.items():
        assert family.name == name and family.description
        names = [p.name for p in family.params]
        assert len(names) == len(set(names)), name
        assert all(p.doc for p in family.params), name


@pytest.mark.parametrize("name", NAMES)
def test_parts_are_valid_single_solids(name):
    for seed, part in zip(SEEDS, parts_of(name)):
        mesh = part.mesh
        assert part.family == name
        assert mesh.is_watertight, (name, seed)
        assert mesh.is_winding_consistent, (name, seed)
        assert mesh.volume > 0.0, (name, seed)  # outward-oriented
        assert mesh.body_count == 1, (name, seed)
        assert 100 <= len(mesh.faces) <= 25_000, (name, seed, len(mesh.faces))


@pytest.mark.parametrize("name", NAMES)
def test_generation_is_deterministic_and_params_rebuild_the_part(name):
    first = generate_part(name, np.random.default_rng(7))
    again = generate_part(name, np.random.default_rng(7))
    assert first.params == again.params
    assert first.mesh.vertices.tobytes() == again.mesh.vertices.tobytes()
    assert first.mesh.faces.tobytes() == again.mesh.faces.tobytes()
    recorded = json.loads(json.dumps(first.params))
    rebuilt = build_part(name, recorded)
    assert rebuilt.vertices.tobytes() == first.mesh.vertices.tobytes()
    assert rebuilt.faces.tobytes() == first.mesh.faces.tobytes()


@pytest.mark.parametrize("name", NAMES)
def test_params_are_json_and_every_parameter_varies(name):
    parts = parts_of(name)
    for part in parts:
        assert json.loads(json.dumps(part.params)) == part.params
    for param in FAMILIES[name].params:
        values = {json.dumps(part.params[param.name]) for part in parts}
        assert len(values) > 1, (name, param.name)
    volumes = {round(part.mesh.volume, 3) for part in parts}
    assert len(volumes) == len(parts), name


def test_flange_holes_follow_the_bolt_count():
    counts = set()
    for part in parts_of("flange"):
        p = part.params
        counts.add(p["bolt_count"])
        bore = 0 if p["style"] == "blind" else 1
        assert genus(part.mesh) == p["bolt_count"] + bore
    assert len(counts) >= 3


def _teeth_in_mid_section(part) -> int:
    """Count the teeth on the outline of the gear cut at half its face width.

    The outer outline is star-shaped about the axis, so walking its points
    by polar angle, every rise above the pitch circle is one tooth.
    """
    p = part.params
    segments = trimesh.intersections.mesh_plane(
        part.mesh, plane_normal=(0.0, 0.0, 1.0),
        plane_origin=(0.0, 0.0, 0.5 * p["face_width"] * p["module"]))
    points = segments.reshape(-1, 3)[:, :2]
    radii = np.hypot(points[:, 0], points[:, 1])
    r_pitch = 0.5 * p["module"] * p["teeth"]
    r_root = r_pitch - 1.25 * p["module"]
    outline = radii > r_root - 0.5 * p["module"]
    order = np.argsort(np.arctan2(points[outline, 1], points[outline, 0]))
    above = radii[outline][order] > r_pitch
    return int(np.sum(above & ~np.roll(above, 1)))


def test_gear_teeth_follow_the_tooth_count():
    counts = set()
    for part in parts_of("spur_gear")[:8]:
        counts.add(part.params["teeth"])
        assert _teeth_in_mid_section(part) == part.params["teeth"]
    assert len(counts) >= 4


def test_random_part_covers_many_families():
    rng = np.random.default_rng(0)
    seen = {random_part(rng).family for _ in range(60)}
    assert len(seen) >= 10


def test_dataset_doc_tables_are_current():
    """docs/dataset.md carries the output of docs/make_parts_table.py."""
    docs = Path(__file__).parents[1] / "docs"
    spec = importlib.util.spec_from_file_location("make_parts_table", docs / "make_parts_table.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.family_tables() in (docs / "dataset.md").read_text()
