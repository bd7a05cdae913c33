"""The part segmenter (issue 14): photo-like augmentations with exact masks, its fine-tune, and its use."""

import numpy as np
import pytest
import torch

import svr_desktop.data.photo_augment as photo_augment
from svr_desktop.cli import main
from svr_desktop.data.photo_augment import augment_view
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.inference.segmentation import NetworkSegmenter, load_segmenter
from svr_desktop.model import ModelConfig, get_model
from svr_desktop.model.checkpoint import CheckpointError
from svr_desktop.progress import run_to_completion
from svr_desktop.training.checkpoint import read_checkpoint, save_checkpoint
from svr_desktop.training.config import load_config
from svr_desktop.training.segmenter import LAST, SegmenterSettings, silhouette_loss, train_segmenter

SMALL = ["model.image_size=64", "model.width=8", "model.fpn_channels=16", "model.decoder_hidden=[32,32,16,16]"]
ALL_OFF = dict(P_REFRAME=0.0, P_SHADOW=0.0, P_SHADED_SIDE=0.0, P_DARK_PART=0.0, P_DARK_GROUND=0.0, P_MATCHED_TONES=0.0, P_BLUR=0.0, P_NOISE=0.0, P_JPEG=0.0, P_MIRROR=0.0)


def _view(size=64):
    """A light grey ground with a white square part, and the part's mask."""
    image = np.full((size, size, 3), 150, np.uint8)
    mask = np.zeros((size, size), bool)
    low, high = 20 * size // 64, 40 * size // 64
    mask[low:high, low + size // 16 : high + size // 16] = True
    image[mask] = (240, 230, 220)
    return image, mask


def _only(monkeypatch, **chances):
    for name, value in {**ALL_OFF, **chances}.items():
        monkeypatch.setattr(photo_augment, name, value)


def _checkpoint(path, depth_head=True):
    config = load_config("cpu-small", [*SMALL, f"model.depth_head={str(depth_head).lower()}"])
    torch.manual_seed(0)
    save_checkpoint(path, get_model(config.model), config, {"step": 0})
    return path


def test_augmentation_is_seeded_and_keeps_types():
    image, mask = _view()
    first = augment_view(image, mask, np.random.default_rng(5))
    again = augment_view(image, mask, np.random.default_rng(5))
    other = augment_view(image, mask, np.random.default_rng(6))
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])
    assert first[0].dtype == np.uint8 and first[0].shape == image.shape and first[1].dtype == bool


def test_a_cast_shadow_darkens_the_ground_beside_the_part_and_never_the_part(monkeypatch):
    _only(monkeypatch, P_SHADOW=1.0)
    image, mask = _view()
    for seed in range(5):
        shadowed, same_mask = augment_view(image, mask, np.random.default_rng(seed))
        assert np.array_equal(same_mask, mask)
        inner = np.zeros_like(mask)
        inner[22:38, 26:42] = True  # away from the antialiased edge
        # lighting varies the whole picture alike: compare the ground with the part, not with the input
        part_level = shadowed[inner].mean()
        ground = shadowed[~mask].astype(float).mean(axis=1)
        assert np.ptp(shadowed[inner].astype(float).mean(axis=1)) <= 2
        assert ground.min() < 0.9 * np.median(ground) and part_level > np.median(ground)


def test_a_shaded_side_darkens_a_band_of_the_part_and_keeps_its_outline(monkeypatch):
    _only(monkeypatch, P_SHADED_SIDE=1.0)
    image, mask = _view(128)
    for seed in range(5):
        shaded, same_mask = augment_view(image, mask, np.random.default_rng(seed))
        assert np.array_equal(same_mask, mask)
        near = np.zeros_like(mask)
        near[mask.nonzero()[0].min() - 3 : mask.nonzero()[0].max() + 4, mask.nonzero()[1].min() - 3 : mask.nonzero()[1].max() + 4] = True
        ground = shaded[~near].astype(float).mean(axis=1)  # beyond the outline's antialiased pixels
        part = shaded[mask].astype(float).mean(axis=1)
        assert np.ptp(ground) <= 2  # the ground is untouched (one lighting draw for all of it)
        assert part.min() < 0.85 * np.median(part)  # a band of the part got darker ...
        assert np.median(part) > np.median(ground)  # ... not the whole part


def test_darkening_moves_part_and_ground_but_not_the_mask(monkeypatch):
    image, mask = _view()
    _only(monkeypatch, P_DARK_PART=1.0)
    dark_part, kept = augment_view(image, mask, np.random.default_rng(1))
    _only(monkeypatch, P_DARK_GROUND=1.0)
    dark_ground, kept_too = augment_view(image, mask, np.random.default_rng(1))
    assert np.array_equal(kept, mask) and np.array_equal(kept_too, mask)
    # Under the same lighting draw, only the darkened side got darker relative to the other.
    assert dark_part[mask].mean() / dark_part[~mask].mean() < 0.8 * image[mask].mean() / image[~mask].mean()
    assert dark_ground[~mask].mean() / dark_ground[mask].mean() < 0.8 * image[~mask].mean() / image[mask].mean()


def test_matched_tones_bring_the_ground_to_the_parts_brightness(monkeypatch):
    _only(monkeypatch, P_MATCHED_TONES=1.0)
    image, mask = _view()
    for seed in range(5):
        matched, kept = augment_view(image, mask, np.random.default_rng(seed))
        assert np.array_equal(kept, mask)
        ratio = matched[~mask].mean() / matched[mask].mean()
        assert 0.75 < ratio < 1.3 and abs(ratio - image[~mask].mean() / image[mask].mean()) > 0.1


@pytest.mark.parametrize("seed", range(4))
def test_reframing_and_mirroring_move_image_and_mask_together(monkeypatch, seed):
    _only(monkeypatch, P_REFRAME=1.0, P_MIRROR=1.0)
    image, mask = _view(128)  # large enough that the edge's ring of pixels is a small share of the part
    moved, moved_mask = augment_view(image, mask, np.random.default_rng(seed))
    red = moved[..., 0].astype(float)
    part_pixels = red > (red.min() + red.max()) / 2  # the light part, wherever it went, whatever the lighting
    assert moved_mask.sum() < mask.sum()  # drawn smaller
    assert (part_pixels & moved_mask).sum() / (part_pixels | moved_mask).sum() > 0.9


def test_augmentation_refuses_mismatched_inputs():
    image, mask = _view()
    with pytest.raises(ValueError, match="uint8 image"):
        augment_view(image.astype(np.float32), mask, np.random.default_rng(0))
    with pytest.raises(ValueError, match="mask"):
        augment_view(image, mask[:10], np.random.default_rng(0))


def test_silhouette_loss_rewards_the_right_mask():
    masks = torch.zeros(1, 64, 64, dtype=torch.bool)
    masks[:, 16:48, 16:48] = True
    layers = 2
    raw = torch.zeros(1, 3 * layers + 3, 16, 16)
    right, wrong = raw.clone(), raw.clone()
    small = torch.nn.functional.interpolate(masks[:, None].float(), size=(16, 16), mode="area")[:, 0]
    right[:, 2 * layers] = 8.0 * (small - 0.5)
    wrong[:, 2 * layers] = -8.0 * (small - 0.5)
    assert silhouette_loss(right, masks) < 0.2 < silhouette_loss(raw, masks) < silhouette_loss(wrong, masks)


def test_fine_tune_trains_encoder_and_head_keeps_the_decoder_and_resumes_exactly(tiny_dataset, tmp_path):
    init = _checkpoint(tmp_path / "init.safetensors")
    settings = SegmenterSettings(steps=4, batch_size=2, warmup_steps=1, checkpoint_every=2)
    straight = run_to_completion(train_segmenter(tiny_dataset, init, tmp_path / "straight", settings))
    assert straight.finished and straight.steps == 4 and np.isfinite(straight.last_loss)
    stops = []
    stopped = run_to_completion(
        train_segmenter(tiny_dataset, init, tmp_path / "split", settings, should_stop=lambda: len(stops) >= 3),
        on_progress=stops.append,
    )
    assert not stopped.finished and stopped.steps == 3
    resumed = run_to_completion(train_segmenter(tiny_dataset, None, tmp_path / "split", resume=True))
    assert resumed.finished and resumed.steps == 4
    before, after, again = (read_checkpoint(p).model_state for p in (init, tmp_path / "straight" / LAST, tmp_path / "split" / LAST))
    for name, value in after.items():
        assert torch.equal(value, again[name]), name  # resuming continued on the same draws
        if name.startswith("decoder."):
            assert torch.equal(value, before[name]), name
    assert not torch.equal(after["depth_head.net.0.weight"], before["depth_head.net.0.weight"])
    record = read_checkpoint(tmp_path / "straight" / LAST).training_state["segmenter"]
    assert record["step"] == 4 and [entry["step"] for entry in record["history"]] == [2, 4]


def test_a_model_without_a_head_cannot_be_a_segmenter(tiny_dataset, tmp_path):
    plain = _checkpoint(tmp_path / "plain.safetensors", depth_head=False)
    with pytest.raises(CheckpointError, match="no layered-depth head"):
        run_to_completion(train_segmenter(tiny_dataset, plain, tmp_path / "run"))
    with pytest.raises(CheckpointError, match="not a segmenter"):
        load_segmenter(plain)


def test_the_reconstructor_finds_the_part_with_a_given_segmenter(tmp_path):
    segmenter = load_segmenter(_checkpoint(tmp_path / "segmenter.safetensors"))
    plain = get_model(ModelConfig(encoder="fpn", width=8, fpn_channels=16, image_size=64))
    reconstructor = Reconstructor(plain, "occupancy", torch.device("cpu"), segmenter_model=segmenter)
    assert isinstance(reconstructor.segmenter, NetworkSegmenter) and reconstructor.segmenter.models == [segmenter]
    headed = get_model(ModelConfig(encoder="fpn", width=8, fpn_channels=16, image_size=64, depth_head=True))
    both = Reconstructor(headed, "occupancy", torch.device("cpu"), segmenter_model=segmenter)
    assert both.segmenter.models == [segmenter, both.model]  # the two maps are averaged
    assert Reconstructor(headed, "occupancy", torch.device("cpu")).segmenter.models == [headed]


def test_several_networks_maps_are_averaged_in_every_pass(tmp_path, monkeypatch):
    first, second = (load_segmenter(_checkpoint(tmp_path / f"{name}.safetensors")) for name in ("a", "b"))
    levels = {id(first): 0.9, id(second): 0.3}
    seen = []

    def constant_map(self, model, rgb, x0, y0, side):
        seen.append(id(model))
        return np.full(rgb.shape[:2], levels[id(model)], np.float32)

    monkeypatch.setattr(NetworkSegmenter, "_network_square", constant_map)
    probability = NetworkSegmenter([first, second])(np.zeros((40, 60, 3), np.uint8))
    assert np.allclose(probability, 0.6) and set(seen) == set(levels)
    with pytest.raises(ValueError, match="no layered-depth head"):
        NetworkSegmenter([first, get_model(ModelConfig(encoder="fpn", width=8, fpn_channels=16, image_size=64))])


def test_train_segmenter_command_trains_ships_and_refuses_bad_input(tiny_dataset, tmp_path, capsys):
    init = _checkpoint(tmp_path / "init.safetensors")
    shipped = tmp_path / "models" / "segmenter.safetensors"
    shipped.parent.mkdir()
    code = main(["train-segmenter", "--data", str(tiny_dataset), "--init", str(init), "--out", str(tmp_path / "run"),
                 "--steps", "2", "--ship", str(shipped), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "2 steps" in out and f"shipped to {shipped}" in out
    assert load_segmenter(shipped).config.depth_head
    assert main(["train-segmenter", "--data", str(tmp_path / "nothing"), "--init", str(init), "--out", str(tmp_path / "r2")]) == 2
    assert "no manifest.json" in capsys.readouterr().err and not (tmp_path / "r2").exists()
    assert main(["train-segmenter", "--data", str(tiny_dataset), "--out", str(tmp_path / "run"), "--resume", "--steps", "3"]) == 2
    assert "drop --init/--steps" in capsys.readouterr().err
