"""benchmarks/depth_guide_oracle.py: the true layers it feeds the decoder, and its reading of the model."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
import trimesh

from helpers import load_script
from svr_desktop.geometry.layered_depth import layered_depth
from svr_desktop.model.methods import get_model
from svr_desktop.training.config import load_config

HALF_WIDTH = 0.55
BOX = (1.0, 0.6, 0.4)  # x, y, z extents: seen face-on, one layer from z = 0.2 to -0.2


@pytest.fixture(scope="module")
def script():
    return load_script("benchmarks/depth_guide_oracle.py")


def test_true_bounds_are_the_box_faces_inside_its_outline_and_absent_outside(script):
    depth = layered_depth(trimesh.creation.box(extents=BOX), 64, HALF_WIDTH, layers=2)
    points = np.array([[0.1, 0.1, 0.0], [-0.4, -0.2, 0.3], [0.0, 0.45, 0.0], [0.6, 0.0, 0.0]])
    entry, exit_, exists = (tensor[0].numpy() for tensor in script.true_bounds_at(depth, points, HALF_WIDTH))
    np.testing.assert_allclose(entry[:2, 0], 0.2, atol=1e-5)
    np.testing.assert_allclose(exit_[:2, 0], -0.2, atol=1e-5)
    np.testing.assert_array_equal(exists[:2], [[1, 0], [1, 0]])  # one layer inside the outline
    np.testing.assert_array_equal(exists[2:], 0)  # beside the box (y = 0.45 > 0.3) and outside the image


def test_the_decoder_reading_is_the_models_own_field(script):
    config = load_config(
        "cpu-depth", ["model.image_size=64", "model.width=8", "model.fpn_channels=16", "model.decoder_hidden=[32,32,16,16]"]
    ).model
    torch.manual_seed(0)
    model = get_model(config).eval()
    box = trimesh.creation.box(extents=BOX)
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    view = SimpleNamespace(a=1 / HALF_WIDTH, b=1 / HALF_WIDTH, image=image, ground_truth=box)
    points = np.random.default_rng(1).uniform(-0.55, 0.55, (4000, 3))
    with torch.no_grad():
        encoded = model.encode(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255)
        field = torch.sigmoid(model.query(encoded, torch.from_numpy(points).float()[None], view.a, view.b))[0].numpy()
    level = float(np.median(field))  # an untrained field is near 0.5 everywhere: split it in half
    row = script.score_view(model, view, level, points)
    assert row["decoder"] == pytest.approx(script.iou(field > level, box.contains(points)), abs=1e-3)
    assert row["true_layers"] > 0.97  # a box seen face-on is one layer per pixel
    assert set(script.READINGS) <= set(row) and all(0.0 <= row[name] <= 1.0 for name in script.READINGS)
    assert row["entry_error"] > 0 and row["exit_error"] > 0  # an untrained head is off
