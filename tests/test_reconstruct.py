"""Reconstruction through a small trained fixture model: mesh quality, stats, cancellation."""

import numpy as np
import pytest

from svr_desktop.data.dataset import load_split
from svr_desktop.geometry.metrics import iou
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.inference.settings import ReconstructionSettings
from svr_desktop.progress import run_to_completion
from svr_desktop.training.checkpoint import CheckpointError

#: The fixture model memorizes its 2 training shapes from mostly near-surface
#: points, so its far field is loose: its training views measured IoU 0.52 to
#: 0.76 at 64^3 (held-out shapes: 0.11 to 0.21).  0.45 fails for any broken
#: convention (axis flip, wrong a/b, wrong threshold) while leaving room for
#: run-to-run noise.
IOU_FLOOR = 0.45


@pytest.fixture(scope="module")
def reconstructor(tiny_run):
    run_dir, _ = tiny_run
    return Reconstructor.from_checkpoint(run_dir / "last.safetensors", "cpu")


def test_training_views_reconstruct_to_watertight_meshes_above_the_floor(tiny_dataset, reconstructor):
    records = load_split(tiny_dataset, "train")
    for record in records:
        other = next(r for r in records if r.shape_id != record.shape_id)
        for view in range(record.views):
            mesh, stats = run_to_completion(
                reconstructor.reconstruct_input(record.images[view], float(record.a[view]), float(record.b[view]), ReconstructionSettings(resolution=64))
            )
            assert mesh.is_watertight and mesh.volume > 0 and stats.watertight
            score = iou(mesh, record.view_mesh(view), rng=0, points=20_000)
            assert score >= IOU_FLOOR, (record.shape_id, view, score)
            assert score > iou(mesh, other.view_mesh(view), rng=0, points=20_000)


def test_stats_report_stages_counts_and_device(tiny_dataset, reconstructor):
    record = load_split(tiny_dataset, "train")[0]
    events = []
    mesh, stats = run_to_completion(
        reconstructor.reconstruct_input(record.images[0], float(record.a[0]), float(record.b[0]), ReconstructionSettings(resolution=64)),
        on_progress=events.append,
    )
    assert list(stats.timings)[:3] == ["encode", "mise 32^3", "mise 64^3"]
    assert list(stats.timings)[-2:] == ["marching cubes", "post-process"]
    assert all(seconds >= 0 for seconds in stats.timings.values())
    assert 0 < stats.points_queried < 65**3
    assert stats.faces == len(mesh.faces) and stats.device == "cpu"
    assert stats.threshold == 0.5 and stats.a == pytest.approx(float(record.a[0]))
    assert {event.stage for event in events} >= {"encode", "mise 32^3", "mise 64^3", "post-process"}


def test_a_and_b_stretch_the_reconstruction(tiny_dataset, reconstructor):
    record = load_split(tiny_dataset, "train")[0]
    image, a, b = record.images[0], float(record.a[0]), float(record.b[0])
    base, _ = run_to_completion(reconstructor.reconstruct_input(image, a, b, ReconstructionSettings(resolution=64)))
    wide, _ = run_to_completion(reconstructor.reconstruct_input(image, a / 1.3, b, ReconstructionSettings(resolution=64)))
    # A smaller a makes points further out in x see the part's pixels, so the
    # part widens along x and not along y.  (The fixture memorized absolute
    # coordinates too, so the stretch is measured at about 1.12, not 1.3.)
    x_ratio = wide.extents[0] / base.extents[0]
    y_ratio = wide.extents[1] / base.extents[1]
    assert x_ratio > 1.05
    assert abs(y_ratio - 1.0) < abs(x_ratio - 1.0)


def test_cancelling_during_mise_stops_within_one_chunk(tiny_dataset, reconstructor, monkeypatch):
    record = load_split(tiny_dataset, "train")[0]
    calls = []
    original = reconstructor.model.encoder.sample  # called once per queried chunk
    monkeypatch.setattr(reconstructor.model.encoder, "sample", lambda *args: calls.append(1) or original(*args))
    work = reconstructor.reconstruct_input(record.images[0], float(record.a[0]), float(record.b[0]), ReconstructionSettings(resolution=128, chunk_size=2048))
    for event in work:
        if event.stage == "mise 64^3":
            break
    calls_at_cancel = len(calls)
    work.close()
    assert calls_at_cancel > 0
    assert len(calls) == calls_at_cancel  # no query after the cancelling event


def test_bad_inputs_are_refused(tiny_dataset, reconstructor, tmp_path):
    record = load_split(tiny_dataset, "train")[0]
    with pytest.raises(ValueError, match="a and b must be positive"):
        run_to_completion(reconstructor.reconstruct_input(record.images[0], 0.0, 1.0))
    with pytest.raises(ValueError, match="square"):
        run_to_completion(reconstructor.reconstruct_input(np.zeros((64, 48, 3), np.uint8), 1.8, 1.8))
    (tmp_path / "model.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        Reconstructor.from_checkpoint(tmp_path / "model.safetensors", "cpu")
