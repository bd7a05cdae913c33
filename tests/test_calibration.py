"""Calibrating an occupancy model's iso-level: the choice, the stored level, and who uses it."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
import trimesh
from safetensors.torch import load_file, save_file

from svr_desktop.evaluation.calibration import calibrate_iso_level, choose_level
from svr_desktop.evaluation.views import EvalView
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.model.checkpoint import CheckpointError, read_checkpoint_metadata, read_model_checkpoint
from svr_desktop.progress import run_to_completion
from svr_desktop.training.checkpoint import save_calibrated, ship_checkpoint

BALL = 0.3  # radius of the true part below


class ShellField:
    """A field like the shipped model's: 0.7 inside the true ball, 0.55 in a shell 0.1 thick around it, 0.2 beyond."""

    output_kind = "occupancy"

    def field(self, image, a, b):
        def probabilities(points: np.ndarray) -> np.ndarray:
            radius = np.linalg.norm(points, axis=1)
            return np.where(radius < BALL, 0.7, np.where(radius < BALL + 0.1, 0.55, 0.2))

        return probabilities


def ball_view() -> EvalView:
    image = np.zeros((64, 64, 3), np.uint8)
    return EvalView("ball", 0, 0, "mesh", "ball", image, image[..., 0] > 0, 1.8, 1.8, trimesh.creation.icosphere(4, BALL))


def test_the_lowest_level_within_the_tolerance_of_the_best_is_chosen():
    levels = (0.4, 0.5, 0.6, 0.7)
    assert choose_level(levels, (0.30, 0.36, 0.362, 0.20), tolerance=0.005) == 0.5
    assert choose_level(levels, (0.30, 0.36, 0.362, 0.20), tolerance=0.0) == 0.6
    assert choose_level(levels, (0.40, 0.36, 0.30, 0.20), tolerance=0.005) == 0.4


def test_a_field_whose_surface_lies_above_one_half_is_calibrated_above_it():
    result = run_to_completion(calibrate_iso_level(ShellField(), [ball_view(), ball_view()], points=20_000))
    # Below 0.55 the shell counts as part (IoU (0.3/0.4)^3 = 0.42); from 0.55 to 0.7 only the ball; at 0.7 nothing.
    assert result.iou_at(0.5) == pytest.approx(0.42, abs=0.03)
    assert result.iou_at(0.6) > 0.95 and result.iou_at(0.7) == 0.0
    assert result.iso_level == 0.55 and result.views == 2
    record = result.record(["balls (val)"])
    assert record["iso_level"] == 0.55 and record["data"] == ["balls (val)"] and set(record["mean_iou"]) >= {"0.5", "0.55"}


def test_only_occupancy_models_with_views_are_calibrated():
    sdf = ShellField()
    sdf.output_kind = "sdf"
    with pytest.raises(ValueError, match="outputs sdf"):
        run_to_completion(calibrate_iso_level(sdf, [ball_view()]))
    with pytest.raises(ValueError, match="no views"):
        run_to_completion(calibrate_iso_level(ShellField(), []))


@pytest.fixture(scope="module")
def checkpoint(tiny_run):
    return tiny_run[0] / "last.safetensors"


def test_a_calibrated_level_is_the_reconstructors_default_and_survives_shipping(checkpoint, tmp_path):
    calibrated, shipped = tmp_path / "calibrated.safetensors", tmp_path / "shipped.safetensors"
    save_calibrated(checkpoint, calibrated, {"iso_level": 0.6, "views": 3})
    assert read_model_checkpoint(checkpoint).iso_level == 0.5
    assert read_model_checkpoint(calibrated).iso_level == 0.6
    assert Reconstructor.from_checkpoint(calibrated, "cpu").default_threshold == 0.6
    before, after = load_file(checkpoint), load_file(calibrated)
    assert before.keys() == after.keys() and all(torch.equal(before[key], after[key]) for key in before)
    ship_checkpoint(calibrated, shipped)
    assert read_model_checkpoint(shipped).iso_level == 0.6


@pytest.mark.parametrize(
    "calibration, message",
    [({"iso_level": 1.5}, "lies in \\(0, 1\\)"), ({"iso_level": "high"}, "finite number"), ({"views": 3}, "finite number"),
     ("0.6", "finite number")],
)
def test_an_invalid_stored_level_is_refused_with_the_reason(checkpoint, tmp_path, calibration, message):
    meta = read_checkpoint_metadata(checkpoint)
    meta["calibration"] = calibration
    broken = tmp_path / "broken.safetensors"
    save_file(load_file(checkpoint), broken, metadata={"svr_desktop": json.dumps(meta)})
    with pytest.raises(CheckpointError, match=f"calibration is invalid.*{message}"):
        read_model_checkpoint(broken)


def run_calibrate(*args):
    command = [sys.executable, "-m", "svr_desktop", "calibrate", "--quiet", "--device", "cpu", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_the_command_stores_the_chosen_level_and_prints_the_curve(checkpoint, tiny_dataset, tmp_path):
    out = tmp_path / "calibrated.safetensors"
    original = checkpoint.read_bytes()
    result = run_calibrate("--checkpoint", checkpoint, "--data", tiny_dataset, "--split", "val", "train", "--views", 2, "--out", out)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["views"] == 6  # 3 shapes of the val and train splits, 2 views each
    assert read_model_checkpoint(out).iso_level == summary["iso_level"]
    assert f"{summary['iso_level']:5.3f}" in result.stdout and "<- chosen" in result.stdout
    assert summary["mean_iou"] >= summary["best_mean_iou"] - 0.005
    assert checkpoint.read_bytes() == original  # --out given: the source is untouched

    again = run_calibrate("--checkpoint", checkpoint, "--data", tiny_dataset, "--out", out)
    assert again.returncode == 2 and "already exists" in again.stderr
    no_source = run_calibrate("--checkpoint", checkpoint)
    assert no_source.returncode == 2 and "--data or --meshes" in no_source.stderr
    no_folder = run_calibrate("--checkpoint", checkpoint, "--data", tiny_dataset, "--out", tmp_path / "new" / "c.safetensors")
    assert no_folder.returncode == 2 and "existing folder" in no_folder.stderr
    missing = run_calibrate("--checkpoint", checkpoint, "--meshes", tmp_path / "nowhere")
    assert missing.returncode == 2 and "nowhere" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
