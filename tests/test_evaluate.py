"""The ``evaluate`` command and the evaluation core: files, numbers, frames, empty predictions, bad inputs."""

import csv
import json
import math
import shutil

import numpy as np
import pytest
import torch
import trimesh

from svr_desktop.cli import main
from svr_desktop.evaluation.evaluate import EvaluationSettings, run_evaluation, sampled_metrics
from svr_desktop.evaluation.figures import project_to_pixels
from svr_desktop.evaluation.runner import evaluate_views, metric_rng, score_empty_prediction
from svr_desktop.evaluation.views import dataset_views, render_mesh_folder
from svr_desktop.geometry.metrics import compare_meshes
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.progress import run_to_completion

#: Small sample counts keep each scored view well under a second.
POINTS = 1000
EDGE_SAMPLES = 50_000
FAST = sampled_metrics(POINTS, EDGE_SAMPLES)
HEADLINE = {"iou": "iou", "cd_l1": "chamfer_l1", "ecd": "edge_chamfer", "fscore": "fscore", "nc": "normal_consistency"}


@pytest.fixture(scope="module")
def checkpoint(tiny_run):
    return tiny_run[0] / "last.safetensors"


@pytest.fixture(scope="module")
def reconstructor(checkpoint):
    return Reconstructor.from_checkpoint(checkpoint, "cpu")


def evaluate_cli(capsys, *args):
    code = main(["evaluate", "--quiet", "--metric-points", str(POINTS), "--edge-samples", str(EDGE_SAMPLES), *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_dataset_evaluation_writes_the_report_and_means_match_the_rows(tiny_dataset, checkpoint, tmp_path, capsys):
    out = tmp_path / "report"
    # The fixture model memorized the training shapes: their IoU shows that
    # prediction and ground truth share the view frame.
    code, stdout, stderr = evaluate_cli(
        capsys, "--checkpoint", checkpoint, "--data", tiny_dataset, "--split", "train", "--out", out, "--resolution", 64, "--save-meshes"
    )
    assert code == 0, stderr
    assert {p.name for p in out.iterdir()} == {"metrics.csv", "summary.md", "summary.json", "grid.png", "predictions"}
    assert len(list((out / "predictions").glob("*_view*.ply"))) == 4

    rows = read_csv(out / "metrics.csv")
    assert [(r["shape"], r["view"]) for r in rows] == [(s, v) for s in sorted({r["shape"] for r in rows}) for v in ("0", "1")]
    assert all(r["category"] and r["family"] and r["pred_empty"] == "False" for r in rows)
    assert min(float(r["iou"]) for r in rows) > 0.45  # memorized shapes; a frame error gives far less

    lines = stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) == {"shapes", *HEADLINE}
    assert summary["shapes"] == 2
    for key, column in HEADLINE.items():
        assert summary[key] == pytest.approx(np.mean([float(r[column]) for r in rows]), abs=2e-6)
    assert any(line.startswith("all ") for line in lines)  # the printed table
    markdown = (out / "summary.md").read_text()
    assert "| all | 2 | 4 | 0 |" in markdown and "normalized units" in markdown and f"{POINTS:,} uniform points" in markdown
    assert "each input read alone (no turned copies)" in markdown  # a model without a depth guide reads no turned copies

    again = evaluate_cli(capsys, "--checkpoint", checkpoint, "--data", tiny_dataset, "--out", out)
    assert again[0] == 2 and "--force" in again[2]

    # --force replaces the whole report: no prediction of the old one is left behind.
    stale = out / "predictions" / "stale_view0.ply"
    shutil.copy(next((out / "predictions").glob("*.ply")), stale)
    forced = evaluate_cli(capsys, "--checkpoint", checkpoint, "--data", tiny_dataset, "--split", "test", "--out", out, "--resolution", 32, "--force")
    assert forced[0] == 0, forced[2]
    assert not (out / "predictions").exists()
    assert {r["shape"] for r in read_csv(out / "metrics.csv")}.isdisjoint({r["shape"] for r in rows})


def test_rows_equal_a_direct_computation_with_compare_meshes(tiny_dataset, reconstructor):
    views = dataset_views(tiny_dataset, "test")
    rows, meshes = run_to_completion(evaluate_views(reconstructor, views, 32, FAST, seed=3, keep=set(range(len(views)))))
    assert len(rows) == len(views) == 2
    for row, view in zip(rows, views):
        direct = compare_meshes(meshes[row.row], view.ground_truth, metric_rng(3, row.row), FAST)
        for key in ("iou", "chamfer_l1", "fscore", "normal_consistency", "edge_chamfer", "emd"):
            assert getattr(row, key) == pytest.approx(getattr(direct, key), nan_ok=True), key


def test_mesh_folder_is_rendered_with_a_fixed_seed_and_evaluated(checkpoint, tmp_path, capsys):
    folder = tmp_path / "meshes"
    folder.mkdir()
    trimesh.creation.box((30.0, 12.0, 8.0)).export(folder / "block.stl")
    trimesh.creation.annulus(r_min=6.0, r_max=10.0, height=5.0, sections=24).export(folder / "ring.obj")
    (folder / "manifest.json").write_text(json.dumps({"meshes": [{"file": "block.stl", "category": "blocks", "family": "plain-block"}]}))

    first = run_to_completion(render_mesh_folder(folder, views=2, seed=5, image_size=64))
    same = run_to_completion(render_mesh_folder(folder, views=2, seed=5, image_size=64))
    other = run_to_completion(render_mesh_folder(folder, views=2, seed=6, image_size=64))
    assert [(v.shape, v.view, v.category, v.family) for v in first.views] == [
        ("block.stl", 0, "blocks", "plain-block"), ("block.stl", 1, "blocks", "plain-block"),
        ("ring.obj", 0, "mesh", "ring"), ("ring.obj", 1, "mesh", "ring"),
    ]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(first.views, same.views))
    assert not np.array_equal(first.views[0].image, other.views[0].image)
    for view in first.views:  # the ground truth lies in the view's frame: it projects onto the silhouette
        pixels = np.floor(project_to_pixels(view.ground_truth.vertices, view.a, view.b, 64)).astype(int).clip(0, 63)
        mask = view.mask | np.roll(view.mask, 1, 0) | np.roll(view.mask, -1, 0) | np.roll(view.mask, 1, 1) | np.roll(view.mask, -1, 1)
        assert mask[pixels[:, 1], pixels[:, 0]].all()

    out = tmp_path / "report"
    code, stdout, stderr = evaluate_cli(capsys, "--checkpoint", checkpoint, "--meshes", folder, "--out", out, "--resolution", 32)
    assert code == 0, stderr
    rows = read_csv(out / "metrics.csv")
    assert [(r["shape"], r["category"]) for r in rows] == [("block.stl", "blocks"), ("ring.obj", "mesh")]
    assert json.loads(stdout.strip().splitlines()[-1])["shapes"] == 2
    assert (out / "grid.png").stat().st_size > 0 and "mesh folder" in (out / "summary.md").read_text()


def test_empty_predictions_are_scored_with_the_fallback_and_counted(tiny_dataset, checkpoint, tmp_path):
    views = dataset_views(tiny_dataset, "test")
    reconstructor = Reconstructor.from_checkpoint(checkpoint, "cpu")
    last_layer = reconstructor.model.decoder.layers[-1]
    with torch.no_grad():  # a collapsed model: the field is "outside" everywhere
        last_layer.weight.zero_()
        last_layer.bias.fill_(-20.0)
    settings = EvaluationSettings(resolution=32, metrics=FAST, save_meshes=True)
    result = run_to_completion(run_evaluation(reconstructor, views, tmp_path, settings))
    for row in result.rows:
        assert row.pred_empty and row.iou == 0.0 and row.fscore == 0.0 and row.normal_consistency == 0.0
        assert 0.0 < row.accuracy <= row.completeness < 1.0 and math.isfinite(row.emd)
        assert row.chamfer_l1 == pytest.approx(0.5 * (row.accuracy + row.completeness))
    overall = result.groups[-1]
    assert overall.empty == 2 and math.isfinite(overall.means["chamfer_l1"])
    assert "2 empty prediction(s)" in (tmp_path / "summary.md").read_text()
    assert json.loads((tmp_path / "summary.json").read_text())["overall"]["empty"] == 2


def test_empty_fallback_distances_for_a_unit_cube():
    cube = trimesh.creation.box((1.0, 1.0, 1.0))
    empty = trimesh.Trimesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=int))
    comparison = compare_meshes(empty, cube, 0, FAST)
    assert math.isinf(comparison.chamfer_l1)
    scored = score_empty_prediction(comparison, cube, np.random.default_rng(0))
    assert scored.accuracy == pytest.approx(0.5, abs=0.01)  # nearest surface sample to the centre: a face centre
    # Mean distance from the centre of a unit cube to its surface: the integral of
    # sqrt(x^2 + y^2 + 1/4) over one face, 0.6404.
    assert scored.completeness == pytest.approx(0.6404, abs=0.01)
    assert scored.edge_chamfer > scored.chamfer_l1  # edges lie farther out than faces


def test_bad_inputs_give_one_error_line_and_exit_2(tiny_dataset, checkpoint, tmp_path, capsys):
    no_test = tmp_path / "no_test_split"
    no_test.mkdir()
    manifest = json.loads((tiny_dataset / "manifest.json").read_text())
    manifest["splits"]["test"] = []
    (no_test / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "empty_folder").mkdir()
    cases = {
        "no such checkpoint": ["--checkpoint", tmp_path / "missing.safetensors", "--data", tiny_dataset],
        "'test' split is empty": ["--checkpoint", checkpoint, "--data", no_test],
        "no manifest.json": ["--checkpoint", checkpoint, "--data", tmp_path / "empty_folder"],
        "contains no mesh files": ["--checkpoint", checkpoint, "--meshes", tmp_path / "empty_folder"],
    }
    for expected, args in cases.items():
        out = tmp_path / "out"
        code, _, stderr = evaluate_cli(capsys, *args, "--out", out)
        lines = stderr.strip().splitlines()
        assert code == 2 and len(lines) == 1, (expected, stderr)
        assert lines[0].startswith("svr-desktop evaluate: error:") and expected in lines[0]
        assert not (out / "metrics.csv").exists()
        shutil.rmtree(out, ignore_errors=True)
