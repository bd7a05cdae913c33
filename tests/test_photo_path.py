"""benchmarks/photo_path.py: its scoring helpers on a small render of the project's own renderer."""

import numpy as np
import pytest
import trimesh

from helpers import load_script
from svr_desktop.data.render import Renderer
from svr_desktop.geometry.frames import normalize_mesh
from svr_desktop.inference.preprocess import Photo, auto_ab, prepare_photo


def test_mask_iou():
    script = load_script("benchmarks/photo_path.py")
    a = np.zeros((4, 4), dtype=bool)
    b = a.copy()
    assert script.mask_iou(a, b) == 1.0
    a[:2], b[1:3] = True, True
    assert script.mask_iou(a, b) == pytest.approx(1 / 3)


def test_set_folder_accepts_the_folder_or_its_scenes_file_and_refuses_others(tmp_path):
    script = load_script("benchmarks/photo_path.py")
    (tmp_path / "scenes.json").write_text("{}")
    assert script.set_folder(tmp_path) == tmp_path
    assert script.set_folder(tmp_path / "scenes.json") == tmp_path
    with pytest.raises(ValueError, match="no benchmark set at .*scenes.json"):
        script.set_folder(tmp_path / "missing")


def test_own_render_draws_the_half_width_and_true_a_matches_the_framing():
    """A box whose longest edge lies in the image plane: drawn at half-width h it spans
    1 / (2 h) of the image, and the ``a`` exact for the framed input is auto_ab's."""
    script = load_script("benchmarks/photo_path.py")
    box, _ = normalize_mesh(trimesh.creation.box(extents=(1.0, 0.6, 0.3)))
    size, h = 128, 0.6
    with Renderer(image_size=size, scale_jitter=0.0) as renderer:
        view = script.own_render(renderer, box, h, np.random.default_rng(0))
    columns, rows = np.flatnonzero(view.mask.any(axis=0)), np.flatnonzero(view.mask.any(axis=1))
    assert len(columns) == pytest.approx(size / (2 * h), abs=1.5)
    assert len(rows) == pytest.approx(0.6 * size / (2 * h), abs=1.5)

    prepared = prepare_photo(Photo.from_array(view.image), image_size=64, background=view.mask)
    assert script.true_input_a(h, prepared) == pytest.approx(auto_ab(prepared)[0], rel=0.02)


def test_summary_means_and_gap():
    script = load_script("benchmarks/photo_path.py")
    row = {"ground": "plain", "renderers_agree": 0.99,
           "photo": {"mask_iou": 0.8, "iou": 0.2, "cd_l1": 0.05, "a_auto": 1.8, "a_true": 1.8},
           "own": {"mask_iou": 0.95, "iou": 0.3, "cd_l1": None, "a_auto": 1.8, "a_true": 2.0}}
    summary = script.summarize([row, row], resolution=64)
    assert summary["n"] == 2 and summary["masks_below_0_85"] == 2 and summary["mask_iou_by_ground"] == {"plain": 0.8}
    assert summary["mean_iou_photo"] == 0.2 and summary["gap"] == pytest.approx(0.1)
    assert summary["mean_cd_l1_own_render"] is None and summary["ab_mismatches"] == 0


def test_mask_only_summary_counts_floor_empty_and_flags():
    script = load_script("benchmarks/photo_path.py")
    rows = [
        {"ground": "plain", "mask_iou": 0.97, "mask_confidence": 0.95},
        {"ground": "workbench", "mask_iou": 0.80, "mask_confidence": 0.5},  # bad and flagged
        {"ground": "dark", "mask_iou": 0.0, "mask_confidence": None},  # empty, not flagged
        {"ground": "plain", "mask_iou": 0.90, "mask_confidence": 0.6},  # good but flagged
    ]
    summary = script.summarize_masks(rows)
    assert summary["n"] == 4 and summary["masks_below_0_85"] == 2 and summary["empty_masks"] == 1
    assert summary["flagged_bad"] == 1 and summary["flagged_good"] == 1
    assert summary["mean_mask_iou"] == pytest.approx(0.6675)
    assert summary["mask_iou_by_ground"] == {"dark": 0.0, "plain": 0.935, "workbench": 0.8}
