"""The ``pointcloud`` method (reference 003, issue 16): network, loss, Sinkhorn EMD, training, CLI.

Shapes and a gradient step; the Sinkhorn approximation against the exact
EMD; a tiny overfit that beats the unit-sphere baseline; checkpoints that
record the method and the ``points`` output kind; ``svr-desktop train
--method pointcloud`` end to end with its Chamfer-L1 validation;
``reconstruct`` to PLY and the one-line refusal of mesh formats; ``evaluate``
with IoU, NC and ECD marked n/a.
"""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from svr_desktop.cli import main
from svr_desktop.geometry.metrics import compare_points, emd_of_points
from svr_desktop.inference.export import ExportUnits, export_point_cloud
from svr_desktop.inference.preprocess import auto_ab, prepare_photo
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.model import METHODS, ModelConfig, get_model
from svr_desktop.model.checkpoint import build_model, read_model_checkpoint
from svr_desktop.model.pointcloud import PointCloudNet
from svr_desktop.training.checkpoint import model_from_checkpoint, read_checkpoint, save_checkpoint
from svr_desktop.training.config import load_config
from svr_desktop.training.point_losses import chamfer_squared, divergence, point_cloud_loss
from svr_desktop.training.sinkhorn import annealing_schedule, sinkhorn_emd, sinkhorn_plan

PHOTO = Path(__file__).resolve().parents[1] / "resources" / "samples" / "flange_studio.png"
A = 1 / 0.55
#: The paper's network shrunk to train in seconds: same layers, fewer channels and points.
SMALL = dict(
    method="pointcloud", image_size=64, pointcloud_width=4, pointcloud_features=64, pointcloud_latent=16,
    pointcloud_hidden=(64, 128), pointcloud_points=256,
)
SMALL_OVERRIDES = [f"model.{key}={list(value) if isinstance(value, tuple) else value}" for key, value in SMALL.items()]


def small_model(seed: int = 0) -> PointCloudNet:
    torch.manual_seed(seed)
    return get_model(ModelConfig(**SMALL))


def small_config(*overrides: str):
    return load_config("pointcloud", [*SMALL_OVERRIDES, *overrides])


def box_surface(count: int, seed: int = 0) -> np.ndarray:
    """``count`` area-uniform samples of a 0.6 x 0.3 x 0.2 box centred at the origin."""
    box = trimesh.creation.box(extents=(0.6, 0.3, 0.2))
    return np.asarray(trimesh.sample.sample_surface(box, count, seed=seed)[0], dtype=np.float32)


def sphere_points(count: int, radius: float = 0.5, seed: int = 0) -> np.ndarray:
    """The trivial baseline: ``count`` points spread evenly on a sphere that touches the unit cube's faces."""
    directions = np.random.default_rng(seed).normal(size=(count, 3))
    return (radius * directions / np.linalg.norm(directions, axis=1, keepdims=True)).astype(np.float32)


def chamfer_l1(pred: np.ndarray, truth: np.ndarray) -> float:
    distances = cdist(pred, truth)
    return 0.5 * (distances.min(axis=1).mean() + distances.min(axis=0).mean())


# ------------------------------------------------------------------ network


def test_the_registry_offers_pointcloud_with_points_output():
    assert "pointcloud" in METHODS
    assert METHODS["pointcloud"].output_kind_for("adaptive") == "points"  # labels are not used: any mode
    config = load_config("pointcloud")
    assert config.model.method == "pointcloud" and config.model.image_size == 160
    model = get_model(config.model)
    assert isinstance(model, PointCloudNet)
    counts = model.parameter_count()
    assert counts["total"] == sum(p.numel() for p in model.parameters())
    # The paper's sizes: 1,000 features -> 2 x 100 latent; 100 -> 512 -> 1,024 -> 6,144.
    assert counts["latent"] == 2 * (1000 * 100 + 100)
    assert counts["decoder"] == (100 * 512 + 512) + (512 * 1024 + 1024) + (1024 * 6144 + 6144)


def test_the_extractor_keeps_full_resolution_until_mid_network():
    model = get_model(ModelConfig(**SMALL))
    sizes = []
    for module in (model.extractor.stem, model.extractor.full_resolution, *model.extractor.downsampling):
        module.register_forward_hook(lambda _m, _i, output: sizes.append(tuple(output.shape[-2:])))
    model.encode(torch.rand(1, 3, 64, 64))
    assert sizes == [(64, 64), (64, 64), (32, 32), (16, 16), (8, 8)]


def test_shapes_noise_scales_and_a_gradient_step():
    model = small_model().train()
    g = torch.Generator().manual_seed(1)
    images = torch.rand(2, 3, 64, 64, generator=g)
    prediction = model(images, torch.full((2,), A), A)
    assert prediction.points.shape == (2, 256, 3) and prediction.mean.shape == prediction.log_var.shape == (2, 16)
    noise = torch.randn(2, 16, generator=g)
    # Training samples the latent: the same noise gives the same points, other noise others.
    torch.testing.assert_close(model(images, A, A, noise=noise).points, model(images, A, A, noise=noise).points)
    assert not torch.allclose(model(images, A, A, noise=noise).points, model(images, A, A, noise=-noise).points)
    model.eval()
    with torch.no_grad():
        at_a = model(images, A, A).points
        doubled = model(images, 2 * A, A).points
    torch.testing.assert_close(model(images, A, A).points, at_a)  # eval decodes the mean: deterministic
    torch.testing.assert_close(doubled[..., 0], at_a[..., 0] / 2)  # x = u / a
    torch.testing.assert_close(doubled[..., 1:], at_a[..., 1:])
    with pytest.raises(ValueError, match="expected images of shape"):
        model.encode(torch.rand(2, 3, 32, 32))

    model.train()
    target = torch.from_numpy(np.stack([box_surface(256, 0), box_surface(256, 1)]))
    settings = small_config().pointcloud
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for step in range(4):
        loss, parts = point_cloud_loss(model(images, A, A), target, settings, torch.Generator().manual_seed(step))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert set(parts) == {"kl", "chamfer", "emd"} and np.isfinite(losses).all() and losses[-1] < losses[0]
    unchanged = [name for (name, p), p0 in zip(model.named_parameters(), before) if torch.equal(p0, p)]
    assert not unchanged, f"parameters outside the loss (DDP needs every one): {unchanged}"


# --------------------------------------------------------------------- loss


def test_divergence_is_eq3_and_chamfer_is_eq4():
    zeros = torch.zeros(1, 5)
    assert divergence(zeros, zeros).item() == 0.0  # the standard normal itself
    mean, log_var = torch.tensor([[0.5, -1.0]]), torch.tensor([[0.3, -0.2]])
    expected = -sum(1 + s - m * m - math.exp(s) for m, s in [(0.5, 0.3), (-1.0, -0.2)])
    assert divergence(mean, log_var).item() == pytest.approx(expected, rel=1e-6)
    x = torch.tensor([[[0.0, 0, 0], [1, 0, 0]]])
    y = torch.tensor([[[0.0, 0, 0], [0, 2, 0], [0, 0, 0.5]]])
    # pred -> target: 0 and 1 (nearest is the origin); target -> pred: 0, 4 and 0.25 (squared).
    assert chamfer_squared(x, y).item() == pytest.approx(0.5 + (4 + 0.25) / 3)


@pytest.mark.parametrize("count,seed", [(64, 0), (200, 1), (300, 2)])
def test_sinkhorn_emd_bounds_the_exact_emd_within_25_percent(count, seed):
    """Against the exact assignment (scipy's linear_sum_assignment): a surface and noisy, scaled,
    shifted, differently sampled copies, at the scale of reconstructions (EMD 0.04 to 0.2)."""
    truth = box_surface(count, seed)
    rng = np.random.default_rng(seed)
    errors = []
    for noise, shift in ((0.005, 0.0), (0.02, 0.03), (0.05, 0.1)):
        pred = box_surface(count, seed + 100) * 1.1 + rng.normal(0, noise, (count, 3)).astype(np.float32) + shift
        cost = cdist(pred, truth)
        rows, cols = linear_sum_assignment(cost)
        exact = cost[rows, cols].mean()
        approximate = sinkhorn_emd(torch.from_numpy(pred)[None], torch.from_numpy(truth)[None]).item()
        assert exact == pytest.approx(emd_of_points(pred, truth))
        # The rounded plan is a feasible coupling: never cheaper than the optimum (float32 slack).
        assert exact * (1 - 1e-4) <= approximate <= exact * 1.25, (noise, exact, approximate)
        errors.append(approximate / exact - 1)
    assert np.mean(errors) < 0.15, errors


def test_sinkhorn_plan_has_uniform_marginals_and_its_gradient_moves_points_onto_the_target():
    truth = torch.from_numpy(box_surface(128, 0))[None]
    pred = (truth + 0.05 * torch.randn(1, 128, 3, generator=torch.Generator().manual_seed(0))).requires_grad_(True)
    plan = sinkhorn_plan(torch.cdist(pred.detach(), truth))
    for axis in (1, 2):  # rounded: exactly uniform marginals
        torch.testing.assert_close(plan.sum(dim=axis), torch.full((1, 128), 1 / 128), rtol=1e-4, atol=0)
    assert (plan >= 0).all()
    schedule = annealing_schedule(1.5, 0.005, 0.8, 20)
    assert schedule[0] == 1.5 and schedule[-20:] == [0.005] * 20 and 40 <= len(schedule) <= 50
    start = sinkhorn_emd(pred, truth)
    start.sum().backward()
    with torch.no_grad():
        moved = pred - 0.02 * pred.grad * 128  # each point about 0.02 towards its partners (|gradient| ~ 1/N)
    assert sinkhorn_emd(moved, truth).item() < 0.8 * start.item()


# ----------------------------------------------------------- overfit, checkpoints


@pytest.fixture(scope="module")
def photo():
    prepared = prepare_photo(PHOTO, SMALL["image_size"])
    return prepared, auto_ab(prepared)[0]


@pytest.fixture(scope="module")
def overfit(photo):
    """A small model overfitted in a few seconds on one image: the sample photo -> a box's surface.

    Returns the model (eval mode), the photo's ``a``, the target and the
    Chamfer-L1 of the prediction and of the unit-sphere baseline.
    """
    prepared, photo_a = photo
    image = prepared.to_tensor()
    target = torch.from_numpy(box_surface(256))[None]
    config = small_config("pointcloud.emd_points=256")
    model = small_model().train()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    for step in range(300):
        loss, _ = point_cloud_loss(model(image, photo_a, photo_a), target, config.pointcloud, torch.Generator().manual_seed(step))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        points = model(image, photo_a, photo_a).points[0].numpy()
    truth = box_surface(4096, seed=7)  # fresh samples of the same surface
    return model, photo_a, chamfer_l1(points, truth), chamfer_l1(sphere_points(256), truth)


def test_a_tiny_overfit_beats_the_unit_sphere(overfit):
    _, _, learned, sphere = overfit
    assert learned < 0.4 * sphere and learned < 0.03, (learned, sphere)


def save_small_checkpoint(path: Path, model: PointCloudNet) -> None:
    save_checkpoint(path, model, small_config(), {"step": 0})


def test_checkpoints_record_and_recover_the_method(overfit, tmp_path):
    model = overfit[0]
    path = tmp_path / "points.safetensors"
    save_small_checkpoint(path, model)
    checkpoint = read_model_checkpoint(path)
    assert checkpoint.method == "pointcloud" and checkpoint.output_kind == "points" and checkpoint.iso_level is None
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(images, A, A).points
        for rebuilt in (build_model(checkpoint), model_from_checkpoint(read_checkpoint(path))):
            assert type(rebuilt) is PointCloudNet
            torch.testing.assert_close(rebuilt.eval()(images, A, A).points, expected, rtol=0, atol=0)


# ----------------------------------------------------------------- commands


def test_train_method_pointcloud_end_to_end(tiny_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    overrides = [*SMALL_OVERRIDES, "data.batch_size=2", "optim.epochs=2", "log_every=1", "optim.warmup_steps=0"]
    args = ["train", "--data", str(tiny_dataset), "--out", str(run), "--method", "pointcloud", "--quiet"]
    assert main([*args, *(f"--set={item}" for item in overrides)]) == 0
    assert "best validation Chamfer-L1" in capsys.readouterr().out
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train_lines = [r for r in records if r["kind"] == "train"]
    val_lines = [r for r in records if r["kind"] == "val"]
    assert train_lines and all(np.isfinite(r["loss"]) and r["f1"] is None and r["s"] is None for r in train_lines)
    assert all({"kl", "chamfer", "emd"} <= set(r) for r in train_lines)
    assert len(val_lines) == 2
    for line in val_lines:
        assert line["val_metric"] == "chamfer_l1" and 0 < line["val_chamfer_l1"] < 1 and 0 <= line["val_fscore"] <= 1
    best = min(line["val_chamfer_l1"] for line in val_lines)
    for name in ("last", "best"):
        checkpoint = read_model_checkpoint(run / f"{name}.safetensors")
        assert checkpoint.method == "pointcloud" and checkpoint.output_kind == "points"
    assert read_model_checkpoint(run / "best.safetensors").training_state["best_val_chamfer_l1"] == pytest.approx(best)


def test_training_resumes_bit_for_bit(tiny_dataset, tmp_path):
    """The latent noise and the EMD subsets are seeded by the step: a resumed run repeats them."""
    from svr_desktop.progress import run_to_completion
    from svr_desktop.training.trainer import train

    config = small_config("data.batch_size=2", "optim.epochs=2", "optim.warmup_steps=0")
    whole = run_to_completion(train(tiny_dataset, tmp_path / "whole", config))
    calls = iter(range(100))
    run_to_completion(train(tiny_dataset, tmp_path / "split", config, should_stop=lambda: next(calls) == 0))
    resumed = run_to_completion(train(tiny_dataset, tmp_path / "split", resume=True))
    assert resumed.steps == whole.steps
    for (name, p), q in zip(whole.model.state_dict().items(), resumed.model.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=name)


@pytest.fixture(scope="module")
def checkpoint_file(overfit, tmp_path_factory):
    path = tmp_path_factory.mktemp("points") / "points.safetensors"
    save_small_checkpoint(path, overfit[0])
    return path


def test_reconstruct_writes_a_ply_point_cloud(checkpoint_file, overfit, tmp_path, capsys):
    out = tmp_path / "part.ply"
    assert main(["reconstruct", str(PHOTO), "--out", str(out), "--checkpoint", str(checkpoint_file), "--size-mm", "120"]) == 0
    assert "256 points (a point cloud, no surface)" in capsys.readouterr().out
    header = out.read_bytes()[:400]
    assert b"element face" not in header and b"comment units mm" in header
    cloud = trimesh.load(out)
    assert isinstance(cloud, trimesh.PointCloud) and len(cloud.vertices) == 256
    assert cloud.extents.max() == pytest.approx(120, rel=1e-4)
    # The learned box, 0.6 x 0.3 x 0.2: the longest side becomes 120 mm.
    np.testing.assert_allclose(cloud.extents / cloud.extents.max(), [1, 0.5, 1 / 3], atol=0.12)
    folder = tmp_path / "folder"
    assert main(["reconstruct", str(PHOTO), "--out", str(folder), "--checkpoint", str(checkpoint_file)]) == 0
    assert [p.name for p in folder.iterdir()] == ["flange_studio.ply"]  # PLY by default for points


@pytest.mark.parametrize("out,extra", [("part.stl", []), ("part.obj", []), ("part.glb", []), ("folder", ["--format", "stl"])])
def test_a_mesh_format_from_a_point_checkpoint_is_one_clear_error_before_any_work(checkpoint_file, tmp_path, capsys, monkeypatch, out, extra):
    def no_model(*_args, **_kwargs):
        raise AssertionError("the model was built")

    monkeypatch.setattr(Reconstructor, "from_read_checkpoint", no_model)
    code = main(["reconstruct", str(PHOTO), "--out", str(tmp_path / out), "--checkpoint", str(checkpoint_file), *extra])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert "a point-cloud model writes points, not a mesh" in lines[0] and "use .ply" in lines[0]
    assert not any(tmp_path.iterdir())  # nothing written, not even the folder


def test_a_threshold_for_a_point_checkpoint_is_refused(checkpoint_file, tmp_path, capsys):
    code = main(["reconstruct", str(PHOTO), "--out", str(tmp_path / "a.ply"), "--checkpoint", str(checkpoint_file), "--threshold", "0.5"])
    assert code == 2 and "predicts a point cloud, which has no iso-level" in capsys.readouterr().err


def test_export_point_cloud_in_mm_and_refuses_mesh_formats(tmp_path):
    cloud = trimesh.PointCloud(box_surface(100))
    report = export_point_cloud(cloud, tmp_path / "p.ply", ExportUnits.from_dimension("x", 60.0))
    assert report.points == 100 and report.faces == 0 and report.unit == "mm"
    assert report.extents[0] == pytest.approx(60.0, rel=1e-5)
    assert np.ptp(trimesh.load(tmp_path / "p.ply").vertices[:, 0]) == pytest.approx(60.0, rel=1e-5)
    with pytest.raises(ValueError, match="use .ply"):
        export_point_cloud(cloud, tmp_path / "p.stl")
    with pytest.raises(FileExistsError):
        export_point_cloud(cloud, tmp_path / "p.ply")


def test_compare_points_scores_cd_fscore_and_exact_emd_and_marks_the_rest_not_applicable():
    box = trimesh.creation.box(extents=(0.6, 0.3, 0.2))
    on_surface = box_surface(2048, seed=3)
    result = compare_points(on_surface, box, 0)
    assert math.isnan(result.iou) and math.isnan(result.normal_consistency) and math.isnan(result.edge_chamfer)
    assert result.chamfer_l1 < 0.01 and result.fscore > 0.5 and 0 < result.emd < 0.03
    shifted = compare_points(on_surface + 0.1, box, 0)
    assert shifted.chamfer_l1 > 5 * result.chamfer_l1 and shifted.emd > 0.09 and shifted.fscore < result.fscore


def test_evaluate_scores_points_with_n_a_for_surface_metrics(checkpoint_file, tiny_dataset, tmp_path, capsys):
    out = tmp_path / "report"
    args = ["evaluate", "--checkpoint", str(checkpoint_file), "--data", str(tiny_dataset), "--out", str(out), "--metric-points", "3000", "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    overall = json.loads(printed[-1])
    assert overall["iou"] is None and overall["nc"] is None and overall["ecd"] is None
    assert 0 < overall["cd_l1"] < 1 and 0 < overall["emd"] < 1 and 0 <= overall["fscore"] <= 1
    with open(out / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(row["prediction"] == "points" for row in rows)
    for row in rows:
        assert row["iou"] == row["normal_consistency"] == row["edge_chamfer"] == "n/a"
        assert 0 < float(row["chamfer_l1"]) < 1 and 0 < float(row["emd"]) < 1 and row["faces"] == "0"
    summary = (out / "summary.md").read_text()
    table = [line for line in summary.splitlines() if line.startswith("| all ")][0].split("|")
    header = [line for line in summary.splitlines() if line.startswith("| category")][0].split("|")
    cells = dict(zip((h.strip() for h in header), (c.strip() for c in table)))
    assert cells["IoU"] == cells["NC"] == cells["ECD"] == "n/a" and float(cells["EMD"]) > 0
    assert "need a surface" in summary and "point cloud of 256 points" in summary
    assert (out / "grid.png").exists()
