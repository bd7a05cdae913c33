"""Finding the part with a segmenter (issue 14): the network's map, sharpened by GrabCut."""

import cv2
import numpy as np
import pytest
import torch

from svr_desktop.inference.preprocess import CONFIDENT_AGREEMENT, DEFAULT_FILL_FRACTION, Photo, silhouette_mask
from svr_desktop.inference.reconstructor import Reconstructor
from svr_desktop.inference.segmentation import NetworkSegmenter, part_hypotheses
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
    wrong = cv2.GaussianBlur(wrong, (0, 0), 6.0)  # soft-edged, as a network's map at its input size
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
    from svr_desktop.inference.exposure import EXPOSURE_GAMMA, exposure_lift

    values = np.arange(256, dtype=np.uint8).reshape(1, 256, 1).repeat(3, axis=2)
    lifted = exposure_lift(values).astype(int)[0, :, 0]
    assert lifted[0] == 0 and lifted[255] == 255 and np.all(np.diff(lifted) >= 0)
    assert lifted[40] > 40 + 15 and lifted[230] - 230 < 10  # dark parts gain most, light grounds stay
    assert EXPOSURE_GAMMA < 1.0
    assert np.array_equal(exposure_lift(values, 1.0), values)


def test_exposure_lift_brings_a_dim_photo_up_to_white_and_leaves_black():
    from svr_desktop.inference.exposure import DIM_LEVEL, EXPOSURE_WHITE, exposure_lift

    dim = np.zeros((10, 100, 3), dtype=np.uint8)
    dim[:, 50:] = 60  # a dark ground
    dim[:, 90:] = 100  # and the lit top of a dark part, its brightest tone
    gained = exposure_lift(dim, 1.0)
    assert gained[0, 0, 0] == 0 and abs(int(gained[0, 95, 0]) - EXPOSURE_WHITE) <= 1
    assert abs(int(gained[0, 60, 0]) - round(60 * EXPOSURE_WHITE / 100)) <= 1  # one gain for every tone
    assert np.array_equal(exposure_lift(dim, 1.0, white=None), dim)
    exposed = dim.copy()
    exposed[:, 90:] = DIM_LEVEL + 10  # brightest tones past the dim level: left to the gamma alone
    assert np.array_equal(exposure_lift(exposed, 1.0), exposed)


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


def test_part_hypotheses_are_all_regions_together_then_the_heaviest_alone():
    probability = np.zeros((100, 100), np.float32)
    assert part_hypotheses(probability) == []
    probability[60:90, 60:80] = 0.95  # 600 pixels, mass 570
    (only,) = part_hypotheses(probability)
    assert only.sum() == 600
    probability[5:35, 5:35] = 0.55  # 900 pixels, mass 495
    probability[0:3, 95:98] = 0.6  # mass 5.4: under a tenth of the heaviest, never tried alone
    probability[50, 50] = 0.4  # below 0.5: in no region
    together, heaviest, second = part_hypotheses(probability)
    assert together.sum() == 600 + 900 + 9
    assert heaviest.sum() == 600 and heaviest[60:90, 60:80].all()
    assert second.sum() == 900


def _second_pass_choice(monkeypatch, first, beliefs):
    """Run a segmenter whose first pass gives ``first`` and whose second pass, framed on a
    square of side ``side``, gives ``beliefs[round(side)]``; returns the map it keeps."""
    def framed(self, rgb, x0, y0, side):
        framed.calls += 1
        return first if framed.calls == 1 else beliefs[round(side)]

    framed.calls = 0
    monkeypatch.setattr(NetworkSegmenter, "_square", framed)
    torch.manual_seed(0)
    model = get_model(ModelConfig(encoder="fpn", depth_head=True, depth_layers=2, **SMALL)).eval()
    return NetworkSegmenter(model)(np.zeros(first.shape + (3,), np.uint8))


def _map(shape, *regions):
    probability = np.zeros(shape, np.float32)
    for (rows, cols), value in regions:
        probability[rows, cols] = value
    return probability


PART, DISTRACTOR = (slice(100, 140), slice(200, 240)), (slice(20, 80), slice(20, 80))


def test_the_second_pass_keeps_the_part_framed_alone_when_the_network_believes_it_most(monkeypatch):
    # First pass: the part (40 px) and, far from it, a larger distractor. Framed with the
    # part, the distractor is doubtful; framed alone, the part is sure and the distractor not.
    first = _map((200, 300), (PART, 1.0), (DISTRACTOR, 0.7))
    beliefs = {
        round(220 / DEFAULT_FILL_FRACTION): _map((200, 300), (PART, 0.6), (DISTRACTOR, 0.5)),
        round(60 / DEFAULT_FILL_FRACTION): _map((200, 300), (DISTRACTOR, 0.2)),
        round(40 / DEFAULT_FILL_FRACTION): _map((200, 300), (PART, 0.9)),
    }
    assert _second_pass_choice(monkeypatch, first, beliefs) is beliefs[round(40 / DEFAULT_FILL_FRACTION)]


def test_the_second_pass_keeps_all_regions_together_when_they_are_one_part(monkeypatch):
    # A part that the small first view broke in two: framed on both, the network sees all of
    # it; framed on either piece, it is less sure and the other piece lies outside the square.
    left, right = (slice(90, 150), slice(60, 120)), (slice(90, 150), slice(126, 180))
    first = _map((240, 240), (left, 0.9), (right, 0.8))
    beliefs = {
        round(120 / DEFAULT_FILL_FRACTION): _map((240, 240), (left, 0.95), (right, 0.95)),
        round(60 / DEFAULT_FILL_FRACTION): _map((240, 240), (left, 0.7)),
        round(54 / DEFAULT_FILL_FRACTION): _map((240, 240), (right, 0.7)),
    }
    assert _second_pass_choice(monkeypatch, first, beliefs) is beliefs[round(120 / DEFAULT_FILL_FRACTION)]


def _disc_on(ground: np.ndarray, colour=(200, 40, 30)) -> tuple[np.ndarray, np.ndarray]:
    """A disc (radius 60, red unless told) drawn on ``ground`` (240 x 320 RGB), and its true mask."""
    ys, xs = np.mgrid[0:240, 0:320]
    disc = (xs - 150) ** 2 + (ys - 110) ** 2 < 60**2
    rgb = ground.copy()
    rgb[disc] = colour
    return rgb, disc


def _plain_ground() -> np.ndarray:
    return np.clip(np.random.default_rng(0).normal(150, 4, (240, 320, 3)), 0, 255).astype(np.uint8)


def _map_short_of_the_disc(image: np.ndarray) -> np.ndarray:
    """A map that misses the disc's rim by 6 px (5 % of its size), as it misses shiny edges."""
    ys, xs = np.mgrid[0:240, 0:320]
    short = ((xs - 150) ** 2 + (ys - 110) ** 2 < 54**2).astype(np.float32)
    return cv2.GaussianBlur(short, (0, 0), 1.0)


def _cutting_mat() -> np.ndarray:
    """A dark mat with a light grid every 16 px: a busy ground."""
    ground = _plain_ground() // 3
    ground[::16], ground[:, ::16] = 200, 200
    return ground


def test_on_a_busy_ground_grabcut_does_not_add_what_the_map_is_sure_is_ground(monkeypatch):
    """A block of the part's colour touching it on a mat, which the map rules out, stays out of the mask."""
    import svr_desktop.inference.preprocess as preprocess

    rgb, truth = _disc_on(_cutting_mat())
    ys, xs = np.mgrid[0:240, 0:320]
    rgb[(xs >= 200) & (xs < 222) & (ys >= 90) & (ys < 130)] = (200, 40, 30)
    block = (xs >= 216) & (xs < 222) & (ys >= 90) & (ys < 130)  # its part 5-10 % of the disc's size beyond the edge
    segmenter = lambda image: cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 2.0)  # noqa: E731
    found = silhouette_mask(Photo.from_array(rgb), segmenter=segmenter)
    assert found.mask[block].mean() < 0.05 and _iou(found.mask, truth) > 0.97
    monkeypatch.setattr(preprocess, "SURE_GROUND_BELOW", 0.0)  # GrabCut alone: colour decides the band
    assert silhouette_mask(Photo.from_array(rgb), segmenter=segmenter).mask[block].mean() > 0.5


def test_on_a_plain_ground_grabcut_recovers_an_edge_that_the_map_misses():
    """Shiny edges the map misses by 5 % of the part's size come back where the ground is one colour ..."""
    rgb, truth = _disc_on(_plain_ground())
    found = silhouette_mask(Photo.from_array(rgb), segmenter=_map_short_of_the_disc)
    assert found.method == "network" and _iou(found.mask, truth) > 0.97


def test_on_a_busy_ground_the_map_bounds_the_mask():
    """... and stay cut where the ground is busy: there colour is not trusted beyond the map's sure ground."""
    rgb, truth = _disc_on(_cutting_mat())
    found = silhouette_mask(Photo.from_array(rgb), segmenter=_map_short_of_the_disc)
    assert _iou(found.mask, truth) < 0.9


def _map_leaking_beside(truth: np.ndarray, leak: np.ndarray, leak_probability: float) -> np.ndarray:
    """A map sure of the part that also gives ``leak`` (touching it) ``leak_probability``."""
    probability = np.maximum(truth.astype(np.float32), leak * np.float32(leak_probability))
    return cv2.GaussianBlur(probability, (0, 0), 1.0)


def _patch_right_of_the_disc() -> np.ndarray:
    """40 x 40 px of ground touching the disc of :func:`_disc_on` on its right."""
    ys, xs = np.mgrid[0:240, 0:320]
    return (xs >= 205) & (xs < 245) & (ys >= 90) & (ys < 130)


def test_on_a_busy_ground_colour_takes_back_ground_that_the_map_only_thinks_likely(monkeypatch):
    """A patch of mat the map leaks into at 0.9 is not made sure part: GrabCut gives it back to the mat."""
    import svr_desktop.inference.preprocess as preprocess

    # The red part's shadow rule would drop the patch too (it has the mat's colour): out of the way here.
    monkeypatch.setattr(preprocess, "drop_cast_shadow", lambda rgb, mask: mask)
    rgb, truth = _disc_on(_cutting_mat())
    leak = _patch_right_of_the_disc() & ~truth
    segmenter = lambda image: _map_leaking_beside(truth, leak, 0.9)  # noqa: E731
    found = silhouette_mask(Photo.from_array(rgb), segmenter=segmenter)
    assert found.mask[leak].mean() < 0.05 and _iou(found.mask, truth) > 0.97
    monkeypatch.setattr(preprocess, "BUSY_SURE_PART", 0.5)  # everything well inside the map is sure part
    assert silhouette_mask(Photo.from_array(rgb), segmenter=segmenter).mask[leak].mean() > 0.5


def test_on_a_plain_ground_a_face_the_map_thinks_likely_stays_though_it_has_the_grounds_colour():
    """... while on a plain ground most of a face of the ground's colour (a shaded side) that the map gives
    0.9 is kept: its core stays sure part, only its rim is decided by colour (left all to colour, about 5 %
    of it would stay)."""
    ground = _plain_ground()
    rgb, truth = _disc_on(ground, (110, 110, 112))  # a grey part: a red one's grey face would go as ground
    face = _patch_right_of_the_disc()
    rgb[face] = ground[face]
    part = truth | face
    found = silhouette_mask(Photo.from_array(rgb), segmenter=lambda image: _map_leaking_beside(truth, face, 0.9))
    assert found.mask[face].mean() > 0.5 and _iou(found.mask, part) > 0.95


def test_in_a_dim_photo_a_shadow_of_the_parts_colour_stays_out_where_the_map_rules_it_out(monkeypatch):
    """A dark disc on a dark ground casts a shadow as dark as itself; the map gives the shadow 0. In a dim photo
    the map's sure ground bounds the mask, so the shadow stays out; left to colour, GrabCut takes it in."""
    import svr_desktop.inference.preprocess as preprocess

    ground = np.clip(np.random.default_rng(0).normal(60, 4, (240, 320, 3)), 0, 255).astype(np.uint8)
    rgb, truth = _disc_on(ground, (30, 30, 32))
    ys, xs = np.mgrid[0:240, 0:320]
    shadow = ((xs - 162) ** 2 + (ys - 110) ** 2 < 60**2) & ~truth  # a crescent up to 12 px wide on the right
    rgb[shadow] = (30, 30, 32)
    beyond = cv2.distanceTransform((~truth).astype(np.uint8), cv2.DIST_L2, 3)
    band = shadow & (beyond > 5)  # past the 3 % rim that colour always decides
    segmenter = lambda image: cv2.GaussianBlur(truth.astype(np.float32), (0, 0), 1.0)  # noqa: E731
    found = silhouette_mask(Photo.from_array(rgb), segmenter=segmenter)
    assert found.mask[band].mean() < 0.05 and _iou(found.mask, truth) > 0.93
    monkeypatch.setattr(preprocess, "SURE_GROUND_BELOW", 0.0)  # colour alone decides the band
    assert silhouette_mask(Photo.from_array(rgb), segmenter=segmenter).mask[band].mean() > 0.5
