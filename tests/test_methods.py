"""The selectable methods (issue 16): jin2022, occnet and disn behind one field interface.

(The point-cloud method and the two-stage d-occnet have their own tests:
``test_pointcloud_method.py``, ``test_doccnet.py``.)

Shapes and a gradient step, an image-conditioned overfit that beats the
trivial baseline, checkpoints that record and recover their method, the fast
field, the trainer and ``svr-desktop train --method`` / ``reconstruct``.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from svr_desktop.cli import main
from svr_desktop.geometry.mesh_io import load_mesh
from svr_desktop.inference.field import ImageField
from svr_desktop.inference.preprocess import auto_ab, prepare_photo
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.model import METHODS, ModelConfig, get_model
from svr_desktop.model.checkpoint import CheckpointError, build_model, read_model_checkpoint
from svr_desktop.model.disn import DISN
from svr_desktop.model.occnet import OccNet
from svr_desktop.progress import run_to_completion
from svr_desktop.training.checkpoint import model_from_checkpoint, read_checkpoint, save_checkpoint, ship_checkpoint
from svr_desktop.training.config import config_from_dict, load_config
from svr_desktop.training.losses import label_loss, predicted_inside
from svr_desktop.training.method_presets import METHOD_PRESETS
from svr_desktop.training.trainer import TrainSummary, train

PHOTO = Path(__file__).resolve().parents[1] / "resources" / "samples" / "flange_studio.png"

#: Every method at a size that trains in seconds (each reads the fields it uses).
SMALL = dict(
    width=8, global_features=32, image_size=64, fpn_channels=16, decoder_hidden=(32, 32, 16, 16),
    occnet_hidden=32, occnet_blocks=2, disn_hidden=32,
)
SMALL_OVERRIDES = [f"model.{key}={list(value) if isinstance(value, tuple) else value}" for key, value in SMALL.items()]
LABEL_MODE = {"jin2022": "binary", "occnet": "binary", "disn": "sdf"}
OUTPUT_KIND = {"jin2022": "occupancy", "occnet": "occupancy", "disn": "sdf"}
A = 1 / 0.55
#: The methods whose network is an implicit field of the image alone (the others output
#: points or build on another method's checkpoint).
FIELD_METHODS = [name for name, method in METHODS.items() if method.output_kind != "points" and method.stage_one is None]


def small_model(method: str, seed: int = 0):
    torch.manual_seed(seed)
    return get_model(ModelConfig(method=method, **SMALL))


def small_train_config(method: str):
    return load_config(METHOD_PRESETS[method], SMALL_OVERRIDES)


def signed_distance(points: torch.Tensor) -> torch.Tensor:
    """Inside-positive distances (B = 2): a sphere (radius 0.3) for image 0, a cube (half side 0.25) for image 1."""
    sphere = 0.3 - points[0].norm(dim=-1)
    cube = 0.25 - points[1].abs().max(dim=-1).values
    return torch.stack([sphere, cube])


def targets_for(method: str, distance: torch.Tensor) -> torch.Tensor:
    return distance if LABEL_MODE[method] == "sdf" else (distance > 0).float()


def test_the_registry_names_each_method_with_its_preset():
    assert list(METHODS) == ["jin2022", "occnet", "disn", "pointcloud", "d-occnet"]
    assert list(METHOD_PRESETS) == list(METHODS)  # train --method offers the presets' methods
    assert FIELD_METHODS == ["jin2022", "occnet", "disn"]
    assert ModelConfig().method == "jin2022"
    for name in FIELD_METHODS:
        config = load_config(METHOD_PRESETS[name])
        assert config.model.method == name and config.model.image_size == 160 and config.model.width == 32
        assert METHODS[name].output_kind_for(config.labels.mode) == OUTPUT_KIND[name]
    assert isinstance(get_model(ModelConfig(method="occnet", **SMALL)), OccNet)
    assert isinstance(get_model(ModelConfig(method="disn", **SMALL)), DISN)


@pytest.mark.parametrize(
    "values,fragment",
    [
        ({"method": "psgn"}, "unknown method 'psgn'"),
        ({"method": "occnet", "depth_head": True}, "occnet method has no layered-depth head"),
    ],
)
def test_bad_method_configs_are_refused(values, fragment):
    with pytest.raises(ValueError, match=fragment):
        ModelConfig(**{**SMALL, **values})


@pytest.mark.parametrize("method,mode", [("disn", "adaptive"), ("occnet", "sdf")])
def test_a_label_mode_the_method_cannot_train_is_refused(method, mode):
    with pytest.raises(ValueError, match=f"the {method} method trains with labels.mode"):
        config_from_dict({"model": {"method": method, **SMALL}, "labels": {"mode": mode}})


@pytest.mark.parametrize("method", FIELD_METHODS)
def test_shapes_and_a_gradient_step(method):
    model = small_model(method).train()
    g = torch.Generator().manual_seed(1)
    images = torch.rand(2, 3, 64, 64, generator=g)
    points = torch.rand(2, 300, 3, generator=g) * 1.1 - 0.55
    encoded = model.encode(images)
    assert model.query(encoded, points, A, A).shape == (2, 300)
    output, layers = model(images, points, torch.full((2,), A), torch.full((2,), A), with_layers=True)
    assert output.shape == (2, 300) and layers is None
    with pytest.raises(ValueError, match="expected images of shape"):
        model.encode(torch.rand(2, 3, 32, 32))
    counts = model.parameter_count()
    assert counts["total"] == sum(p.numel() for p in model.parameters())

    target = targets_for(method, signed_distance(points))
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):  # zero-initialized layers pass gradients on from the second step
        loss = label_loss(model(images, points, A, A), target, LABEL_MODE[method])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    unchanged = [name for (name, p), p0 in zip(model.named_parameters(), before) if torch.equal(p0, p)]
    assert not unchanged, f"parameters outside the loss (DDP needs every one): {unchanged}"


@pytest.fixture(scope="module")
def photo():
    """The sample photo as ``svr-desktop reconstruct`` prepares it for a 64 px model, with its a."""
    prepared = prepare_photo(PHOTO, SMALL["image_size"])
    return prepared, auto_ab(prepared)[0]


@pytest.fixture(scope="module", params=FIELD_METHODS)
def overfit(request, photo):
    """A small model of each method overfitted on two images: the sample photo -> sphere, noise -> cube.

    Returns the method, the model (eval mode), its IoU per image on the
    uniform training points (a volume IoU, like the product's metric) and
    those points' inside share (the IoU of predicting everything inside, the
    better of the two constant predictions).
    """
    method = request.param
    prepared, photo_a = photo
    g = torch.Generator().manual_seed(0)
    images = torch.cat([prepared.to_tensor(), torch.rand(1, 3, 64, 64, generator=g)])
    a = torch.tensor([photo_a, A])
    uniform = torch.rand(2, 512, 3, generator=g) * 1.1 - 0.55
    directions = torch.nn.functional.normalize(torch.randn(2, 512, 3, generator=g), dim=-1)
    near = directions * (0.3 + 0.05 * torch.randn(2, 512, 1, generator=g))  # around both surfaces
    points = torch.cat([uniform, near], dim=1)
    distance = signed_distance(points)
    target = targets_for(method, distance)
    model = small_model(method).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = label_loss(model(images, points, a, a), target, LABEL_MODE[method])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    settle_batch_norms(model, images, points, a)
    with torch.no_grad():
        predicted = predicted_inside(model(images, points, a, a))
    uniform_points = uniform.shape[1]  # the near-surface points decide the surface, not the volume
    truth, predicted = distance[:, :uniform_points] > 0, predicted[:, :uniform_points]
    ious = [float((predicted[i] & truth[i]).sum() / (predicted[i] | truth[i]).sum()) for i in range(2)]
    return method, model, ious, float(truth.float().mean())


def settle_batch_norms(model, images, points, a) -> None:
    """Set every batch norm's running statistics to the training batch's own, then switch to eval mode.

    Two very different images make a batch whose statistics the running
    averages of 150 steps only approach, and a distance regressed on such
    features moves its zero level visibly; with the exact statistics the
    eval-mode model computes what training optimized.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average: after one pass, that pass's statistics
    with torch.no_grad():
        model.train()(images, points, a, a)
    for norm in norms:
        norm.momentum = 0.1
    model.eval()


#: The volume IoU each method's tiny overfit must reach on both images.  DISN regresses a
#: signed distance with batch-normed decoders, and 150 steps of its tiny model land far
#: less surely: over initialization seeds 0-3 its worse image scored 0.67-0.90 here, and
#: with seed 0 the former all-points IoU passed 0.65 on the CI machine but was 0.50 on
#: another (the occupancy methods: 0.94-1.0 for every seed).
MIN_OVERFIT_IOU = {"jin2022": 0.85, "occnet": 0.85, "disn": 0.5}


def test_a_tiny_overfit_beats_the_trivial_baseline(overfit):
    method, _, ious, inside_share = overfit
    # Both images are learned, so the network tells them apart (the cube is not the sphere).
    assert min(ious) > MIN_OVERFIT_IOU[method] and min(ious) > 4 * inside_share, (method, ious, inside_share)


def save_small_checkpoint(path: Path, method: str, model=None) -> None:
    config = small_train_config(method)
    save_checkpoint(path, model if model is not None else get_model(config.model), config, {"step": 0})


@pytest.mark.parametrize("method", FIELD_METHODS)
def test_checkpoints_record_and_recover_their_method(method, tmp_path):
    model = small_model(method, seed=3).eval()
    path = tmp_path / f"{method}.safetensors"
    save_small_checkpoint(path, method, model)
    checkpoint = read_model_checkpoint(path)
    assert checkpoint.method == method and checkpoint.output_kind == OUTPUT_KIND[method]
    assert checkpoint.iso_level == (0.0 if method == "disn" else 0.5)
    images, points = torch.rand(1, 3, 64, 64), torch.rand(1, 200, 3) - 0.5
    with torch.no_grad():
        expected = model(images, points, A, A)
        for rebuilt in (build_model(checkpoint), model_from_checkpoint(read_checkpoint(path))):
            assert type(rebuilt) is type(model)
            torch.testing.assert_close(rebuilt.eval()(images, points, A, A), expected, rtol=0, atol=0)


@pytest.mark.parametrize("method", FIELD_METHODS)
def test_a_shipped_checkpoint_is_half_the_weights_without_the_optimizer_and_predicts_alike(method, tmp_path):
    """models/ holds one checkpoint per method (issue 16): float16 weights, no Adam state."""
    model = small_model(method, seed=4)
    optimizer = torch.optim.Adam(model.parameters())
    images, points = torch.rand(2, 3, 64, 64), torch.rand(2, 200, 3) - 0.5
    model(images, points, torch.full((2,), A), torch.full((2,), A)).square().mean().backward()
    optimizer.step()  # the Adam state a resume needs, and shipping drops
    source, shipped = tmp_path / "last.safetensors", tmp_path / f"{method}.safetensors"
    save_checkpoint(source, model, small_train_config(method), {"step": 1}, optimizer)
    ship_checkpoint(source, shipped)
    with safe_open(shipped, "pt") as handle:
        assert not any(key.startswith("optim.") for key in handle.keys())
        floats = {handle.get_slice(key).get_dtype() for key in handle.keys() if "num_batches" not in key}
    assert floats == {"F16"}
    assert shipped.stat().st_size < 0.3 * source.stat().st_size
    checkpoint = read_model_checkpoint(shipped)
    assert checkpoint.method == method and checkpoint.training_state == {"step": 1}
    model.eval()
    with torch.no_grad():
        expected = model(images, points, A, A)
        rebuilt = build_model(checkpoint).eval()
        assert next(rebuilt.parameters()).dtype == torch.float32
        torch.testing.assert_close(rebuilt(images, points, A, A), expected, rtol=0.02, atol=0.02)


def rewrite_config(path: Path, edit) -> None:
    """Change the config stored in a checkpoint (as an older or a foreign writer would have)."""
    with safe_open(path, "pt") as handle:
        meta = json.loads(handle.metadata()["svr_desktop"])
    edit(meta["config"])
    save_file(load_file(path), path, metadata={"svr_desktop": json.dumps(meta)})


def test_checkpoints_without_a_method_are_jin2022_and_follow_their_label_mode(tmp_path):
    path = tmp_path / "old.safetensors"
    save_small_checkpoint(path, "jin2022")

    def as_before_methods(config, mode="adaptive"):
        del config["model"]["method"]
        for key in ("occnet_hidden", "occnet_blocks", "disn_hidden", *(k for k in config["model"] if k.startswith("pointcloud_"))):
            del config["model"][key]
        config["labels"]["mode"] = mode

    rewrite_config(path, as_before_methods)
    checkpoint = read_model_checkpoint(path)
    assert checkpoint.method == "jin2022" and checkpoint.output_kind == "occupancy"
    rewrite_config(path, lambda config: config["labels"].update(mode="sdf"))
    assert read_model_checkpoint(path).output_kind == "sdf"


def test_a_checkpoint_whose_method_and_labels_disagree_is_refused(tmp_path):
    path = tmp_path / "disn.safetensors"
    save_small_checkpoint(path, "disn")
    rewrite_config(path, lambda config: config["labels"].update(mode="binary"))
    with pytest.raises(CheckpointError, match="disn method trains with labels.mode sdf"):
        read_model_checkpoint(path)


@pytest.mark.parametrize("method", ["occnet", "disn"])
def test_the_image_field_queries_every_method(method):
    model = small_model(method).train()
    with torch.no_grad():  # non-trivial running statistics for the batch norms
        for _ in range(2):
            model(torch.rand(2, 3, 64, 64), torch.rand(2, 256, 3) - 0.5, A, A)
    model.eval()
    points = np.random.default_rng(0).uniform(-0.55, 0.55, (700, 3)).astype(np.float32)
    with torch.no_grad():
        encoded = model.encode(torch.rand(1, 3, 64, 64))
        expected = model.query(encoded, torch.from_numpy(points)[None], torch.tensor([1.7]), torch.tensor([2.1]))[0]
    field = ImageField(model, encoded, 1.7, 2.1, probabilities=False)
    np.testing.assert_allclose(field(points), expected.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(field(points[:100]), expected[:100].numpy(), rtol=0, atol=1e-6)  # chunks agree


@pytest.mark.parametrize("method", ["occnet", "disn"])
def test_other_methods_read_the_image_alone_whatever_the_turns(method):
    reconstructor = Reconstructor(small_model(method).eval(), OUTPUT_KIND[method], torch.device("cpu"))
    image = (np.random.default_rng(3).random((64, 64, 3)) * 255).astype(np.uint8)
    points = np.random.default_rng(4).uniform(-0.55, 0.55, (300, 3)).astype(np.float32)
    five, one = (reconstructor.field(image, 1.7, 2.1, turns=turns)(points) for turns in (5, 1))
    np.testing.assert_array_equal(five, one)


@pytest.mark.parametrize("method", FIELD_METHODS)
def test_the_trainer_trains_each_method(method, tiny_dataset, tmp_path):
    config = load_config(METHOD_PRESETS[method], [*SMALL_OVERRIDES, "data.points_per_view=256", "data.batch_size=2", "optim.epochs=1"])
    summary = run_to_completion(train(tiny_dataset, tmp_path / "run", config))
    assert summary.steps > 0 and summary.last_val_iou is not None
    checkpoint = read_model_checkpoint(tmp_path / "run" / "last.safetensors")
    assert checkpoint.method == method and checkpoint.output_kind == OUTPUT_KIND[method]


@pytest.mark.parametrize("method", list(METHODS))
def test_train_method_starts_from_the_methods_preset(method, monkeypatch, tmp_path, capsys):
    chosen = []

    def fake_train(data_dir, run_dir, config, **_options):
        chosen.append(config)
        return TrainSummary(Path(run_dir), 0, 0, -1.0, None, None, 0.0, None)
        yield  # a progress generator that reports nothing

    # The train command imports these when it runs, from their own modules.
    monkeypatch.setattr("svr_desktop.data.dataset.load_manifest", lambda _path: None)
    monkeypatch.setattr("svr_desktop.training.trainer.train", fake_train)
    args = ["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--quiet"]
    assert main([*args, "--method", method, "--set", "optim.epochs=3"]) == 0
    (config,) = chosen
    assert config.model.method == method and config.labels.mode == load_config(METHOD_PRESETS[method]).labels.mode
    assert config.optim.epochs == 3
    assert main([*args, "--method", method, "--config", "cpu-small"]) == 2  # one source of config at a time
    assert "not allowed with argument --method" in capsys.readouterr().err


def test_reconstruct_meshes_each_method_from_its_checkpoint(overfit, tmp_path):
    """The checkpoint alone says which network and which iso-level: the photo becomes the learned sphere."""
    method, model, _, _ = overfit
    checkpoint = tmp_path / f"{method}.safetensors"
    save_small_checkpoint(checkpoint, method, model)
    out = tmp_path / f"{method}.stl"
    assert main(["reconstruct", str(PHOTO), "--out", str(out), "--checkpoint", str(checkpoint), "--resolution", "32"]) == 0
    mesh = load_mesh(out)
    assert len(mesh.faces) > 100
    # The sphere of radius 0.3, in normalized units (DISN's tiny overfit is the least exact, see
    # MIN_OVERFIT_IOU: 0.51-0.56 on one machine; a wrong iso-level would give no mesh at all).
    np.testing.assert_allclose(mesh.extents, 0.6, atol=0.15 if method == "disn" else 0.08)
