"""A generated corpus of bad inputs: each gets one clear line, exit code 2 and no traceback (issue 15).

Every case runs the real command line in-process (``svr_desktop.cli.main``)
and checks that stderr holds exactly one line ``svr-desktop CMD: error: ...``
naming the culprit, that no real model was built or loaded first (building
one fails the test), that nothing was written, and for options that they
were refused within two seconds.  A few cases also run as a child process,
for the real exit path.
"""

import hashlib
import json
import shutil
import subprocess
import sys
import time
from copy import deepcopy
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import trimesh
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from svr_desktop.cli import main
from svr_desktop.data.shards import read_shard, write_shard
from svr_desktop.model.config import MAX_PARAMETERS, ModelConfig, model_size
from svr_desktop.model.methods import get_model
from svr_desktop.training.checkpoint import read_checkpoint, save_checkpoint
from svr_desktop.training.config import config_from_dict, load_config

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "resources" / "samples" / "flange_studio.png"
TINY_MODEL = ["model.image_size=64", "model.width=8", "model.fpn_channels=16", "model.decoder_hidden=[32,32,32,32]"]

#: Seconds within which a bad option must be refused.
OPTION_SECONDS = 2.0


# --- the corpus --------------------------------------------------------------

NOT_AN_INTEGER = ["many", "1.5", "true", "[1]", "{a: 1}", "null", "1e999"]
NOT_A_NUMBER = ["soon", "true", "[1]", "null", ".nan", ".inf", "1e999", "{a: 1}"]
NOT_A_FLAG = ["1", "maybe", "[true]", "null"]
NOT_A_NAME = ["5", "[fpn]", "null", "{a: 1}"]
KEYS_BY_TYPE = {
    "integer": [
        "model.width", "model.fpn_channels", "model.global_features", "model.image_size", "model.point_frequencies",
        "model.depth_layers", "data.points_per_view", "data.batch_size", "data.num_workers", "data.val_views_per_shape",
        "optim.epochs", "optim.warmup_steps", "seed", "log_every",
    ],
    "number": [
        "model.leaky_slope", "labels.fixed_s", "labels.lam", "labels.s_min", "labels.s_max", "labels.update_fraction",
        "labels.sdf_near_weight", "depth.depth_weight", "depth.valid_weight", "depth.normal_weight", "optim.lr",
        "optim.grad_clip", "optim.min_lr_fraction", "checkpoint_minutes", "data.turn_degrees",
    ],
    "flag": ["model.input_norm", "model.depth_head", "model.depth_guided", "optim.amp"],
    "name": ["model.encoder", "labels.mode", "optim.schedule"],
}
BAD_VALUES_BY_TYPE = {"integer": NOT_AN_INTEGER, "number": NOT_A_NUMBER, "flag": NOT_A_FLAG, "name": NOT_A_NAME}
OUT_OF_RANGE = {
    "model.width": ["0", "-1", "1000000"],
    "model.fpn_channels": ["0", "1000000"],
    "model.global_features": ["0", "1000000"],
    "model.image_size": ["0", "16", "100", "1000000"],
    "model.point_frequencies": ["-1", "17"],
    "model.depth_layers": ["0", "9"],
    "model.leaky_slope": ["-0.1", "1.0"],
    "model.decoder_hidden": ["[64, 64, 64]", "[0, 64, 64, 64]", "[1000000, 64, 64, 64]", "[64, 64, 64, 64, 64]", "[]", "64", "big"],
    "model.encoder": ["pointnet"],
    "data.points_per_view": ["0", "-1", "1000000000"],
    "data.batch_size": ["0", "-3", "100000"],
    "data.num_workers": ["-1", "1000"],
    "data.val_views_per_shape": ["0"],
    "data.turn_degrees": ["-1", "46"],
    "labels.mode": ["fuzzy"],
    "labels.fixed_s": ["0", "1", "1.5"],
    "labels.lam": ["0", "-1"],
    "labels.s_min": ["0", "1"],
    "labels.s_max": ["1", "-0.5"],
    "labels.update_fraction": ["0", "-0.2", "1.5"],
    "labels.sdf_near_weight": ["-1"],
    "depth.depth_weight": ["-1"],
    "depth.valid_weight": ["-0.5"],
    "depth.normal_weight": ["-2"],
    "optim.lr": ["0", "-1e-4", "100"],
    "optim.epochs": ["0", "-1", "1000000"],
    "optim.grad_clip": ["-1"],
    "optim.schedule": ["sometimes"],
    "optim.warmup_steps": ["-1"],
    "optim.min_lr_fraction": ["-0.1", "1.5"],
    "seed": ["-1", "99999999999"],
    "log_every": ["0", "-5"],
    "checkpoint_minutes": ["0", "-1"],
}
VALUE_CASES = sorted(
    {(key, value) for kind, keys in KEYS_BY_TYPE.items() for key in keys for value in BAD_VALUES_BY_TYPE[kind]}
    | {(key, value) for key, values in OUT_OF_RANGE.items() for value in values}
)

#: Values that are fine alone but not together, or describe a network too large to build.
COMBINATION_CASES = {
    "guided without head": (["model.depth_guided=true"], "depth_guided needs depth_head"),
    "global with a head": (["model.encoder=global", "model.depth_head=true"], "local encoder"),
    "s_min above s_max": (["labels.s_min=0.9", "labels.s_max=0.1"], "s_min"),
    "too many points per step": (["data.points_per_view=1000000", "data.batch_size=100"], "points per step"),
    "too wide": (["model.width=512"], "parameters"),
    "too many FPN channels": (["model.width=256", "model.fpn_channels=4096"], "parameters"),
    "too large an image": (["model.image_size=2048"], "activations"),
    "too wide a decoder": (["model.fpn_channels=4096", "model.decoder_hidden=[4096,4096,4096,4096]"], "parameters"),
}

#: Broken ``--set`` overrides: (override, fragment of the message).
OVERRIDE_CASES = [
    ("optim.lr=", "has no value"),
    ("optim.lr=  ", "has no value"),
    ("model.decoder_hidden=[1, 2", "not a YAML value"),
    ("model.decoder_hidden={a: 1", "not a YAML value"),
    ("optim.lr='open", "not a YAML value"),
    ("optim.lr=!!python/object/apply:os.system ['true']", "not a YAML value"),
    ("optim.lr=@", "not a YAML value"),
    ("optim.lr.x=3", "'optim.lr' is a value"),
    ("seed.value=3", "seed: input should be a valid integer, got a mapping"),
    ("optim.lr.x.y=3", "'optim.lr' is a value"),
    ("optim.lr", "not of the form"),
    ("=3", "not of the form"),
    ("optim..lr=3", "not of the form"),
    (".lr=3", "not of the form"),
    ("optim.=3", "not of the form"),
    ("model=5", "model: expected a mapping"),
    ("model=[1, 2]", "model: expected a mapping"),
    ("data=fast", "data: expected a mapping"),
    ("optim.learning_rate=1", "unknown keys: optim.learning_rate"),
    ("modle.width=8", "unknown keys: modle"),
    ("bogus=1", "unknown keys: bogus"),
]

#: Whole YAML files: (file contents, fragment of the message).
YAML_FILE_CASES = {
    "a list": (b"- 1\n- 2\n", "not a list"),
    "a scalar": (b"5\n", "not 5"),
    "a bare scalar section": (b"model: 5\n", "model: expected a mapping"),
    "a list section": (b"model: [1, 2]\n", "model: expected a mapping"),
    "a list of keys": (b"optim:\n  - lr\n  - epochs\n", "optim: expected a mapping"),
    "a text section": (b"data: fast\n", "data: expected a mapping"),
    "nested 100,000 deep": (b"model: " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested too deeply"),
    "nested mappings 100,000 deep": (b"model: " + b"{a: " * 100_000 + b"1" + b"}" * 100_000 + b"\n", "nested too deeply"),
    "not UTF-8": (b"model:\n  encoder: \xe9t\xe9\n", "cannot read the config"),
    "binary": (bytes(range(256)), "cannot read the config"),
    "an unclosed bracket": (b"model:\n  decoder_hidden: [1, 2\n", "cannot read the config"),
    "a tab": (b"model:\n\twidth: 8\n", "cannot read the config"),
    "a python tag": (b"model: !!python/object/apply:os.system ['true']\n", "cannot read the config"),
    "two documents": (b"seed: 1\n---\nseed: 2\n", "cannot read the config"),
    "an unknown section": (b"modle:\n  width: 8\n", "unknown keys: modle"),
    "an unknown key": (b"model:\n  widht: 8\n", "unknown keys: model.widht"),
    "a number key": (b"model:\n  1: 8\n", "model"),
    "an infinite seed": (b"seed: .inf\n", "seed"),
}


def config_value_cases() -> list:
    """(--set override, YAML text of the same value, key named in the message) for every bad value of every key."""
    cases = []
    for key, value in VALUE_CASES:
        *sections, leaf = key.split(".")
        text = f"{leaf}: {value}\n"
        for section in reversed(sections):
            text = f"{section}:\n" + "".join(f"  {line}\n" for line in text.splitlines())
        cases.append(pytest.param(f"{key}={value}", text, leaf, id=f"{key}={value}"))
    return cases


def set_keys(meta: dict, changes: dict) -> dict:
    """A copy of checkpoint metadata with ``{dotted key in its config: value}`` changed."""
    meta = deepcopy(meta)
    for dotted, value in changes.items():
        target = meta["config"]
        *parents, leaf = dotted.split(".")
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    return meta


#: Stored configs with absurd or wrong values: (dotted key in the config, value, fragment);
#: several keys at once as ``({key: value}, None, fragment)``.
CHECKPOINT_CONFIG_CASES = [
    ("model.width", 10**6, "width"),
    ("model.fpn_channels", 10**6, "fpn_channels"),
    ("model.global_features", 10**6, "global_features"),
    ("model.decoder_hidden", [10**6] * 4, "decoder_hidden"),
    ("model.decoder_hidden", [64, 64, 10**6, 64], "decoder_hidden"),
    ("model.image_size", 10**6, "image_size"),
    ("model.image_size", 2**20, "image_size"),
    ({"model.image_size": 2048, "model.width": 64}, None, "activations"),
    ("model.width", 512, "parameters"),
    ("model.fpn_channels", 4096, "parameters"),
    ("model.point_frequencies", 10**6, "point_frequencies"),
    ("model.depth_layers", 10**6, "depth_layers"),
    ("model.leaky_slope", 1e308, "leaky_slope"),
    ("model.width", "64", "width"),
    ("model.width", 64.0, "width"),
    ("model.width", None, "width"),
    ("model.width", True, "width"),
    ("model.width", -8, "width"),
    ("model.encoder", "pointnet", "encoder"),
    ("model.decoder_hidden", "big", "decoder_hidden"),
    ("model.decoder_hidden", [32, 32, 32], "decoder_hidden"),
    ("model.depth_guided", True, "depth_head"),
    ("model.input_norm", "yes", "input_norm"),
    ("model.surprise", 1, "unknown keys"),
    ("model", [], "model: expected a mapping"),
    ("model", 5, "model: expected a mapping"),
    ("data.batch_size", 10**9, "batch_size"),
    ("data.points_per_view", 10**9, "points_per_view"),
    ("optim.lr", float("inf"), "lr"),
    ("optim.epochs", 1.5, "epochs"),
    ("labels.mode", "fuzzy", "label mode"),
    ("labels", "adaptive", "labels: expected a mapping"),
    ("seed", -1, "seed"),
    ("checkpoint_minutes", "soon", "checkpoint_minutes"),
]

#: Broken metadata documents: (JSON text, fragment).
CHECKPOINT_METADATA_CASES = {
    "not JSON": ("{not json", "not a readable checkpoint"),
    "nested 100,000 deep": ('{"format": "svr-desktop-checkpoint", "version": 1, "config": ' + "[" * 100_000 + "]" * 100_000 + "}",
                            "nested too deeply"),
    "a list": ("[]", "not an SVR Desktop checkpoint"),
    "no config": ('{"format": "svr-desktop-checkpoint", "version": 1}', "configuration is invalid"),
    "a list as config": ('{"format": "svr-desktop-checkpoint", "version": 1, "config": []}', "expected a mapping"),
    "a number as config": ('{"format": "svr-desktop-checkpoint", "version": 1, "config": 7}', "expected a mapping"),
    "another version": ('{"format": "svr-desktop-checkpoint", "version": 99, "config": {}}', "version 99"),
}

GOOD_SPLITS = {"train": ["a"], "val": [], "test": ["a"]}


def manifest(**changes) -> dict:
    document = {"format": 2, "splits": GOOD_SPLITS, "shards": [{"file": "shards/missing.npz", "shapes": ["a"]}], "config": {}}
    return {**document, **changes}


#: data-set manifests: (contents as bytes, fragment).
MANIFEST_CASES = {
    "empty mapping": (b"{}", "splits: missing"),
    "a list": (b"[]", "not a data-set manifest"),
    "a number": (b"5", "not a data-set manifest"),
    "null": (b"null", "not a data-set manifest"),
    "a string": (b'"manifest"', "not a data-set manifest"),
    "no splits": (json.dumps({"format": 2, "shards": []}).encode(), "splits: missing"),
    "no shards": (json.dumps({"format": 2, "splits": GOOD_SPLITS}).encode(), "shards: missing"),
    "splits as a list": (json.dumps(manifest(splits=["train"])).encode(), "splits: expected a mapping"),
    "a split missing": (json.dumps(manifest(splits={"train": ["a"]})).encode(), "splits.val: missing"),
    "a split as text": (json.dumps(manifest(splits={**GOOD_SPLITS, "test": "a"})).encode(), "splits.test"),
    "shards as a mapping": (json.dumps(manifest(shards={"file": "x"})).encode(), "shards"),
    "a shard as a number": (json.dumps(manifest(shards=[5])).encode(), "shards.0: expected a mapping"),
    "a shard without file": (json.dumps(manifest(shards=[{"shapes": ["a"]}])).encode(), "shards.0.file: missing"),
    "a shard file as a number": (json.dumps(manifest(shards=[{"file": 3, "shapes": ["a"]}])).encode(), "shards.0.file"),
    "shard shapes as text": (json.dumps(manifest(shards=[{"file": "x", "shapes": "a"}])).encode(), "shards.0.shapes"),
    "format as text": (json.dumps(manifest(format="2")).encode(), "format"),
    "an older format": (json.dumps(manifest(format=1)).encode(), "rebuild it"),
    "build settings as a list": (json.dumps(manifest(config=[])).encode(), "config: expected a mapping"),
    "a mesh folder as a number": (json.dumps(manifest(config={"meshes": 5})).encode(), "config.meshes"),
    "nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "not UTF-8": (b'{"format": 2, "name": "\xe9t\xe9"}', "unreadable data-set manifest"),
    "truncated": (json.dumps(manifest()).encode()[:40], "unreadable data-set manifest"),
    "empty file": (b"", "unreadable data-set manifest"),
}

#: Options of each command: (command words, option, bad value, fragment of the message).
REFUSED_OPTIONS = [
    *[("reconstruct", "--faces", value) for value in ("0", "3", "-1", "many", "1.5", "")],
    *[("reconstruct", "--tolerance", value) for value in ("0", "-0.1", "0.5", "nan", "inf", "tight")],
    *[("reconstruct", "--threshold", value) for value in ("2", "-2", "nan", "inf", "-inf", "half")],
    *[("reconstruct", "--resolution", value) for value in ("7", "0", "-32", "1000", "33", "1024", "x")],
    *[("reconstruct", "--turns", value) for value in ("0", "-1", "10", "2.5", "many")],
    *[("reconstruct", "--size-mm", value) for value in ("-5", "0", "nan", "inf", "1e300", "big")],
    *[("reconstruct", option, value) for option in ("--a", "--b") for value in ("0", "-1", "nan", "inf", "wide")],
    ("reconstruct", "--dimension", "diagonal"),
    ("reconstruct", "--background", "magic"),
    ("reconstruct", "--format", "dwg"),
    *[("train", "--max-minutes", value) for value in ("-1", "-0.5", "nan", "inf", "soon")],
    *[("dataset build", "--workers", value) for value in ("0", "-1", "1000000", "all")],
    *[("dataset build", "--surface-points", value) for value in ("-5", "0", "1000000000", "many")],
    *[("dataset build", "--uniform-points", value) for value in ("0", "-1", "1000000000", "x")],
    *[("dataset build", "--shapes", value) for value in ("0", "-3", "1.5")],
    *[("dataset build", "--views", value) for value in ("0", "-1", "1000")],
    *[("dataset build", "--image-size", value) for value in ("16", "0", "1000000")],
    *[("dataset build", "--depth-size", value) for value in ("4", "5000")],
    *[("dataset build", "--depth-layers", value) for value in ("0", "9")],
    *[("dataset build", "--seed", value) for value in ("-1", "99999999999", "x")],
    *[("evaluate", "--views", value) for value in ("0", "-1", "x")],
    *[("evaluate", "--shapes", value) for value in ("0", "-1")],
    *[("evaluate", "--resolution", value) for value in ("7", "0", "100")],
    *[("evaluate", "--metric-points", value) for value in ("0", "1000000000", "x")],
    *[("evaluate", "--edge-samples", value) for value in ("0", "-5", "1000000000")],
    *[("evaluate", "--seed", value) for value in ("-1", "x")],
    ("evaluate", "--split", "training"),
    *[("calibrate", "--views", value) for value in ("0", "-1", "x")],
    *[("calibrate", "--shapes", value) for value in ("0", "-1")],
    *[("calibrate", "--tolerance", value) for value in ("-0.1", "0.5", "nan", "some")],
    *[("calibrate", "--seed", value) for value in ("-1", "x")],
    ("calibrate", "--split", "training"),
    *[("remesh", "--resolution", value) for value in ("7", "0", "100")],
    *[("compare", "--seed", value) for value in ("-1", "x")],
]
#: Devices torch cannot use here, for every command that takes --device.
BAD_DEVICES = ["tpu", "quantum", "meta", "xla", "cpu:-1", "cuda:x", "0"]
DEVICE_COMMANDS = ["reconstruct", "train", "evaluate", "calibrate"]


def nan_at(array: np.ndarray, index: int = 3) -> np.ndarray:
    """A copy of ``array`` with one NaN."""
    array = np.array(array, dtype=array.dtype)
    array.reshape(-1)[index] = np.nan
    return array


#: Shards whose shape records are broken: (change of each record, fragment of the message).
SHARD_CASES = {
    "NaN training points": (lambda r: {"train_points": nan_at(r.train_points)}, "train_points hold NaN"),
    "infinite training distances": (lambda r: {"train_distance": np.full_like(r.train_distance, np.inf)}, "train_distance hold NaN"),
    "NaN validation points": (lambda r: {"val_points": nan_at(r.val_points)}, "val_points hold NaN"),
    "NaN mesh vertices": (lambda r: {"mesh_vertices": nan_at(r.mesh_vertices)}, "mesh_vertices hold NaN"),
    "a NaN projection scale": (lambda r: {"a": nan_at(r.a, 0)}, "a hold NaN"),
    "NaN layered depth": (lambda r: {"depth_entry": nan_at(r.depth_entry)}, "depth_entry hold NaN"),
    "single-channel images": (lambda r: {"images": np.ascontiguousarray(r.images[..., :1])}, "images should be an array of V x H x W x 3"),
    "grey images without a channel axis": (lambda r: {"images": np.ascontiguousarray(r.images[..., 0])}, "images should be an array"),
    "RGBA images": (lambda r: {"images": np.concatenate([r.images, r.images[..., :1]], axis=-1)}, "images should be an array"),
    "float images": (lambda r: {"images": r.images.astype(np.float32) / 255}, "8-bit"),
    "masks of another size": (lambda r: {"masks": np.ascontiguousarray(r.masks[:, :-1])}, "masks should be an array"),
    "a view without a rotation": (lambda r: {"rotations": r.rotations[:-1]}, "with V = 1 as in rotations"),
    "fewer inside flags than points": (lambda r: {"train_inside": r.train_inside[:-1]}, "train_inside should be an array"),
    "depth maps of another size": (lambda r: {"depth_count": np.ascontiguousarray(r.depth_count[:, :-1, :-1])}, "depth_count should be an array"),
    "faces beyond the vertices": (lambda r: {"mesh_faces": r.mesh_faces + len(r.mesh_vertices)}, "mesh_faces refer to vertices"),
    "integer points": (lambda r: {"train_points": r.train_points.astype(np.int32)}, "train_points should hold real numbers"),
}
SHARD_COMMANDS = ["train", "evaluate"]

#: Mesh files that are no solid to compare: (file name, contents, fragment of the message).
MESH_CASES = [
    ("one_triangle.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "encloses no volume"),
    ("open_fan.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\nf 1 3 4\n", "encloses no volume"),
    ("collinear.obj", b"v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n", "all triangles are degenerate"),
    ("repeated_vertex.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 1 2\nf 2 3 3\n", "all triangles are degenerate"),
    ("only_degenerate.obj", b"v 0 0 0\nv 1 0 0\nv 2 0 0\nv 0 1 0\nf 1 2 3\nf 1 1 4\n", "all triangles are degenerate"),
    ("box_1e30.stl", None, "too large"),
    ("box_1e12.stl", None, "too large"),
]
#: How each command is given a mesh; compare takes it as the reference and as the candidate.
MESH_COMMANDS = ["compare reference", "compare candidate", "evaluate --meshes"]
#: Open meshes that ``evaluate`` (and ``dataset build``) repair into a solid by their winding number, as documented.
REPAIRED_BY_EVALUATE = ("open_fan.obj",)
#: Of those, the file problems that also stop ``remesh`` before any work (it repairs open meshes itself).
REMESH_REFUSES = ("all triangles are degenerate", "too large")


# --- fixtures and helpers ----------------------------------------------------


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A tiny checkpoint, a mesh folder, a schema-valid data-set folder (no shards) and a run folder."""
    root = tmp_path_factory.mktemp("bad_inputs")
    config = load_config("cpu-small", TINY_MODEL)
    save_checkpoint(root / "tiny.safetensors", get_model(config.model), config, {"step": 0})
    (root / "meshes").mkdir()
    trimesh.creation.box((1.0, 2.0, 3.0)).export(root / "meshes" / "box.stl")
    (root / "data").mkdir()
    (root / "data" / "manifest.json").write_text(json.dumps(manifest()))
    return root


@pytest.fixture(autouse=True)
def no_model_is_built(monkeypatch):
    """Building a real network (to train or to load weights into) fails the test: bad input comes first.

    The size check of a config builds its network on the ``meta`` device,
    through ``svr_desktop.model.methods.get_model``, which stays untouched.
    """

    def refuse(config):
        raise AssertionError(f"a model was built before the bad input was refused: {config}")

    monkeypatch.setattr("svr_desktop.model.checkpoint.get_model", refuse)
    monkeypatch.setattr("svr_desktop.training.trainer.get_model", refuse)


def run_cli(capsys, *args):
    """(exit code, stderr, seconds) of ``svr-desktop ARGS`` run in this process."""
    start = time.perf_counter()
    code = main([str(arg) for arg in args])
    seconds = time.perf_counter() - start
    return code, capsys.readouterr().err, seconds


def assert_one_line_error(code, stderr, command, *fragments):
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1, stderr
    assert lines[0].startswith(f"svr-desktop {command}: error: "), lines[0]
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def checkpoint_with_metadata(work: Path, name: str, metadata: str) -> Path:
    """The tiny checkpoint's weights under other metadata."""
    path = work / "checkpoints" / f"{name}.safetensors"
    path.parent.mkdir(exist_ok=True)
    save_file(load_file(work / "tiny.safetensors"), path, metadata={"svr_desktop": metadata})
    return path


def tiny_metadata(work: Path) -> dict:
    with safe_open(work / "tiny.safetensors", "pt") as handle:
        return json.loads(handle.metadata()["svr_desktop"])


def train_args(work: Path, *args):
    return ["train", "--data", work / "data", "--out", work / "run", "--quiet", *args]


# --- training configs ----------------------------------------------------------


@pytest.mark.parametrize("override,yaml_text,leaf", config_value_cases())
def test_bad_config_values_are_refused_by_set_and_in_files(work, tmp_path, capsys, override, yaml_text, leaf):
    code, stderr, _ = run_cli(capsys, *train_args(work, "--set", override))
    assert_one_line_error(code, stderr, "train", leaf)
    (tmp_path / "bad.yaml").write_text(yaml_text)
    code, stderr, _ = run_cli(capsys, *train_args(work, "--config", tmp_path / "bad.yaml"))
    assert_one_line_error(code, stderr, "train", leaf)
    assert not (work / "run").exists()


@pytest.mark.parametrize("overrides,fragment", COMBINATION_CASES.values(), ids=COMBINATION_CASES)
def test_values_that_clash_or_make_a_model_too_large_are_refused(work, capsys, overrides, fragment):
    code, stderr, _ = run_cli(capsys, *train_args(work, *[arg for item in overrides for arg in ("--set", item)]))
    assert_one_line_error(code, stderr, "train", fragment)


@pytest.mark.parametrize("override,fragment", OVERRIDE_CASES, ids=[case[0] for case in OVERRIDE_CASES])
def test_broken_overrides_are_refused(work, capsys, override, fragment):
    assert_one_line_error(*run_cli(capsys, *train_args(work, "--set", override))[:2], "train", fragment)


@pytest.mark.parametrize("contents,fragment", YAML_FILE_CASES.values(), ids=YAML_FILE_CASES)
def test_broken_config_files_are_refused_with_their_name(work, tmp_path, capsys, contents, fragment):
    path = tmp_path / "broken.yaml"
    path.write_bytes(contents)
    code, stderr, _ = run_cli(capsys, *train_args(work, "--config", path))
    assert_one_line_error(code, stderr, "train", fragment, "broken.yaml")


@pytest.mark.parametrize("source,fragment", [("missing.yaml", "No such file"), ("folder.yaml", "Is a directory"), ("gpu-huge", "unknown preset")])
def test_missing_config_sources_are_refused(work, tmp_path, capsys, monkeypatch, source, fragment):
    (tmp_path / "folder.yaml").mkdir()
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(*run_cli(capsys, *train_args(work, "--config", source))[:2], "train", fragment)


def test_scientific_numbers_and_empty_sections_in_files_mean_what_they_say(tmp_path):
    (tmp_path / "run.yaml").write_text("model:\noptim:\n  lr: 1e-3\n  epochs: 3\nlabels:\n  fixed_s: 5e-1\n  mode: fixed\n")
    config = load_config(tmp_path / "run.yaml", ["optim.min_lr_fraction=2.5E-2"])
    assert config.optim.lr == 1e-3 and config.labels.fixed_s == 0.5 and config.optim.min_lr_fraction == 0.025
    assert config.model == ModelConfig()  # an empty section keeps its defaults
    assert config_from_dict(json.loads(json.dumps(config.as_dict()))) == config


# --- checkpoints ---------------------------------------------------------------


@pytest.mark.parametrize("key,value,fragment", CHECKPOINT_CONFIG_CASES, ids=[f"{k}={v!r}"[:40] for k, v, _ in CHECKPOINT_CONFIG_CASES])
def test_checkpoints_with_absurd_configs_are_refused_before_a_model_is_built(work, tmp_path, capsys, key, value, fragment):
    """``reconstruct`` reads the model and labels sections, which build the network; a resume reads them all."""
    changes = key if isinstance(key, dict) else {key: value}
    checkpoint = checkpoint_with_metadata(work, "absurd", json.dumps(set_keys(tiny_metadata(work), changes)))
    if next(iter(changes)).split(".")[0] in ("model", "labels"):
        out = tmp_path / "absurd.stl"
        code, stderr, _ = run_cli(capsys, "reconstruct", PHOTO, "--out", out, "--checkpoint", checkpoint)
        assert_one_line_error(code, stderr, "reconstruct", "its configuration is invalid", fragment)
        assert stderr.count(str(checkpoint)) == 1
        assert not out.exists()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "last.safetensors").write_bytes(checkpoint.read_bytes())
    code, stderr, _ = run_cli(capsys, "train", "--data", work / "data", "--out", tmp_path / "run", "--resume", "--quiet")
    assert_one_line_error(code, stderr, "train", "its configuration is invalid", fragment)
    # nothing damaged: the run keeps its checkpoint as it was, and gains nothing
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["last.safetensors"]
    assert (tmp_path / "run" / "last.safetensors").read_bytes() == checkpoint.read_bytes()


@pytest.mark.parametrize("metadata,fragment", CHECKPOINT_METADATA_CASES.values(), ids=CHECKPOINT_METADATA_CASES)
def test_checkpoints_with_broken_metadata_are_refused(work, capsys, metadata, fragment):
    checkpoint = checkpoint_with_metadata(work, "broken", metadata)
    code, stderr, _ = run_cli(capsys, "reconstruct", PHOTO, "--out", work / "broken.stl", "--checkpoint", checkpoint)
    assert_one_line_error(code, stderr, "reconstruct", fragment)


@pytest.mark.parametrize("command", ["train --resume", "evaluate"])
@pytest.mark.parametrize("changes,fragment", [({"model.width": 10**6}, "width"), ({"model.image_size": 2048, "model.width": 64}, "activations")])
def test_resume_and_evaluate_refuse_absurd_checkpoints_too(work, tmp_path, capsys, command, changes, fragment):
    checkpoint = checkpoint_with_metadata(work, "absurd", json.dumps(set_keys(tiny_metadata(work), changes)))
    if command == "evaluate":
        args = ["evaluate", "--checkpoint", checkpoint, "--meshes", work / "meshes", "--out", tmp_path / "report", "--quiet"]
    else:
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "last.safetensors").write_bytes(checkpoint.read_bytes())
        args = ["train", "--data", work / "data", "--out", tmp_path / "run", "--resume", "--quiet"]
    code, stderr, _ = run_cli(capsys, *args)
    assert_one_line_error(code, stderr, command.split()[0], "configuration is invalid", fragment)
    assert not (tmp_path / "report").exists()


def test_the_shipped_model_loads_with_its_config():
    # Fields added after it was written (e.g. the point-cloud method's) take their defaults.
    config = read_checkpoint(ROOT / "models" / "default.safetensors").config
    assert (config.model.width, config.model.depth_head, config.model.depth_guided, config.optim.schedule) == (32, True, True, "cosine")


def test_the_size_bound_is_measured_on_the_real_network():
    config = ModelConfig(encoder="fpn_global", width=8, fpn_channels=16, image_size=64, depth_head=True, depth_guided=True)
    parameters, activations = model_size(config)
    assert parameters == sum(p.numel() for p in get_model(config).parameters())
    assert 0 < activations < 64 * 64 * 8 * 100
    assert model_size(load_config("paper").model)[0] < MAX_PARAMETERS / 5


# --- data-set manifests --------------------------------------------------------


@pytest.mark.parametrize("command", ["train", "evaluate"])
@pytest.mark.parametrize("contents,fragment", MANIFEST_CASES.values(), ids=MANIFEST_CASES)
def test_broken_manifests_are_refused_by_train_and_evaluate(work, tmp_path, capsys, command, contents, fragment):
    (tmp_path / "manifest.json").write_bytes(contents)
    if command == "train":
        args = ["train", "--data", tmp_path, "--out", tmp_path / "run", "--quiet"]
    else:
        args = ["evaluate", "--checkpoint", work / "tiny.safetensors", "--data", tmp_path, "--out", tmp_path / "report", "--quiet"]
    code, stderr, _ = run_cli(capsys, *args)
    assert_one_line_error(code, stderr, command, fragment, str(tmp_path))  # names the data set or its manifest
    assert not (tmp_path / "run").exists() and not (tmp_path / "report").exists()


def test_a_manifest_naming_a_missing_shard_is_refused_by_evaluate(work, tmp_path, capsys):
    args = ["evaluate", "--checkpoint", work / "tiny.safetensors", "--data", work / "data", "--out", tmp_path / "report", "--quiet"]
    assert_one_line_error(*run_cli(capsys, *args)[:2], "evaluate", "missing.npz", "not a readable data-set shard")


# --- command-line options ------------------------------------------------------


def command_args(work: Path, command: str, option: str, value: str) -> list:
    out = work / "outputs" / "never"
    given = f"{option}={value}"
    return {
        "reconstruct": ["reconstruct", PHOTO, "--out", out / "part.stl", "--checkpoint", work / "tiny.safetensors", given],
        "train": ["train", "--data", work / "data", "--out", out, given],
        "dataset build": ["dataset", "build", "--out", out, given],
        "evaluate": ["evaluate", "--checkpoint", work / "tiny.safetensors", "--meshes", work / "meshes", "--out", out, given],
        "calibrate": ["calibrate", "--checkpoint", work / "tiny.safetensors", "--meshes", work / "meshes", "--out", out / "c.safetensors", given],
        "remesh": ["remesh", work / "meshes" / "box.stl", "--out", out / "box.stl", given],
        "compare": ["compare", work / "meshes" / "box.stl", work / "meshes" / "box.stl", given],
    }[command]


@pytest.mark.parametrize("command,option,value", REFUSED_OPTIONS, ids=[" ".join(case) for case in REFUSED_OPTIONS])
def test_bad_options_are_refused_while_parsing(work, capsys, command, option, value):
    code, stderr, seconds = run_cli(capsys, *command_args(work, command, option, value))
    assert_one_line_error(code, stderr, command, f"argument {option}")
    assert seconds < OPTION_SECONDS
    assert not (work / "outputs").exists()


@pytest.mark.parametrize("command", DEVICE_COMMANDS)
@pytest.mark.parametrize("device", BAD_DEVICES)
def test_unknown_devices_are_refused_before_any_model_loads(work, capsys, command, device):
    code, stderr, seconds = run_cli(capsys, *command_args(work, command, "--device", device))
    assert_one_line_error(code, stderr, command, f"device '{device}'")
    assert seconds < OPTION_SECONDS
    assert not (work / "outputs").exists()


@pytest.mark.parametrize("threshold", ["0", "-0.5", "1"])
def test_a_threshold_outside_the_models_range_is_refused_before_the_model_is_built(work, capsys, threshold):
    code, stderr, _ = run_cli(capsys, *command_args(work, "reconstruct", "--threshold", threshold))
    assert_one_line_error(code, stderr, "reconstruct", "--threshold", "occupancy probabilities")
    assert not (work / "outputs").exists()


def test_the_corpus_holds_at_least_200_bad_inputs():
    sizes = [
        2 * len(VALUE_CASES), len(COMBINATION_CASES), len(OVERRIDE_CASES), len(YAML_FILE_CASES),
        len(CHECKPOINT_CONFIG_CASES) + len(CHECKPOINT_METADATA_CASES), 2 * len(MANIFEST_CASES),
        len(REFUSED_OPTIONS), len(BAD_DEVICES) * len(DEVICE_COMMANDS),
        len(SHARD_CASES) * len(SHARD_COMMANDS), len(MESH_COMMAND_CASES),
    ]
    assert sum(sizes) >= 200 and min(sizes) > 0


# --- data-set shards ------------------------------------------------------------


def dataset_files(root: Path) -> dict[str, str]:
    """{relative path: SHA-256} of every file under ``root``."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def broken_datasets(tiny_dataset, tmp_path_factory):
    """{case: a copy of the tiny data set whose shards hold the case's broken records}."""
    root = tmp_path_factory.mktemp("broken_shards")
    made = {}
    for index, (name, (change, _)) in enumerate(SHARD_CASES.items()):
        folder = root / f"case{index}"
        shutil.copytree(tiny_dataset, folder, ignore=shutil.ignore_patterns("cache"))
        for shard in sorted((folder / "shards").glob("*.npz")):
            write_shard(shard, [replace(record, **change(record)) for record in read_shard(shard)])
        made[name] = folder
    return made


@pytest.mark.parametrize("command", SHARD_COMMANDS)
@pytest.mark.parametrize("case", SHARD_CASES)
def test_broken_shards_are_refused_naming_the_shard_and_shape(broken_datasets, work, tmp_path, capsys, command, case):
    """NaN points, single-channel images, ... used to train silently (IoU 0) or fail in a loader worker with a traceback."""
    data, fragment = broken_datasets[case], SHARD_CASES[case][1]
    before = dataset_files(data)
    if command == "train":
        args = ["train", "--data", data, "--out", tmp_path / "run", "--quiet", *[a for item in TINY_MODEL for a in ("--set", item)]]
    else:
        args = ["evaluate", "--checkpoint", work / "tiny.safetensors", "--data", data, "--out", tmp_path / "report", "--quiet"]
    code, stderr, _ = run_cli(capsys, *args)
    assert_one_line_error(code, stderr, command, fragment, "shard_", "rebuild the data set")
    assert not (tmp_path / "run").exists() and not (tmp_path / "report").exists()
    assert dataset_files(data) == before  # no cache copy made of a broken shard, nothing rewritten


def test_a_cached_copy_made_before_the_check_is_refused_naming_the_shard(tiny_dataset, tmp_path, capsys):
    """A memory-mapped copy of a broken shard, made by an earlier version, still has its shapes checked."""
    from svr_desktop.data.dataset import CACHE_DIR
    from svr_desktop.data.shards import shard_bytes

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data, ignore=shutil.ignore_patterns("cache"))
    for shard in sorted((data / "shards").glob("*.npz")):
        broken = [replace(record, images=np.ascontiguousarray(record.images[..., 0])) for record in read_shard(shard)]
        (data / CACHE_DIR).mkdir(exist_ok=True)
        (data / CACHE_DIR / shard.name).write_bytes(shard_bytes(broken, compress=False))  # newer than the shard
    args = ["train", "--data", data, "--out", tmp_path / "run", "--quiet", *[a for item in TINY_MODEL for a in ("--set", item)]]
    code, stderr, _ = run_cli(capsys, *args)
    assert_one_line_error(code, stderr, "train", f"{data / 'shards'}/shard_", "images should be an array", "rebuild the data set")
    assert f"/{CACHE_DIR}/" not in stderr and "data-set cache" not in stderr


def test_the_shipped_kind_of_shard_passes_the_check(tiny_dataset, tmp_path):
    """The check refuses nothing that a build writes, and a memory-mapped copy is checked without reading its values."""
    from svr_desktop.data.shards import read_mapped_shard, record_problem

    shard = next((tiny_dataset / "shards").glob("*.npz"))
    assert all(record_problem(record) is None for record in read_shard(shard))
    assert all(record_problem(record, check_values=False) is None for record in read_mapped_shard(shard, tmp_path / "cache"))


# --- meshes ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_meshes(tmp_path_factory):
    """{file name: a folder holding only that mesh file}."""
    root = tmp_path_factory.mktemp("bad_meshes")
    folders = {}
    for name, contents, _ in MESH_CASES:
        folder = root / Path(name).stem
        folder.mkdir()
        if contents is not None:
            (folder / name).write_bytes(contents)
        else:
            box = trimesh.creation.box((1.0, 2.0, 3.0))
            box.apply_scale(float(name.split("_")[1].removesuffix(".stl")))
            box.export(folder / name)
        folders[name] = folder
    return folders


MESH_COMMAND_CASES = [
    pytest.param(command, name, fragment, id=f"{name}-{command}")
    for name, _, fragment in MESH_CASES
    for command in MESH_COMMANDS
    if not (command.startswith("evaluate") and name in REPAIRED_BY_EVALUATE)
]


@pytest.mark.parametrize("command,name,fragment", MESH_COMMAND_CASES)
def test_meshes_that_are_no_solid_are_refused_not_scored(work, bad_meshes, tmp_path, capsys, command, name, fragment):
    """A single triangle or only degenerate faces used to score IoU 0; a box scaled by 1e30 printed numpy warnings first."""
    mesh, good = bad_meshes[name] / name, work / "meshes" / "box.stl"
    before = mesh.read_bytes()
    if command == "compare reference":
        args = ["compare", mesh, good]
    elif command == "compare candidate":
        args = ["compare", good, mesh]
    else:
        args = ["evaluate", "--checkpoint", work / "tiny.safetensors", "--meshes", bad_meshes[name], "--out", tmp_path / "report", "--quiet"]
    code, stderr, _ = run_cli(capsys, *args)
    assert_one_line_error(code, stderr, command.split()[0], name, fragment)
    assert mesh.read_bytes() == before and not (tmp_path / "report").exists()
    if fragment in REMESH_REFUSES:
        code, stderr, _ = run_cli(capsys, "remesh", mesh, "--out", tmp_path / "solid.stl")
        assert_one_line_error(code, stderr, "remesh", name, fragment)
        assert not (tmp_path / "solid.stl").exists()


def test_a_build_from_meshes_that_are_all_unusable_says_why(bad_meshes, tmp_path, capsys):
    folder = bad_meshes["one_triangle.obj"]
    code, stderr, _ = run_cli(capsys, "dataset", "build", "--out", tmp_path / "data", "--meshes", folder,
                              "--views", 1, "--image-size", 64, "--depth-size", 64, "--workers", 1)
    line = stderr.strip().splitlines()[-1]  # after its plain progress lines
    assert code == 2 and "Traceback" not in stderr
    assert line.startswith("svr-desktop dataset build: error: ") and "no usable shapes" in line
    assert "one_triangle.obj" in line and "no volume" in line, line


# --- the real exit path ----------------------------------------------------------


def test_errors_leave_a_real_process_as_one_line_and_exit_code_2(work, tmp_path):
    absurd = checkpoint_with_metadata(work, "absurd_subprocess", json.dumps(set_keys(tiny_metadata(work), {"model.width": 10**6})))
    (tmp_path / "manifest.json").write_text("{}")
    cases = {
        "data.batch_size": train_args(work, "--set", "data.batch_size=many"),
        "its configuration is invalid": ["reconstruct", PHOTO, "--out", tmp_path / "a.stl", "--checkpoint", absurd],
        "not a data-set manifest": ["evaluate", "--checkpoint", absurd, "--data", tmp_path, "--out", tmp_path / "report"],
    }
    for fragment, args in cases.items():
        result = subprocess.run([sys.executable, "-m", "svr_desktop", *map(str, args)], capture_output=True, text=True, timeout=120)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and fragment in lines[0], result.stderr
        assert "Traceback" not in result.stderr
