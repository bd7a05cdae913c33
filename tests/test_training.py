"""Training: resume bit-for-bit, adaptive s, DDP, checkpoints, CLI stop."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from helpers import killed_writers_temp
from svr_desktop.data.dataset import ViewDataset, load_split
from svr_desktop.files import ORPHAN_MIN_AGE_S
from svr_desktop.progress import run_to_completion
from svr_desktop.model.checkpoint import load_model
from svr_desktop.training.checkpoint import CheckpointError, read_checkpoint
from svr_desktop.training.config import fine_tune_config, load_config, preset_names
from svr_desktop.training.metrics_log import MetricsFollower, drop_lines_after
from svr_desktop.training.trainer import LAST, epoch_batches, train

TINY = [
    "model.image_size=64",
    "model.width=8",
    "model.fpn_channels=16",
    "model.global_features=32",
    "model.decoder_hidden=[32,32,32,32]",
    "data.points_per_view=256",
    "data.batch_size=1",
    "log_every=1",
    "optim.lr=1e-3",
]


def tiny_config(*overrides):
    return load_config("cpu-small", TINY + list(overrides))


def metric_lines(run_dir, kind):
    lines = [json.loads(line) for line in (Path(run_dir) / "metrics.jsonl").read_text().splitlines()]
    return [line for line in lines if line["kind"] == kind]


def test_presets_resolve_and_overrides_apply():
    assert {"cpu-small", "paper"} <= set(preset_names())
    paper = load_config("paper")
    assert (paper.model.width, paper.model.fpn_channels, paper.data.points_per_view, paper.optim.epochs) == (64, 256, 10000, 50)
    config = load_config("cpu-small", ["optim.lr=3e-4", "labels.mode=binary", "model.encoder=global"])
    assert config.optim.lr == 3e-4 and config.labels.mode == "binary" and config.model.encoder == "global"
    with pytest.raises(ValueError, match="unknown keys"):
        load_config("cpu-small", ["optim.learning_rate=1"])
    with pytest.raises(ValueError, match="unknown preset"):
        load_config("gpu-huge")
    with pytest.raises(ValueError, match="unknown label mode"):
        load_config("cpu-small", ["labels.mode=fuzzy"])


def test_epoch_batches_partition_views_between_ranks():
    both = [epoch_batches(10, 2, seed=0, epoch=3, rank=r, world=2) for r in (0, 1)]
    flat = [i for batches in both for batch in batches for i in batch]
    assert len(flat) == len(set(flat)) == 8  # 2 steps x 2 ranks x 2, remainder dropped
    assert epoch_batches(10, 2, 0, 3) != epoch_batches(10, 2, 0, 4)
    with pytest.raises(ValueError, match="fewer than one batch"):
        epoch_batches(3, 4, 0, 0)


def test_resume_continues_bit_for_bit(tiny_dataset, tmp_path):
    config = tiny_config("optim.epochs=2")  # 4 training views, batch 1: 4 steps per epoch
    straight = run_to_completion(train(tiny_dataset, tmp_path / "straight", config))
    assert straight.steps == 8 and straight.stopped is None

    steps = []
    first = run_to_completion(
        train(tiny_dataset, tmp_path / "split", config, should_stop=lambda: len(steps) >= 3),
        on_progress=lambda event: steps.append(event),
    )
    assert first.stopped == "stop requested" and first.steps == 3
    stopped_state = read_checkpoint(tmp_path / "split" / "last.safetensors").training_state
    assert stopped_state["step"] == 3 and stopped_state["batch_in_epoch"] == 3
    resumed = run_to_completion(train(tiny_dataset, tmp_path / "split", resume=True))
    assert resumed.steps == 8 and resumed.stopped is None

    def losses(run):
        return {line["step"]: line["loss"] for line in metric_lines(tmp_path / run, "train")}

    assert losses("split") == losses("straight")
    for name, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name


def test_a_killed_run_resumes_with_each_step_logged_once_and_no_temporary_files(tiny_dataset, tmp_path):
    run_dir = tmp_path / "run"
    work = train(tiny_dataset, run_dir, tiny_config("optim.epochs=2"))  # 4 steps per epoch, a checkpoint after each
    for _ in range(6):
        next(work)
    work.close()  # killed at step 6: its last checkpoint is the one of step 4
    assert read_checkpoint(run_dir / LAST).training_state["step"] == 4
    assert [line["step"] for line in metric_lines(run_dir, "train")] == [1, 2, 3, 4, 5, 6]
    with (run_dir / "metrics.jsonl").open("a") as handle:
        handle.write('{"kind": "train", "st')  # a line cut short by the kill
    orphan = killed_writers_temp(run_dir / LAST, ORPHAN_MIN_AGE_S + 1, b"half a checkpoint")

    resumed = run_to_completion(train(tiny_dataset, run_dir, resume=True))
    assert resumed.steps == 8 and resumed.stopped is None
    assert [line["step"] for line in metric_lines(run_dir, "train")] == list(range(1, 9))
    assert [line["epoch"] for line in metric_lines(run_dir, "val")] == [1, 2]
    assert [line["event"] for line in metric_lines(run_dir, "event")] == ["started", "resumed", "finished"]
    assert not orphan.exists()


def test_only_lines_logged_after_the_checkpoint_are_dropped(tmp_path):
    records = [
        {"kind": "event", "event": "started", "step": 0, "epoch": 0},
        {"kind": "train", "step": 4, "epoch": 0},
        {"kind": "val", "step": 4, "epoch": 1},  # the epoch ended; its checkpoint may not have been written
        {"kind": "train", "step": 5, "epoch": 1},
    ]
    path = tmp_path / "metrics.jsonl"
    text = "".join(json.dumps(record) + "\n" for record in records)

    def kept_after_resume_at(step, epoch):
        path.write_text(text)
        drop_lines_after(path, step, epoch)
        return [json.loads(line) for line in path.read_text().splitlines()]

    assert kept_after_resume_at(5, 1) == records
    assert kept_after_resume_at(4, 1) == records[:3]
    assert kept_after_resume_at(4, 0) == records[:2]  # the end of epoch 1 is done again
    assert kept_after_resume_at(0, 0) == records[:1]
    assert drop_lines_after(tmp_path / "missing.jsonl", 3, 0) == 0


def test_a_follower_reads_a_cut_metrics_file_again_from_its_start(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"kind": "train", "step": step, "epoch": 0}) + "\n" for step in (1, 2, 3)))
    follower = MetricsFollower(path)
    assert [record["step"] for record in follower.read_new()] == [1, 2, 3]
    drop_lines_after(path, 1, 0)  # a resume from the checkpoint of step 1
    with path.open("a") as handle:
        handle.write(json.dumps({"kind": "event", "event": "resumed", "step": 1, "epoch": 0}) + "\n")
    assert [record["step"] for record in follower.read_new()] == [1, 1]


def test_adaptive_s_follows_f1_within_its_clamp_and_survives_resume(tiny_dataset, tmp_path):
    config = tiny_config("optim.epochs=6", "labels.update_fraction=0.2", "labels.s_min=0.2", "labels.s_max=0.6", "optim.lr=3e-3")
    steps = []
    run_to_completion(
        train(tiny_dataset, tmp_path / "run", config, should_stop=lambda: len(steps) >= 9),
        on_progress=lambda event: steps.append(event),
    )
    saved = read_checkpoint(tmp_path / "run" / "last.safetensors").training_state["adaptive"]
    assert saved["s"] == metric_lines(tmp_path / "run", "train")[-1]["s"]
    run_to_completion(train(tiny_dataset, tmp_path / "run", resume=True))
    s_values = [line["s"] for line in metric_lines(tmp_path / "run", "train")]
    assert all(0.2 <= s <= 0.6 for s in s_values)
    assert all(later <= earlier for earlier, later in zip(s_values, s_values[1:]))  # only ever sharper
    assert s_values[-1] < s_values[0]  # F1 improved at some update
    # every drop of s happened at an epoch boundary where F1 beat the best so far
    val = metric_lines(tmp_path / "run", "val")
    assert [line["epoch"] for line in val] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    "encoder,mode",
    [("global", "binary"), ("multilevel", "fixed"), ("fpn", "sdf"), ("fpn", "adaptive")],
)
def test_every_encoder_and_label_mode_trains(tiny_dataset, tmp_path, encoder, mode):
    config = tiny_config("optim.epochs=1", f"model.encoder={encoder}", f"labels.mode={mode}")
    summary = run_to_completion(train(tiny_dataset, tmp_path / "run", config))
    losses = [line["loss"] for line in metric_lines(tmp_path / "run", "train")]
    assert len(losses) == 4 and all(loss is not None and loss >= 0 for loss in losses)
    assert 0.0 <= summary.best_val_iou <= 1.0
    model = load_model(tmp_path / "run" / "best.safetensors")
    assert model.config.encoder == encoder
    assert (tmp_path / "run" / "config.yaml").read_text().count(f"mode: {mode}") == 1


def test_a_run_folder_is_never_silently_reused(tiny_dataset, tmp_path):
    config = tiny_config("optim.epochs=1")
    with pytest.raises(ValueError, match="nothing to resume"):
        run_to_completion(train(tiny_dataset, tmp_path / "run", resume=True))
    run_to_completion(train(tiny_dataset, tmp_path / "run", config))
    with pytest.raises(ValueError, match="already holds a run"):
        run_to_completion(train(tiny_dataset, tmp_path / "run", config))


def test_time_budget_stops_with_a_checkpoint(tiny_dataset, tmp_path):
    summary = run_to_completion(train(tiny_dataset, tmp_path / "run", tiny_config("optim.epochs=50"), max_minutes=0.0))
    assert summary.stopped == "time budget reached" and summary.steps == 1
    assert read_checkpoint(tmp_path / "run" / "last.safetensors").training_state["step"] == 1


def test_broken_checkpoints_are_rejected_without_unpickling(tiny_dataset, tmp_path):
    run_to_completion(train(tiny_dataset, tmp_path / "run", tiny_config("optim.epochs=1")))
    good = (tmp_path / "run" / "last.safetensors").read_bytes()
    cases = {
        "truncated.safetensors": good[: len(good) // 2],
        "garbage.safetensors": os.urandom(4096),
        "empty.safetensors": b"",
        # a pickle that would run code if it were ever unpickled
        "pickle.safetensors": b"\x80\x04\x95cos\nsystem\n(S'touch /tmp/pwned'\ntR.",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError, match="not a readable checkpoint"):
            load_model(tmp_path / name)
    save_file({"w": torch.zeros(2)}, tmp_path / "foreign.safetensors")
    with pytest.raises(CheckpointError, match="not an SVR Desktop checkpoint"):
        load_model(tmp_path / "foreign.safetensors")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_model(tmp_path / "missing.safetensors")

    # weights that do not fit the architecture their config names
    header_len = int.from_bytes(good[:8], "little")
    header = json.loads(good[8 : 8 + header_len])
    meta = json.loads(header["__metadata__"]["svr_desktop"])
    tensors = read_checkpoint(tmp_path / "run" / "last.safetensors").model_state
    weights = {f"model.{k}": v.contiguous() for k, v in tensors.items()}
    save_file(weights, tmp_path / "no_optim.safetensors", metadata={"svr_desktop": json.dumps(meta)})
    with pytest.raises(CheckpointError, match="optimizer state is incomplete"):
        read_checkpoint(tmp_path / "no_optim.safetensors")  # what a resume reads
    load_model(tmp_path / "no_optim.safetensors")  # inference never reads the optimizer state
    del meta["optimizer"]
    meta["config"]["model"]["width"] = 16
    save_file(weights, tmp_path / "mismatch.safetensors", metadata={"svr_desktop": json.dumps(meta)})
    with pytest.raises(CheckpointError, match="do not match"):
        load_model(tmp_path / "mismatch.safetensors")


DDP_WORKER = """
import os, sys, torch
from svr_desktop.data.dataset import ViewDataset, load_split
from svr_desktop.progress import run_to_completion
from svr_desktop.training.config import load_config
from svr_desktop.training.trainer import train
config = load_config("cpu-small", sys.argv[3:])
summary = run_to_completion(train(sys.argv[1], sys.argv[2], config))
torch.save(dict(summary.model.named_parameters()), f"{sys.argv[2]}/params_rank{os.environ['RANK']}.pt")
print("steps", summary.steps)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ddp_two_cpu_processes_end_with_identical_weights(tiny_dataset, tmp_path):
    run_dir = tmp_path / "ddp"
    run_dir.mkdir()
    port = free_port()
    processes = []
    for rank in (0, 1):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", OMP_NUM_THREADS="1")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", DDP_WORKER, str(tiny_dataset), str(run_dir), *TINY, "optim.epochs=2"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err
        assert "steps 4" in out  # 4 views over 2 ranks, batch 1: 2 steps per epoch
    rank0 = torch.load(run_dir / "params_rank0.pt")
    rank1 = torch.load(run_dir / "params_rank1.pt")
    assert rank0.keys() == rank1.keys()
    for name in rank0:
        assert torch.equal(rank0[name], rank1[name]), name
    started = metric_lines(run_dir, "event")[0]
    assert started["event"] == "started" and started["world_size"] == 2
    assert len(metric_lines(run_dir, "val")) == 2  # rank 0 alone writes metrics


def test_cli_ctrl_c_saves_a_checkpoint_and_resume_finishes(tiny_dataset, tmp_path):
    run_dir = tmp_path / "cli"
    command = [sys.executable, "-m", "svr_desktop", "train", "--data", str(tiny_dataset), "--out", str(run_dir), "--quiet"]
    overrides = [arg for item in TINY + ["optim.epochs=1000"] for arg in ("--set", item)]
    process = subprocess.Popen(command + overrides, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (run_dir / "metrics.jsonl").exists() and metric_lines(run_dir, "train"):
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "stopped (stop requested)" in out and "Traceback" not in err
    state = read_checkpoint(run_dir / "last.safetensors").training_state
    assert state["step"] >= 1
    assert metric_lines(run_dir, "event")[-1]["event"] == "stopped"

    resumed = subprocess.run(command + ["--resume", "--max-minutes", "0"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert read_checkpoint(run_dir / "last.safetensors").training_state["step"] == state["step"] + 1
    bad = subprocess.run(command + ["--resume", "--config", "paper"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "drop --config" in bad.stderr and "Traceback" not in bad.stderr


def test_a_fine_tune_starts_from_the_checkpoints_weights_with_a_fresh_optimizer(tiny_dataset, tmp_path):
    run_to_completion(train(tiny_dataset, tmp_path / "base", tiny_config("optim.epochs=2")))
    base = read_checkpoint(tmp_path / "base" / "last.safetensors")
    config = fine_tune_config(base.config, ["optim.lr=1e-12", "optim.epochs=5", "optim.warmup_steps=0"])
    assert config.optim.lr == 1e-12 and config.model == base.config.model and config.data == base.config.data
    summary = run_to_completion(train(tiny_dataset, tmp_path / "tuned", config, init_from=base, max_minutes=0.0))
    assert summary.steps == 1  # a new run: its own step count and schedule
    tuned = read_checkpoint(tmp_path / "tuned" / "last.safetensors")
    assert tuned.training_state["step"] == 1
    assert all(int(value["step"]) == 1 for value in tuned.optimizer_state["state"].values())  # Adam starts afresh
    weights = {name: value for name, value in base.model_state.items() if "running_" not in name and "num_batches" not in name}
    assert all(torch.allclose(tuned.model_state[name], value, atol=1e-6) for name, value in weights.items())
    base_again = read_checkpoint(tmp_path / "base" / "last.safetensors")
    run_to_completion(train(tiny_dataset, tmp_path / "scratch", config, max_minutes=0.0))  # from scratch: other weights
    scratch = read_checkpoint(tmp_path / "scratch" / "last.safetensors").model_state
    assert not all(torch.allclose(scratch[name], value, atol=1e-6) for name, value in weights.items())
    assert base_again.training_state == base.training_state  # the starting checkpoint is left as it was
    started = metric_lines(tmp_path / "tuned", "event")[0]
    assert started["event"] == "started" and started["init_from"].endswith("last.safetensors")


def test_a_fine_tune_keeps_the_network_and_is_refused_with_clear_lines(tiny_dataset, tmp_path):
    run_to_completion(train(tiny_dataset, tmp_path / "base", tiny_config("optim.epochs=1")))
    base = read_checkpoint(tmp_path / "base" / "last.safetensors")
    with pytest.raises(ValueError, match="keeps the checkpoint's network"):
        fine_tune_config(base.config, ["model.width=16"])
    other = tiny_config("optim.epochs=1", "model.width=16")
    with pytest.raises(ValueError, match="keeps the checkpoint's network"):
        run_to_completion(train(tiny_dataset, tmp_path / "other", other, init_from=base))
    assert not (tmp_path / "other").exists()
    command = [sys.executable, "-m", "svr_desktop", "train", "--data", str(tiny_dataset), "--quiet",
               "--init-from", str(tmp_path / "base" / "last.safetensors")]
    for extra, message in ((["--config", "paper"], "drop --config"), (["--resume"], "drop --config/--method/--set/--init-from")):
        bad = subprocess.run(command + ["--out", str(tmp_path / "cli")] + extra, capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr
    done = subprocess.run(command + ["--out", str(tmp_path / "cli"), "--set", "optim.epochs=1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "training finished" in done.stdout


def test_fpn_with_adaptive_labels_overfits_a_tiny_set(tiny_dataset, tiny_run):
    """The paper's method memorizes 2 shapes x 2 views: IoU >= 0.9 on their own training points."""
    run_dir, summary = tiny_run
    config = read_checkpoint(run_dir / "last.safetensors").config
    assert config.model.encoder == "fpn" and config.labels.mode == "adaptive"
    model = summary.model.eval()
    every_point = len(load_split(tiny_dataset, "train")[0].train_points)
    dataset = ViewDataset(tiny_dataset, "train", points_per_view=every_point)
    ious = []
    with torch.no_grad():
        for index in range(len(dataset)):
            item = dataset[index]
            output = model(item["image"][None], item["points"][None], item["a"][None], item["b"][None])[0]
            predicted, truth = output > 0, item["inside"]
            ious.append(float((predicted & truth).sum() / (predicted | truth).sum()))
    assert min(ious) >= 0.9, ious
    s_values = [line["s"] for line in metric_lines(run_dir, "train")]
    assert s_values[-1] < s_values[0]  # the labels sharpened as F1 rose


def test_depth_guided_run_logs_depth_losses_and_rebuilds_from_its_checkpoint(tiny_dataset, tmp_path):
    config = tiny_config("optim.epochs=3", "model.depth_head=true", "model.depth_guided=true", "model.depth_layers=2")
    run_to_completion(train(tiny_dataset, tmp_path / "run", config))
    lines = metric_lines(tmp_path / "run", "train")
    depth = [line["depth_l1"] for line in lines]
    assert all(key in lines[0] for key in ("depth_l1", "layer_bce", "normal_cos"))
    assert all(0.0 <= value < 1.0 for value in depth)
    assert min(depth[-4:]) < max(depth[:4])  # the dense head learns
    model = load_model(tmp_path / "run" / "last.safetensors")
    assert model.config.depth_head and model.config.depth_guided and model.depth_head is not None
    # The paper's configuration logs no depth losses.
    run_to_completion(train(tiny_dataset, tmp_path / "paper", tiny_config("optim.epochs=1")))
    assert "depth_l1" not in metric_lines(tmp_path / "paper", "train")[0]


def test_learning_rate_warms_up_then_decays_to_its_floor():
    from svr_desktop.training.config import OptimConfig
    from svr_desktop.training.schedule import learning_rate

    optim = OptimConfig(lr=1e-3, warmup_steps=10, schedule="cosine", min_lr_fraction=0.1)
    rates = [learning_rate(step, 110, optim) for step in range(110)]
    assert rates[0] == pytest.approx(1e-4) and rates[9] == pytest.approx(1e-3)
    assert all(later <= earlier for earlier, later in zip(rates[9:], rates[10:]))
    assert rates[60] == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5), rel=1e-6)  # halfway down the cosine
    assert learning_rate(109, 110, optim) == pytest.approx(1e-4, rel=0.01)
    assert learning_rate(500, 110, optim) == pytest.approx(1e-4)  # past the plan: the floor
    constant = OptimConfig(lr=1e-3, warmup_steps=0, schedule="constant")
    assert {learning_rate(step, 50, constant) for step in range(50)} == {1e-3}
    with pytest.raises(ValueError, match="schedule"):
        load_config("cpu-small", ["optim.schedule=sometimes"])


def test_logged_learning_rate_follows_the_schedule(tiny_dataset, tmp_path):
    run_to_completion(train(tiny_dataset, tmp_path / "run", tiny_config("optim.epochs=2", "optim.warmup_steps=4")))
    rates = [line["lr"] for line in metric_lines(tmp_path / "run", "train")]
    assert rates[:4] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    assert rates[-1] < rates[3]


@pytest.mark.parametrize("native,amp,expected", [("1", True, "bfloat16"), ("0", True, "float32"), ("1", False, "float32")])
def test_cpu_autocast_is_bf16_only_where_native_and_wanted(tiny_dataset, tmp_path, monkeypatch, native, amp, expected):
    from svr_desktop import devices

    monkeypatch.setenv(devices.CPU_BF16_VARIABLE, native)
    devices.cpu_has_native_bf16.cache_clear()
    try:
        config = tiny_config("optim.epochs=1", f"optim.amp={str(amp).lower()}")
        run_to_completion(train(tiny_dataset, tmp_path / "run", config))
        started = metric_lines(tmp_path / "run", "event")[0]
        assert started["precision"] == expected
        assert all(line["loss"] >= 0 for line in metric_lines(tmp_path / "run", "train"))
    finally:
        monkeypatch.undo()
        devices.cpu_has_native_bf16.cache_clear()


def test_the_trainer_passes_the_data_sets_voxel_resolution_to_the_loss(tiny_dataset, tmp_path, monkeypatch):
    from svr_desktop.training import trainer

    seen = []
    real = trainer.label_loss

    def recording(*args, **kwargs):
        seen.append(args[4] if len(args) > 4 else kwargs.get("voxel_resolution"))
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "label_loss", recording)
    run_to_completion(train(tiny_dataset, tmp_path / "run", tiny_config("optim.epochs=1", "labels.mode=sdf")))
    resolution = load_split(tiny_dataset, "train")[0].voxel_resolution
    assert seen and set(seen) == {resolution}


def test_training_threads_share_the_cores_between_local_processes(monkeypatch):
    from svr_desktop.devices import threads_per_training_process

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert threads_per_training_process() == 4
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    assert threads_per_training_process() == 8
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads_per_training_process() == 3


def test_the_trainer_turns_training_views_only(tiny_dataset, tmp_path, monkeypatch):
    from svr_desktop.training import trainer

    turns = {}

    class Recording(ViewDataset):
        def __init__(self, root, split="train", *args, **kwargs):
            super().__init__(root, split, *args, **kwargs)
            turns[split] = self.turn_degrees

    monkeypatch.setattr(trainer, "ViewDataset", Recording)
    run_to_completion(train(tiny_dataset, tmp_path / "run", tiny_config("optim.epochs=1", "data.turn_degrees=12.5")))
    assert turns == {"train": 12.5, "val": 0.0}
