"""The fast image field equals the network's own query (batch norms folded, columns shared)."""

import numpy as np
import pytest
import torch

from svr_desktop.inference.field import ImageField
from svr_desktop.model import ENCODERS, ModelConfig, get_model
from svr_desktop.model.implicit import Encoded

SMALL = dict(width=8, fpn_channels=16, global_features=32, decoder_hidden=(32, 32, 16, 16), image_size=64)


def trained_statistics_model(encoder: str, **overrides) -> torch.nn.Module:
    """A small model whose batch norms hold non-trivial running statistics and affine terms."""
    torch.manual_seed(0)
    model = get_model(ModelConfig(encoder=encoder, **{**SMALL, **overrides}))
    model.train()
    with torch.no_grad():
        for _ in range(3):  # fill running statistics from real forward passes
            model(torch.rand(2, 3, 64, 64), torch.rand(2, 256, 3) - 0.5, torch.full((2,), 1.8), torch.full((2,), 1.8))
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    return model.eval()


def grid_columns(n: int = 12) -> np.ndarray:
    """Grid points in MISE's order: whole columns of equal (x, y)."""
    axis = np.linspace(-0.55, 0.55, n)
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)


@pytest.mark.parametrize("encoder", list(ENCODERS))
@pytest.mark.parametrize(
    "options",
    [{}, {"point_frequencies": 0, "input_norm": False}, {"depth_head": True}, {"depth_head": True, "depth_guided": True}],
)
def test_field_matches_model_query(encoder, options):
    if encoder == "global" and options.get("depth_head"):
        pytest.skip("the global encoder has no feature map for a depth head")
    model = trained_statistics_model(encoder, **options)
    image = torch.rand(1, 3, 64, 64)
    a, b = 1.7, 2.1
    rng = np.random.default_rng(0)
    points = np.concatenate([grid_columns(), rng.uniform(-0.55, 0.55, (500, 3))]).astype(np.float32)
    with torch.no_grad():
        features = model.encode(image)
        expected = torch.sigmoid(
            model.query(features, torch.from_numpy(points)[None], torch.tensor([a]), torch.tensor([b]))[0]
        ).numpy()
    field = ImageField(model, features, a, b, probabilities=True)
    np.testing.assert_allclose(field(points), expected, rtol=0, atol=2e-5)
    # Chunks in any order give the same values.
    order = rng.permutation(len(points))
    np.testing.assert_allclose(field(points[order]), expected[order], rtol=0, atol=2e-5)


def test_sdf_models_get_raw_values():
    model = trained_statistics_model("fpn")
    with torch.no_grad():
        features = model.encode(torch.rand(1, 3, 64, 64))
    points = grid_columns(6).astype(np.float32)
    raw = ImageField(model, features, 1.8, 1.8, probabilities=False)(points)
    probabilities = ImageField(model, features, 1.8, 1.8, probabilities=True)(points)
    np.testing.assert_allclose(probabilities, 1.0 / (1.0 + np.exp(-raw)), atol=1e-6)
    assert raw.min() < 0.0 or raw.max() > 1.0  # not squashed


def test_training_mode_is_refused():
    model = trained_statistics_model("fpn").train()
    with torch.no_grad():
        features = model.encode(torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match="eval mode"):
        ImageField(model, features, 1.8, 1.8, probabilities=True)


def turned_reference(model, image_features, layers, points, a, b, turns):
    """The turned copies written out with the network's own modules: the image's features at
    the point, the layer bounds of every copy read where it shows the point and averaged, then
    the unfolded decoder."""
    from svr_desktop.geometry.image_turns import turn_matrix
    from svr_desktop.model.layered_depth_head import guide_from_bounds, layer_bounds
    from svr_desktop.model.projection import project, sample_at

    xyz = torch.from_numpy(points)
    shown_at = torch.stack([xyz @ torch.tensor(turn_matrix(angle, a, b), dtype=torch.float32).T for angle in turns])
    bounds = layer_bounds(sample_at(layers, project(shown_at, a, b)), model.config.depth_layers)
    guide = guide_from_bounds(*(bound.mean(dim=0) for bound in bounds), xyz[:, 2])[None]
    features = model.encoder.sample(image_features, xyz[None], torch.tensor([a]), torch.tensor([b]))
    return torch.sigmoid(model.decoder(features, xyz[None], guide)[0]).numpy()


def test_turned_copies_average_the_layers_and_keep_the_images_features():
    model = trained_statistics_model("fpn", depth_head=True, depth_guided=True)
    turns = (0.0, 8.0, -8.0)
    a, b = 1.7, 2.1
    points = np.concatenate([grid_columns(), np.random.default_rng(1).uniform(-0.55, 0.55, (300, 3))]).astype(np.float32)
    with torch.no_grad():
        image, copies = model.encode(torch.rand(1, 3, 64, 64)), model.encode(torch.rand(len(turns) - 1, 3, 64, 64))
        layers = torch.cat([image.layers, copies.layers])
        expected = turned_reference(model, image.features, layers, points, a, b, turns)
    field = ImageField(model, Encoded(image.features, layers), a, b, probabilities=True, turns=turns)
    np.testing.assert_allclose(field(points), expected, rtol=0, atol=2e-5)
    alone = ImageField(model, image, a, b, probabilities=True)(points)
    assert np.abs(field(points) - alone).max() > 1e-3  # the copies count


@pytest.mark.parametrize("options", [{}, {"depth_head": True}])
def test_a_network_without_a_depth_guide_refuses_turned_copies(options):
    model = trained_statistics_model("fpn", **options)
    with torch.no_grad():
        encoded = model.encode(torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match="only a depth-guided jin2022 network"):
        ImageField(model, encoded, 1.8, 1.8, probabilities=True, turns=(0.0, 8.0))
