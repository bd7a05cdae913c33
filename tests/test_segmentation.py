"""Finding the part with a segmenter (issue 14): the network's map, sharpened by GrabCut."""

import cv2
import numpy as np
import pytest
import torch

from svr_desktop.inference.preprocess import CONFIDENT_AGREEMENT, Photo, silhouette_mask
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.inference.segmentation import NetworkSegmenter
from svr_desktop.inference.settings import ReconstructionSettings
from svr_desktop.model import ModelConfig, get_model
from svr_desktop.progress import run_to_completion

SMALL = dict(width=8, fpn_channels=16, global_features=32, decoder_hidden=(32, 32, 16, 16), image_size=64)


def _photo(size=(240, 320)) -> tuple[Photo, np.ndarray]:
    """A red disc on a grey, noisy bench with a darker 'shadow' beside it, and its true mask."""
    rng = np.random.default_rng(0)
    height, width = size
    rgb = np.clip(rng.normal(150, 12, (height, width, 3)), 0, 255)
    ys, xs = np.mgrid[0:height, 0:width]
    rgb[(xs - 200) ** 2 / 60**2 + (ys - 150) ** 2 / 30**2 < 1] *= 0.55  # the shadow
    disc = (xs - 150) ** 2 + (ys - 110) ** 2 < 60**2
    rgb[disc] = (200, 40, 30)
    return Photo.from_array(rgb.astype(np.uint8)), disc


def _soft_map(mask: np.ndarray, shift: int = 4) -> np.ndarray:
    """What a network at a low resolution gives: the mask blurred and a few pixels off."""
    moved = np.roll(mask, shift, axis=1).astype(np.float32)
    return cv2.GaussianBlur(moved, (0, 0), 6.0)


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_the_segmenters_map_is_sharpened_to_the_part():
    photo, truth = _photo()
    coarse = _soft_map(truth) >= 0.5
    found = silhouette_mask(photo, segmenter=lambda rgb: _soft_map(truth))
    assert found.method == "network"
    assert _iou(found.mask, truth) > 0.97 > _iou(coarse, truth)  # GrabCut moved the edges onto the disc
    assert found.confidence > CONFIDENT_AGREEMENT and not any("uncertain" in note for note in found.notes)


def test_a_map_that_disagrees_with_the_picture_is_flagged():
    photo, truth = _photo()
    wrong = np.zeros(truth.shape, np.float32)
    wrong[60:200, 30:150] = 1.0  # half the disc, half the bench
    found = silhouette_mask(photo, segmenter=lambda rgb: wrong)
    assert found.method == "network" and found.confidence < CONFIDENT_AGREEMENT
    assert any("uncertain" in note and "rectangle" in note for note in found.notes)


def test_the_users_rectangle_wins_and_an_empty_map_falls_back_to_grabcut():
    photo, truth = _photo()
    calls = []

    def segmenter(rgb):
        calls.append(1)
        return _soft_map(truth)

    boxed = silhouette_mask(photo, rect=(80, 40, 140, 140), segmenter=segmenter)
    assert boxed.method == "grabcut" and not calls  # a drawn rectangle is never overridden
    assert silhouette_mask(photo, segmenter=lambda rgb: np.zeros(truth.shape, np.float32)).method == "grabcut"
    assert silhouette_mask(photo, background="grabcut", segmenter=segmenter).method == "grabcut"


def test_network_segmenter_maps_the_whole_photo():
    torch.manual_seed(0)
    model = get_model(ModelConfig(encoder="fpn", depth_head=True, depth_layers=2, **SMALL)).eval()
    photo, _ = _photo((90, 150))
    probability = NetworkSegmenter(model)(photo.rgb)
    assert probability.shape == (90, 150) and probability.dtype == np.float32
    assert 0.0 <= probability.min() and probability.max() <= 1.0
    with pytest.raises(ValueError, match="no layered-depth head"):
        NetworkSegmenter(get_model(ModelConfig(encoder="fpn", **SMALL)))


def test_reconstructor_uses_its_models_segmenter_for_auto_backgrounds(monkeypatch):
    torch.manual_seed(0)
    model = get_model(ModelConfig(encoder="fpn", depth_head=True, depth_layers=2, **SMALL))
    reconstructor = Reconstructor(model, "occupancy", torch.device("cpu"))
    assert isinstance(reconstructor.segmenter, NetworkSegmenter)
    photo, truth = _photo()
    monkeypatch.setattr(NetworkSegmenter, "__call__", lambda self, rgb: _soft_map(truth))
    _, _, prepared = run_to_completion(reconstructor.reconstruct_photo(photo, settings=ReconstructionSettings(resolution=32)))
    assert prepared.background_method == "network" and prepared.mask_confidence > 0.9
    assert _iou(prepared.photo_mask, truth) > 0.97
    plain = Reconstructor(get_model(ModelConfig(encoder="fpn", **SMALL)), "occupancy", torch.device("cpu"))
    assert plain.segmenter is None  # no head: GrabCut as before


def test_exposure_lift_brightens_dark_tones_and_keeps_black_and_white():
    from svr_desktop.inference.segmentation import EXPOSURE_GAMMA, exposure_lift

    values = np.arange(256, dtype=np.uint8).reshape(1, 256, 1).repeat(3, axis=2)
    lifted = exposure_lift(values).astype(int)[0, :, 0]
    assert lifted[0] == 0 and lifted[255] == 255 and np.all(np.diff(lifted) >= 0)
    assert lifted[40] > 40 + 15 and lifted[230] - 230 < 10  # dark parts gain most, light grounds stay
    assert EXPOSURE_GAMMA < 1.0
    assert np.array_equal(exposure_lift(values, 1.0), values)


def test_network_segmenter_averages_the_photo_and_its_mirror_image():
    torch.manual_seed(0)
    model = get_model(ModelConfig(encoder="fpn", depth_head=True, depth_layers=2, **SMALL)).eval()
    photo, _ = _photo((96, 96))
    segmenter = NetworkSegmenter(model)
    assert segmenter.mirror and segmenter.gamma < 1.0
    plain = segmenter(photo.rgb)
    mirrored = segmenter(np.ascontiguousarray(photo.rgb[:, ::-1]))
    # mirror-equivariant by construction, up to the half-pixel resampling of the crops
    assert np.abs(mirrored[:, ::-1] - plain).max() < 0.02
    single = NetworkSegmenter(model, gamma=1.0, mirror=False)(photo.rgb)
    assert single.shape == plain.shape and not np.allclose(single, plain)
