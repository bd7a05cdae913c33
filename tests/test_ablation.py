"""The ablation runner: settings, data subsets, and the whole plumbing on a tiny budget, resumed."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from svr_desktop.data.dataset import load_split
from svr_desktop.evaluation import ablation
from svr_desktop.evaluation.ablation import AblationSettings, plan_runs, prepare_data
from svr_desktop.evaluation.ablation_report import steps_to_reach

from conftest import TINY_RUN_OVERRIDES
from helpers import load_script




def tiny_args(data, work, doc, *extra):
    sets = [item for override in TINY_RUN_OVERRIDES if not override.startswith("optim.epochs") for item in ("--set", override)]
    return [
        "--data", str(data), "--out", str(work), "--doc", str(doc), "--epochs", "2", "--seeds", "2",
        "--variants", "fpn+binary", "fpn+v(d,s)", "--eval-resolution", "32", "--metric-points", "500", "--edge-samples", "20000",
        "--qualitative", "1", "--device", "cpu", "--quiet", *sets, *extra,
    ]


def test_settings_are_checked():
    base = dict(data=Path("d"), out=Path("o"), doc=Path("x.md"), epochs=1)
    with pytest.raises(ValueError, match="unknown variant"):
        AblationSettings(**base, variants=("fpn+binary", "fpn+magic"))
    with pytest.raises(ValueError, match="reference variant 'fpn\\+binary'"):
        AblationSettings(**base, variants=("fpn+v(d,s)",))
    with pytest.raises(ValueError, match="2 seeds"):
        AblationSettings(**base, seeds=1)
    runs = plan_runs(AblationSettings(**base, seeds=3))
    labels = [run.label for run in runs]
    assert len(labels) == 8 + 2 * 2 and len(set(labels)) == len(labels)
    assert [run.seed for run in runs if run.variant.name == "fpn+v(d,s)"] == [0, 1, 2]
    assert [run.seed for run in runs if run.variant.name == "global+binary"] == [0]


def test_shape_limits_write_a_subset_manifest_over_the_original_shards(tiny_dataset, tmp_path):
    settings = AblationSettings(data=tiny_dataset, out=tmp_path, doc=tmp_path / "a.md", epochs=1, train_shapes=1)
    root = prepare_data(settings)
    assert root == tmp_path / "data" and not list(root.glob("**/*.npz"))
    assert [r.shape_id for r in load_split(root, "train")] == [r.shape_id for r in load_split(tiny_dataset, "train")][:1]
    assert len(load_split(root, "test")) == len(load_split(tiny_dataset, "test"))
    assert prepare_data(AblationSettings(data=tiny_dataset, out=tmp_path, doc=tmp_path / "a.md", epochs=1)) == tiny_dataset


def test_steps_to_reach():
    curve = [(10, 0.2), (20, 0.5), (30, 0.45), (40, 0.6)]
    assert steps_to_reach(curve, 0.5) == 20
    assert steps_to_reach(curve, 0.61) is None


def test_ablation_runs_end_to_end_resumes_and_skips_finished_runs(tiny_dataset, tmp_path, capsys, monkeypatch):
    script = load_script("benchmarks/ablation.py")
    work, doc = tmp_path / "work", tmp_path / "docs" / "ablation.md"

    # Session 1: a budget of almost no time stops the first run after one step.
    # The runner's clock stands still, so the budget is always left when the
    # first run starts (on a busy machine 1e-6 min could pass before it); the
    # trainer's real clock then stops that run after its first step.
    with monkeypatch.context() as frozen:
        frozen.setattr(ablation, "time", SimpleNamespace(monotonic=lambda: 0.0))
        assert script.main(tiny_args(tiny_dataset, work, doc, "--max-minutes", "1e-6")) == 0
    out = capsys.readouterr().out
    assert json.loads(out.strip().splitlines()[-1]) == {"runs": 4, "finished": 0, "complete": False, "doc": str(doc)}
    assert "fpn-binary-seed0: stopped: time budget reached" in out and "fpn-adaptive-seed1: not started" in out
    assert "## Not finished yet" in doc.read_text()

    # Session 2: the stopped run resumes, the others train; everything is evaluated.
    assert script.main(tiny_args(tiny_dataset, work, doc)) == 0
    out = capsys.readouterr().out
    assert "fpn-binary-seed0: resumed and finished" in out and "fpn-adaptive-seed1: trained" in out
    assert json.loads(out.strip().splitlines()[-1])["complete"] is True
    page = doc.read_text()
    assert "| variant | runs done | steps |" in page and "steps to reach ref." in page
    for name in ("fpn+binary", "fpn+v(d,s)"):
        line = next(line for line in page.splitlines() if line.startswith(f"| {name} |"))
        assert "| 2 / 2 | 2 |" in line  # both seeds done, 2 steps each (1 batch per epoch)
    assert "## Not finished yet" not in page
    for image in ("ablation_curves.png", "ablation_qualitative.png"):
        assert (doc.parent / "images" / image).stat().st_size > 0 and f"images/{image}" in page
    for run in ("fpn-binary-seed0", "fpn-binary-seed1", "fpn-adaptive-seed0", "fpn-adaptive-seed1"):
        assert json.loads((work / "eval" / run / "summary.json").read_text())["overall"]["views"] == 1  # 1 test shape, 1 view
    metrics = work / "runs" / "fpn-binary-seed0" / "metrics.jsonl"
    assert [json.loads(line)["step"] for line in metrics.read_text().splitlines() if '"val"' in line] == [1, 2]

    # Session 3: nothing left to do; no run is touched; a person's findings are kept in the page.
    (doc.parent / "ablation_findings.md").write_text("## What came out\n\nSoft labels won.\n")
    stamps = {p: p.stat().st_mtime_ns for p in (work / "runs").glob("*/*")}
    assert script.main(tiny_args(tiny_dataset, work, doc)) == 0
    out = capsys.readouterr().out
    assert out.count(": finished earlier") == 4
    assert "## What came out\n\nSoft labels won." in doc.read_text()
    assert stamps == {p: p.stat().st_mtime_ns for p in (work / "runs").glob("*/*")}

    # Another budget in the same folder is refused in one line.
    assert script.main(tiny_args(tiny_dataset, work, doc, "--epochs", "3")) == 2
    assert "other settings (epochs)" in capsys.readouterr().err
