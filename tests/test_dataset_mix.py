"""Training mixes: one manifest over several data sets' shards, honest splits, no cache clashes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from svr_desktop.data.builder import BuildConfig, build_dataset
from svr_desktop.data.dataset import ViewDataset, load_split
from svr_desktop.data.mix import write_mix
from svr_desktop.geometry.sampling import SamplingConfig
from svr_desktop.progress import run_to_completion

SMALL = dict(
    shapes=6,
    views=1,
    image_size=32,
    depth_size=32,
    shapes_per_shard=2,
    val_points=100,
    split_fractions=(0.5, 0.25, 0.25),
    sampling=SamplingConfig(surface_points=200, uniform_points=20),
)


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """The same six parts in both render styles, and six others split by another seed."""
    roots = {}
    for name, overrides in {"photo": dict(seed=5, render_style="photo"), "studio": dict(seed=5, render_style="studio"),
                            "reseeded": dict(seed=6, render_style="studio")}.items():
        roots[name] = tmp_path_factory.mktemp(name)
        run_to_completion(build_dataset(roots[name], BuildConfig(**{**SMALL, **overrides})))
    return roots


def _manifest(root):
    return json.loads((root / "manifest.json").read_text())


def test_a_mix_trains_on_both_builds_without_mixing_up_their_shards(builds, tmp_path):
    photo, studio = builds["photo"], builds["studio"]
    mix = write_mix(tmp_path / "mix", [photo, studio])
    assert mix["splits"] == _manifest(photo)["splits"]
    assert len(mix["shards"]) == len(_manifest(photo)["shards"]) + len(_manifest(studio)["shards"])
    # Both builds name their shards shard_00000.npz ...: the mapped copies must not clash.
    records = load_split(tmp_path / "mix", "train", mapped=True)
    train_ids = mix["splits"]["train"]
    assert len(records) == 2 * len(train_ids)
    for shape_id in train_ids:
        pair = [record for record in records if record.shape_id == shape_id]
        own = [r for root in (photo, studio) for r in load_split(root, "train") if r.shape_id == shape_id]
        assert sorted(r.images[0].tobytes() for r in pair) == sorted(r.images[0].tobytes() for r in own)
        assert pair[0].images[0].tobytes() != pair[1].images[0].tobytes()  # one photo-style, one studio view
    assert len(ViewDataset(tmp_path / "mix", "train", points_per_view=16)) == 2 * len(train_ids)
    assert (photo / "shards").is_dir() and not (tmp_path / "mix" / "shards").exists()  # nothing copied


def test_shards_named_by_a_relative_path_outside_the_folder_get_their_own_copies(builds, tmp_path):
    """A hand-made manifest may point into sibling data sets with '../': same clash, same cure."""
    photo, studio = builds["photo"], builds["studio"]
    mix = write_mix(tmp_path / "mix", [photo, studio])
    for shard in mix["shards"]:
        shard["file"] = os.path.relpath(shard["file"], tmp_path / "mix")
    assert all(shard["file"].startswith("..") for shard in mix["shards"])
    (tmp_path / "mix" / "manifest.json").write_text(json.dumps(mix))
    records = load_split(tmp_path / "mix", "train", mapped=True)
    own = [r for root in (photo, studio) for r in load_split(root, "train")]
    assert sorted(r.images[0].tobytes() for r in records) == sorted(r.images[0].tobytes() for r in own)


def test_a_shape_keeps_the_split_of_the_first_data_set_that_lists_it(builds, tmp_path):
    first, other = _manifest(builds["studio"])["splits"], _manifest(builds["reseeded"])["splits"]
    assert first != other  # the same ids, split by another seed
    mix = write_mix(tmp_path / "mix", [builds["studio"], builds["reseeded"]])
    assert mix["splits"] == first
    for split in ("train", "val", "test"):
        records = load_split(tmp_path / "mix", split)
        assert {record.shape_id for record in records} == set(first[split])
    assert not set(mix["splits"]["train"]) & set(mix["splits"]["test"])


def test_validation_can_be_limited_to_the_first_data_sets_views(builds, tmp_path):
    mix = write_mix(tmp_path / "mix", [builds["photo"], builds["studio"]], val_from_first=True)
    val = load_split(tmp_path / "mix", "val")
    own = load_split(builds["photo"], "val")
    assert [r.images[0].tobytes() for r in val] == [r.images[0].tobytes() for r in own]
    assert len(load_split(tmp_path / "mix", "train")) == 2 * len(mix["splits"]["train"])


def test_mixes_that_cannot_work_are_refused_in_one_line(builds, tmp_path):
    with pytest.raises(ValueError, match="at least two"):
        write_mix(tmp_path / "one", [builds["photo"]])
    bigger = tmp_path / "bigger"
    run_to_completion(build_dataset(bigger, BuildConfig(**{**SMALL, "shapes": 2, "image_size": 48, "depth_size": 48})))
    with pytest.raises(ValueError, match="other image, depth-map or voxel sizes"):
        write_mix(tmp_path / "mix", [builds["photo"], bigger])
    with pytest.raises(ValueError, match="holds a built data set"):
        write_mix(builds["studio"], [builds["photo"], builds["reseeded"]])
    with pytest.raises(ValueError, match="no manifest.json"):
        write_mix(tmp_path / "mix", [builds["photo"], tmp_path / "missing"])
    assert not (tmp_path / "mix").exists()


def test_cli_writes_the_mix_and_says_what_is_in_it(builds, tmp_path):
    command = [sys.executable, "-m", "svr_desktop", "dataset", "mix", str(builds["photo"]), str(builds["studio"]),
               "--out", str(tmp_path / "mix"), "--val-from-first"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "a mix of 2 data sets" in done.stdout and "shapes 2 train, 2 val, 2 test" in done.stdout
    assert np.array_equal(sorted(_manifest(tmp_path / "mix")["splits"]["val"]), sorted(_manifest(builds["photo"])["splits"]["val"]))
    bad = subprocess.run(command[:6] + ["--out", str(tmp_path / "one")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "dataset mix: error: a mix needs at least two data sets" in bad.stderr
