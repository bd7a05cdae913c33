"""datasets/real_meshes: the three lists of real training meshes stay apart from each other and from the dev meshes.

A mesh trained on must never be one the project evaluates on, and a part
listed twice would be drawn twice as often; both would go unnoticed in the
figures, so the lists are checked here.
"""

import json
import re

import pytest

from helpers import DEV_MESHES, ROOT

LISTS = ROOT / "datasets" / "real_meshes"
DEV_MANIFEST = DEV_MESHES / "manifest.json"
ENTRY_KEYS = {"file", "repo", "commit", "path", "sha256", "license", "largest_body_only", "fill_holes"}


def _lists() -> dict[str, list[dict]]:
    return {path.name: json.loads(path.read_text())["meshes"] for path in sorted(LISTS.glob("sources*.json"))}


def test_every_entry_is_complete_and_pinned():
    lists = _lists()
    assert set(lists) == {"sources.json", "sources_more.json", "sources_third.json"}
    for name, entries in lists.items():
        assert entries, name
        for entry in entries:
            assert set(entry) == ENTRY_KEYS, (name, entry.get("file"))
            assert re.fullmatch(r"[0-9a-f]{40}", entry["commit"]), (name, entry["file"])
            assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]), (name, entry["file"])
            assert entry["license"].strip() and entry["path"].strip(), (name, entry["file"])


def test_no_mesh_repository_or_file_is_in_two_lists():
    lists = _lists()
    files, blobs, repos = {}, {}, {}
    for name, entries in lists.items():
        for entry in entries:
            assert files.setdefault(entry["file"], name) == name, f"{entry['file']} is in {name} and {files[entry['file']]}"
            assert blobs.setdefault(entry["sha256"], name) == name, f"{entry['file']} repeats a mesh of {blobs[entry['sha256']]}"
            # Each list draws on repositories the others leave alone, so that a list's gain is its own.
            assert repos.setdefault(entry["repo"], name) == name, f"{entry['repo']} is used by {name} and {repos[entry['repo']]}"
        assert len({entry["file"] for entry in entries}) == len(entries)


def test_no_list_uses_a_dev_mesh_or_its_repository():
    if not DEV_MANIFEST.is_file():
        pytest.skip(f"{DEV_MANIFEST} (the development meshes) is not on this machine")
    manifest = json.loads(DEV_MANIFEST.read_text())
    dev_repos = {repo.split("/")[1].lower() for repo in manifest["sources"]}
    dev_blobs = {mesh["sha256"] for mesh in manifest["meshes"]}
    for name, entries in _lists().items():
        for entry in entries:
            # By name, not owner: IsaacGymEnvs lives under two owners.
            assert entry["repo"].split("/")[1].lower() not in dev_repos, (name, entry["file"])
            assert entry["sha256"] not in dev_blobs, (name, entry["file"])
