"""What training tells its user: how to fix a batch that does not fit, how a run ended, how good a checkpoint is."""

import subprocess
import sys
from pathlib import Path

import pytest

from svr_desktop.cli.train_command import summary_sentence
from svr_desktop.paths import default_model_path
from svr_desktop.training.checkpoint import CheckpointError, recorded_best_val_iou
from svr_desktop.training.trainer import TrainSummary, steps_per_epoch

SMALL = ["model.image_size=64", "model.width=8", "model.fpn_channels=16", "model.global_features=32",
         "model.decoder_hidden=[32,32,32,32]", "data.points_per_view=256", "data.batch_size=1"]


def test_a_batch_larger_than_the_training_split_says_how_to_fix_it():
    assert steps_per_epoch(40, 16) == 2 and steps_per_epoch(40, 8, world=2) == 2
    with pytest.raises(ValueError) as four:
        steps_per_epoch(4, 16)
    assert str(four.value) == (
        "the training split has 4 views, fewer than one batch of 16: set data.batch_size to 4 or less "
        "(the override data.batch_size=4; train --set data.batch_size=4), or build the data set with more shapes"
    )
    with pytest.raises(ValueError, match=r"has 1 view, fewer than one batch of 16: set data.batch_size to 1 \("):
        steps_per_epoch(1, 16)
    with pytest.raises(ValueError, match=r"has 6 views, fewer than one batch of 16: set data.batch_size to 3 or less"):
        steps_per_epoch(6, 8, world=2)  # two processes share the views
    with pytest.raises(ValueError, match=r"has 1 view, fewer than one batch of 8: train with at most 1 process, or build"):
        steps_per_epoch(1, 4, world=2)
    with pytest.raises(ValueError, match=r"has 0 views, fewer than one batch of 16: build the data set with more shapes$"):
        steps_per_epoch(0, 16)


def summary(steps, epochs, stopped, best=0.25):
    return TrainSummary(Path("runs/x"), steps, epochs, best, None, stopped, 90.0, model=None)


def test_the_end_of_a_run_reads_as_sentences_with_singulars_and_plurals():
    data = Path("data/parts")
    assert summary_sentence(summary(3, 1, "time budget reached"), data) == (
        "runs/x: training stopped (time budget reached) after 3 steps and 1 complete epoch in 1.5 min; "
        "best validation IoU 0.2500. Continue it with: svr-desktop train --data data/parts --out runs/x --resume"
    )
    assert summary_sentence(summary(1, 0, "stop requested", best=-1.0), data).startswith(
        "runs/x: training stopped (stop requested) after 1 step and 0 complete epochs in 1.5 min; no validation yet"
    )
    assert summary_sentence(summary(1200, 5, None), data) == (
        "runs/x: training finished after 1,200 steps and 5 complete epochs in 1.5 min; best validation IoU 0.2500."
    )


def test_the_cli_stop_message_after_one_step(tiny_dataset, tmp_path):
    overrides = [arg for item in SMALL for arg in ("--set", item)]
    command = [sys.executable, "-m", "svr_desktop", "train", "--data", str(tiny_dataset), "--out", str(tmp_path / "run"),
               "--quiet", "--max-minutes", "0", *overrides]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "training stopped (time budget reached) after 1 step and 0 complete epochs in " in result.stdout
    assert f"--data {tiny_dataset} --out {tmp_path / 'run'} --resume" in result.stdout


def test_the_best_validation_iou_is_read_from_a_checkpoint_without_its_weights(tmp_path):
    assert 0.0 < recorded_best_val_iou(default_model_path()) < 1.0  # the shipped model's training state
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="broken.safetensors"):
        recorded_best_val_iou(broken)
