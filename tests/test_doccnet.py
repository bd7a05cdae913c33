"""The two-stage ``d-occnet`` method (issue 16, reference 004).

Stage 2 on point clouds (shapes, a gradient step that leaves the frozen
stage 1 alone, order invariance, an overfit that beats the trivial
baseline), the link between the stages (stage 1's mesh sampled to a cloud),
the trainer on top of an occnet run, and the clear errors of bad
combinations: no stage 1, a stage 1 of the wrong method, a checkpoint
stripped of its stage 1.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from svr_desktop.cli import main
from svr_desktop.geometry.mesh_io import load_mesh
from svr_desktop.model import ModelConfig, get_model
from svr_desktop.model.checkpoint import CheckpointError, build_model, read_model_checkpoint
from svr_desktop.model.doccnet import DOccNet, PointNetEncoder
from svr_desktop.progress import run_to_completion
from svr_desktop.training.config import load_config
from svr_desktop.training.losses import label_loss, predicted_inside
from svr_desktop.training.trainer import train

PHOTO = Path(__file__).resolve().parents[1] / "resources" / "samples" / "flange_studio.png"
SMALL = dict(width=8, global_features=32, image_size=64, occnet_hidden=32, occnet_blocks=2, doccnet_points=200, doccnet_features=64)
SMALL_OVERRIDES = [f"model.{key}={value}" for key, value in SMALL.items()]
TRAIN_OVERRIDES = [*SMALL_OVERRIDES, "data.points_per_view=256", "data.batch_size=2", "optim.epochs=1"]


def small_model(seed: int = 0) -> DOccNet:
    torch.manual_seed(seed)
    return get_model(ModelConfig(method="d-occnet", **SMALL))


def sphere_stage_one(model: DOccNet, radius: float = 0.3) -> None:
    """Make stage 1's field a sphere of ``radius`` (logit = signed distance, inside positive)."""
    model.stage_one.query = lambda encoded, points, a, b: radius - points.norm(dim=-1)


def clouds(count: int, seed: int = 0) -> torch.Tensor:
    """(2, count, 3) surface samples: a sphere of radius 0.3 and a cube of half side 0.25."""
    g = torch.Generator().manual_seed(seed)
    sphere = 0.3 * torch.nn.functional.normalize(torch.randn(count, 3, generator=g), dim=-1)
    cube = torch.rand(count, 3, generator=g) * 0.5 - 0.25
    face = torch.randint(0, 3, (count,), generator=g)
    cube[torch.arange(count), face] = 0.25 * torch.sign(torch.randn(count, generator=g))
    return torch.stack([sphere, cube])


def inside(points: torch.Tensor) -> torch.Tensor:
    return torch.stack([points[0].norm(dim=-1) < 0.3, points[1].abs().max(dim=-1).values < 0.25])


def test_stage_two_shapes_and_a_gradient_step_leave_stage_one_frozen():
    model = small_model().train()
    assert not model.stage_one.training  # its batch norms keep their statistics
    shape_points, points = clouds(200), torch.rand(2, 300, 3) - 0.5
    output, layers = model(None, points, 1.0, 1.0, with_layers=True, shape_points=shape_points)
    assert output.shape == (2, 300) and layers is None
    counts = model.parameter_count()
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    assert counts["stage_one"] == sum(p.numel() for p in model.stage_one.parameters()) > 0

    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    target = inside(points).float()
    for _ in range(3):
        loss = label_loss(model(None, points, 1.0, 1.0, shape_points=shape_points), target, "binary")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    changed = {name for name, p in model.named_parameters() if not torch.equal(before[name], p)}
    assert changed == {name for name in before if not name.startswith("stage_one.")}


def test_the_point_encoder_ignores_the_order_of_the_points():
    encoder = PointNetEncoder(16, 24)
    cloud = clouds(100)[:1]
    shuffled = cloud[:, torch.randperm(100)]
    torch.testing.assert_close(encoder(shuffled), encoder(cloud))
    assert encoder(cloud).shape == (1, 24)


def test_stage_one_mesh_is_sampled_into_a_fixed_cloud():
    model = small_model().eval()
    sphere_stage_one(model)
    images = torch.rand(2, 3, 64, 64)
    cloud = model.stage_one_points(images)
    assert cloud.shape == (2, 200, 3)
    np.testing.assert_allclose(cloud.norm(dim=-1).numpy(), 0.3, atol=0.01)  # on stage 1's sphere
    assert cloud[0, :, 2].std() > 0.1  # spread over the surface, not one spot
    torch.testing.assert_close(model.stage_one_points(images), cloud)  # one photo, one cloud


def test_a_stage_one_that_sees_nothing_still_gives_a_cloud_where_it_is_most_sure():
    model = small_model().eval()
    centre = torch.tensor([0.25, -0.25, 0.0])
    model.stage_one.query = lambda encoded, points, a, b: -1.0 - (points - centre).norm(dim=-1)  # no surface anywhere
    cloud = model.stage_one_points(torch.rand(1, 3, 64, 64))
    assert cloud.shape == (1, 200, 3)
    assert (cloud[0] - centre).norm(dim=-1).max() < 0.3


def test_a_tiny_overfit_on_clouds_beats_the_trivial_baseline():
    model = small_model().train()
    g = torch.Generator().manual_seed(0)
    points = torch.rand(2, 1024, 3, generator=g) * 1.1 - 0.55
    truth = inside(points)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(150):
        loss = label_loss(model(None, points, 1.0, 1.0, shape_points=clouds(200, seed=step)), truth.float(), "binary")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = predicted_inside(model(None, points, 1.0, 1.0, shape_points=clouds(200, seed=999)))
    ious = [float((predicted[i] & truth[i]).sum() / (predicted[i] | truth[i]).sum()) for i in range(2)]
    assert min(ious) > 0.6 and min(ious) > 2 * float(truth.float().mean()), ious


@pytest.fixture(scope="module")
def occnet_run(tiny_dataset, tmp_path_factory):
    """A small occnet trained for one epoch on the tiny set: a stage 1."""
    run_dir = tmp_path_factory.mktemp("occnet") / "run"
    overrides = [o for o in TRAIN_OVERRIDES if "doccnet" not in o]
    run_to_completion(train(tiny_dataset, run_dir, load_config("occnet", overrides)))
    return run_dir / "last.safetensors"


@pytest.fixture(scope="module")
def doccnet_run(tiny_dataset, occnet_run, tmp_path_factory):
    stage_one = occnet_run
    run_dir = tmp_path_factory.mktemp("doccnet") / "run"
    # The preset's sizes differ from stage 1's: the run takes stage 1's.
    config = load_config("d-occnet", ["data.points_per_view=256", "data.batch_size=2", "optim.epochs=1", "model.doccnet_points=200"])
    summary = run_to_completion(train(tiny_dataset, run_dir, config, stage_one=read_model_checkpoint(stage_one)))
    return run_dir, summary


def test_the_trainer_trains_stage_two_on_top_of_a_frozen_occnet(occnet_run, doccnet_run):
    stage_one = occnet_run
    run_dir, summary = doccnet_run
    assert summary.steps > 0 and 0.0 <= summary.last_val_iou <= 1.0  # validated through both stages
    checkpoint = read_model_checkpoint(run_dir / "last.safetensors")
    assert checkpoint.method == "d-occnet" and checkpoint.output_kind == "occupancy"
    occnet = read_model_checkpoint(stage_one)
    for field in ("width", "global_features", "occnet_hidden", "occnet_blocks", "image_size"):
        assert getattr(checkpoint.model_config, field) == getattr(occnet.model_config, field)
    for name, value in occnet.model_state.items():  # stage 1 is the occnet, untouched
        torch.testing.assert_close(checkpoint.model_state[f"stage_one.{name}"], value, rtol=0, atol=0)


@pytest.mark.parametrize(
    "method,stage_one,fragment",
    [
        ("d-occnet", None, "trains on top of a trained occnet checkpoint"),
        ("d-occnet", "doccnet", "stage 1 of d-occnet must be an occnet checkpoint, not a d-occnet one"),
        ("occnet", "occnet", "the occnet method has no stage 1"),
    ],
)
def test_bad_stage_one_combinations_are_refused_before_any_work(tiny_dataset, occnet_run, doccnet_run, tmp_path, method, stage_one, fragment):
    files = {"occnet": occnet_run, "doccnet": doccnet_run[0] / "last.safetensors", None: None}
    checkpoint = read_model_checkpoint(files[stage_one]) if stage_one else None
    config = load_config(method, TRAIN_OVERRIDES if method == "occnet" else [])
    with pytest.raises(ValueError, match=fragment):
        next(train(tiny_dataset, tmp_path / "run", config, stage_one=checkpoint))
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_without_its_stage_one_is_one_clear_error(doccnet_run, tmp_path):
    run_dir, _ = doccnet_run
    with safe_open(str(run_dir / "best.safetensors"), "pt") as handle:
        metadata = handle.metadata()
    tensors = load_file(run_dir / "best.safetensors")
    stripped = tmp_path / "stripped.safetensors"
    save_file({k: v for k, v in tensors.items() if not k.startswith("model.stage_one.")}, stripped, metadata=metadata)
    with pytest.raises(CheckpointError, match="stage-2 checkpoint without its stage 1.*--stage1"):
        build_model(read_model_checkpoint(stripped))


def test_cli_trains_and_reconstructs_d_occnet(tiny_dataset, occnet_run, tmp_path, capsys):
    stage_one = occnet_run
    base = ["train", "--data", str(tiny_dataset), "--method", "d-occnet", "--quiet",
            "--set", "data.batch_size=2", "--set", "data.points_per_view=128", "--set", "optim.epochs=1"]
    assert main([*base, "--out", str(tmp_path / "no-stage")]) == 2
    error = capsys.readouterr().err.strip()
    assert "--stage1" in error and len(error.splitlines()) == 1 and "Traceback" not in error

    assert main([*base, "--out", str(tmp_path / "run"), "--stage1", str(stage_one)]) == 0
    out = tmp_path / "part.stl"
    checkpoint = tmp_path / "run" / "last.safetensors"
    assert main(["reconstruct", str(PHOTO), "--out", str(out), "--checkpoint", str(checkpoint), "--resolution", "32", "--faces", "full"]) == 0
    assert len(load_mesh(out).faces) > 0
