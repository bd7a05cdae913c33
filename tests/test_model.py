"""The network: shapes, training, the a/b projection, FPN, decoder, BN eval."""

import json
import math
from dataclasses import asdict

import pytest
import torch
from torch import nn

from svr_desktop.model import ENCODERS, ModelConfig, count_parameters, get_model
from svr_desktop.model.resnet import STRIDES, ResNet18
from svr_desktop.model.decoder import PointEncoding

SMALL = dict(width=8, fpn_channels=16, global_features=32, decoder_hidden=(32, 32, 16, 16), image_size=64)
A = B = 1 / 0.55  # renderer's orthographic scale (DESIGN.md 2)


def small_model(encoder: str, seed: int = 0):
    torch.manual_seed(seed)
    return get_model(ModelConfig(encoder=encoder, **SMALL))


def batch(size: int = 2, points: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(size, 3, 64, 64, generator=g)
    xyz = torch.rand(size, points, 3, generator=g) - 0.5
    return images, xyz, torch.full((size,), A), torch.full((size,), B)


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_output_shapes(encoder):
    model = small_model(encoder)
    images, xyz, a, b = batch()
    z = model.encoder.sample(model.encode(images).features, xyz, a, b)
    assert z.shape == (2, 64, model.encoder.out_channels)
    assert model(images, xyz, a, b).shape == (2, 64)
    expected = {"global": 32, "multilevel": 15 * 8, "fpn": 4 * 16, "fpn_global": 4 * 16 + 32}[encoder]
    assert model.encoder.out_channels == expected


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_one_training_step(encoder):
    model = small_model(encoder).train()
    images, xyz, a, b = batch(points=256)
    target = (xyz.norm(dim=-1) < 0.3).float()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        loss = nn.functional.binary_cross_entropy_with_logits(model(images, xyz, a, b), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]
    assert all(torch.isfinite(p).all() for p in model.parameters())
    changed = [not torch.equal(p0, p) for p0, p in zip(before, model.parameters())]
    assert all(changed), "every parameter takes part in the loss (no unused ones for DDP)"


@pytest.mark.parametrize("encoder", ["multilevel", "fpn", "fpn_global"])
def test_local_features_follow_a_and_b(encoder):
    model = small_model(encoder).eval()
    images, xyz, a, b = batch()
    with torch.no_grad():
        features = model.encode(images).features
        z = model.encoder.sample(features, xyz, a, b)
        # Same projected position a * p_x (resp. b * p_y) -> identical features.
        halved_x = xyz * torch.tensor([0.5, 1.0, 1.0])
        torch.testing.assert_close(model.encoder.sample(features, halved_x, 2 * a, b), z, rtol=0, atol=0)
        halved_y = xyz * torch.tensor([1.0, 0.5, 1.0])
        torch.testing.assert_close(model.encoder.sample(features, halved_y, a, 2 * b), z, rtol=0, atol=0)
        # Only a (or only b) changed -> the point samples elsewhere.
        assert not torch.allclose(model.encoder.sample(features, xyz, 0.7 * a, b), z)
        assert not torch.allclose(model.encoder.sample(features, xyz, a, 0.7 * b), z)
        # Depth is not projected: moving along z keeps the features.
        deeper = xyz + torch.tensor([0.0, 0.0, 0.1])
        torch.testing.assert_close(model.encoder.sample(features, deeper, a, b), z, rtol=0, atol=0)


def test_global_features_ignore_a_and_b():
    # Fig. 3a has one vector per image: a and b are accepted but unused.
    model = small_model("global").eval()
    images, xyz, a, b = batch()
    with torch.no_grad():
        features = model.encode(images).features
        z = model.encoder.sample(features, xyz, a, b)
        torch.testing.assert_close(model.encoder.sample(features, xyz, 0.3 * a, 5 * b), z)
        assert torch.equal(z[:, 0], z[:, -1])


def test_fpn_structure_and_strides():
    model = small_model("fpn")
    encoder = model.encoder
    for conv, channels in zip(encoder.lateral, (8, 16, 32, 64)):
        assert conv.kernel_size == (1, 1) and conv.in_channels == channels and conv.out_channels == 16
    for conv in encoder.smooth:
        assert conv.kernel_size == (3, 3) and conv.padding == (1, 1) and conv.out_channels == 16
    images = torch.rand(1, 3, 64, 64)
    pyramid = encoder.encode(images)
    assert [p.shape[-1] for p in pyramid] == [64 // s for s in STRIDES]
    assert all(p.shape[:2] == (1, 16) for p in pyramid)
    # Top-down pathway: the finest level P2 depends on the coarsest lateral (C5).
    pyramid[0].sum().backward()
    assert encoder.lateral[-1].weight.grad.abs().sum() > 0


def test_backbone_levels_and_resnet18_size():
    levels = ResNet18(8)(torch.rand(1, 3, 64, 64))
    assert [c.shape[1:] for c in levels] == [(8 * m, 64 // s, 64 // s) for m, s in zip((1, 2, 4, 8), STRIDES)]
    # width 64 is torchvision's resnet18 without its fc layer: 11,176,512 parameters.
    assert count_parameters(ResNet18(64)) == 11_176_512


def test_decoder_is_five_linear_layers_with_bn_after_leaky_relu():
    layers = list(small_model("fpn").decoder.layers)
    assert sum(isinstance(m, nn.Linear) for m in layers) == 5
    for i in range(4):
        linear, act, norm = layers[3 * i : 3 * i + 3]
        assert isinstance(linear, nn.Linear)
        assert isinstance(act, nn.LeakyReLU) and act.negative_slope == 0.2
        assert isinstance(norm, nn.BatchNorm1d)
    assert isinstance(layers[-1], nn.Linear) and layers[-1].out_features == 1
    assert len(layers) == 13
    # z and the point's xyz with 6 Fourier frequencies (sin and cos per axis)
    assert layers[0].in_features == 4 * 16 + 3 * (1 + 2 * 6)


def test_point_encoding_and_input_norm_options():
    plain = get_model(ModelConfig(width=8, fpn_channels=16, image_size=64, point_frequencies=0, input_norm=False))
    assert plain.decoder.layers[0].in_features == 4 * 16 + 3  # the paper's raw xyz
    assert isinstance(plain.decoder.input_norm, nn.Identity)
    encoded = PointEncoding(2)(torch.tensor([[[0.25, -0.5, 0.0]]]))
    expected_sin = torch.sin(torch.tensor([0.25, 0.5, -0.5, -1.0, 0.0, 0.0]) * math.pi)
    torch.testing.assert_close(encoded[0, 0, :3], torch.tensor([0.25, -0.5, 0.0]))
    torch.testing.assert_close(encoded[0, 0, 3:9], expected_sin)
    with pytest.raises(ValueError, match="point_frequencies"):
        ModelConfig(point_frequencies=-1)


def test_config_validation_and_json_round_trip():
    with pytest.raises(ValueError, match="global, multilevel, fpn"):
        get_model(ModelConfig(encoder="pointnet"))
    for bad in (dict(width=0), dict(decoder_hidden=(64, 64, 64)), dict(leaky_slope=1.5), dict(image_size=100)):
        with pytest.raises(ValueError):
            ModelConfig(**bad)
    config = ModelConfig(encoder="multilevel", width=16, decoder_hidden=[64, 64, 32, 32])
    assert ModelConfig(**json.loads(json.dumps(asdict(config)))) == config
    assert get_model(config).config == config


def test_images_in_unit_range_give_finite_outputs_and_wrong_size_is_rejected():
    model = small_model("fpn").eval()
    images, xyz, a, b = batch()
    assert model.encoder.backbone.mean.shape == (1, 3, 1, 1)
    with torch.no_grad():
        assert torch.isfinite(model(images, xyz, a, b)).all()
        assert torch.isfinite(model(torch.ones_like(images), xyz, a, b)).all()
    with pytest.raises(ValueError, match="64, 64"):
        model.encode(torch.rand(1, 3, 32, 32))


@pytest.mark.parametrize("encoder", list(ENCODERS))
def test_chunked_eval_query_equals_one_query(encoder):
    model = small_model(encoder)
    images, xyz, a, b = batch()
    model.train()
    with torch.no_grad():
        model(images, xyz, a, b)  # non-trivial running statistics
    model.eval()
    g = torch.Generator().manual_seed(1)
    grid = torch.rand(1, 50_000, 3, generator=g) * 1.1 - 0.55
    with torch.no_grad():
        features = model.encode(images[:1])
        whole = model.query(features, grid, A, B)
        chunks = torch.cat([model.query(features, c, A, B) for c in grid.split(8192, dim=1)], dim=1)
    assert whole.shape == (1, 50_000)
    torch.testing.assert_close(chunks, whole, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------ depth-guided variant


def depth_model(guided: bool = True, layers: int = 2):
    torch.manual_seed(0)
    return get_model(ModelConfig(encoder="fpn", depth_head=True, depth_guided=guided, depth_layers=layers, **SMALL))


def test_depth_head_predicts_ordered_layers_at_stride_4():
    from svr_desktop.model.layered_depth_head import decode_layers

    model = depth_model(layers=3)
    images, xyz, a, b = batch()
    output, raw = model(images, xyz, a, b, with_layers=True)
    assert output.shape == (2, 64) and raw.shape == (2, 3 * 3 + 3, 16, 16)
    layers = decode_layers(raw * 5, 3)  # large raw values: ordering must hold anyway
    boundaries = torch.stack([layers.entry[:, 0], layers.exit[:, 0], layers.entry[:, 1], layers.exit[:, 1], layers.entry[:, 2], layers.exit[:, 2]])
    assert torch.all(boundaries[1:] <= boundaries[:-1])
    torch.testing.assert_close(layers.normal.norm(dim=1), torch.ones(2, 16, 16))
    # Without the head the network returns no layers, and the paper's network is unchanged.
    plain = small_model("fpn")
    assert plain(images, xyz, a, b, with_layers=True)[1] is None
    assert plain.parameter_count()["depth_head"] == 0


def test_guided_decoder_reads_the_layers_relative_to_depth():
    """Moving a point along the ray changes the guided decoder's input but not the paper's features."""
    model = depth_model().eval()
    images, xyz, a, b = batch()
    with torch.no_grad():
        encoded = model.encode(images)
        deeper = xyz + torch.tensor([0.0, 0.0, 0.1])
        assert torch.equal(model.encoder.sample(encoded.features, xyz, a, b), model.encoder.sample(encoded.features, deeper, a, b))
        assert model.decoder.guide_channels == 8
        # Changing only the predicted layers changes the output of the guided decoder.
        shifted = encoded._replace(layers=encoded.layers + torch.tensor([0.3] + [0.0] * 8)[None, :, None, None])
        assert not torch.allclose(model.query(encoded, xyz, a, b), model.query(shifted, xyz, a, b))
    unguided = depth_model(guided=False).eval()
    with torch.no_grad():
        encoded = unguided.encode(images)
        shifted = encoded._replace(layers=encoded.layers + 0.3)
        assert torch.equal(unguided.query(encoded, xyz, a, b), unguided.query(shifted, xyz, a, b))


@pytest.mark.parametrize("guided", [False, True])
def test_depth_variants_take_a_training_step_with_every_parameter(guided):
    from svr_desktop.training.losses import layered_depth_loss

    model = depth_model(guided).train()
    images, xyz, a, b = batch(points=128)
    target = (xyz.norm(dim=-1) < 0.3).float()
    count = torch.randint(0, 3, (2, 64, 64))
    entry = torch.rand(2, 2, 64, 64) * 0.3
    exit_, normal = entry - 0.1, nn.functional.normalize(torch.randn(2, 3, 64, 64), dim=1)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    losses = []
    for _ in range(6):
        output, raw = model(images, xyz, a, b, with_layers=True)
        depth, parts = layered_depth_loss(raw, entry, exit_, count, normal, 10.0, 1.0, 0.5)
        loss = nn.functional.binary_cross_entropy_with_logits(output, target) + depth
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert set(parts) == {"depth_l1", "layer_bce", "normal_cos"}
    assert losses[-1] < losses[0]
    assert all(not torch.equal(p0, p) for p0, p in zip(before, model.parameters()))


def test_depth_options_are_validated():
    with pytest.raises(ValueError, match="depth_guided needs depth_head"):
        ModelConfig(depth_guided=True)
    with pytest.raises(ValueError, match="local encoder"):
        ModelConfig(encoder="global", depth_head=True)
    with pytest.raises(ValueError, match="depth_layers"):
        ModelConfig(depth_head=True, depth_layers=0)


def test_point_encoding_stays_float32_under_bfloat16_autocast():
    model = small_model("global").eval()
    images, xyz, a, b = batch()
    with torch.no_grad():
        reference = model(images, xyz, a, b)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            z = model.encoder.sample(model.encode(images).features, xyz, a, b)
            encoded = model.decoder.point_encoding(xyz.float())
            assert z.dtype == torch.bfloat16 and encoded.dtype == torch.float32
            mixed = model(images, xyz, a, b).float()
    assert (mixed - reference).abs().max() < 0.1
