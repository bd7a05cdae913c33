"""Shared fixtures: a tiny data set built once per test session."""

import pytest

from svr_desktop.data.builder import BuildConfig, build_dataset
from svr_desktop.geometry.sampling import SamplingConfig
from svr_desktop.progress import run_to_completion

#: 4 generated parts x 2 views at 64 px: 2 train, 1 val, 1 test shape.
TINY_DATASET = BuildConfig(
    shapes=4,
    views=2,
    seed=11,
    image_size=64,
    depth_size=64,
    shapes_per_shard=4,
    val_points=2000,
    split_fractions=(0.5, 0.25, 0.25),
    sampling=SamplingConfig(surface_points=3000, uniform_points=100),
)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_dataset")
    run_to_completion(build_dataset(root, TINY_DATASET))
    return root


#: The paper's method (fpn + adaptive labels) sized to memorize the tiny set in ~30 s.
TINY_RUN_OVERRIDES = [
    "model.image_size=64",
    "model.width=16",
    "model.fpn_channels=32",
    "model.decoder_hidden=[128,128,64,64]",
    "data.points_per_view=1024",
    "data.batch_size=4",
    "optim.lr=2e-3",
    "optim.epochs=500",
    "log_every=50",
]


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset, tmp_path_factory):
    """A run trained to convergence on the tiny set; its checkpoints are the fixture model."""
    from svr_desktop.training.config import load_config
    from svr_desktop.training.trainer import train

    run_dir = tmp_path_factory.mktemp("tiny_run") / "run"
    summary = run_to_completion(train(tiny_dataset, run_dir, load_config("cpu-small", TINY_RUN_OVERRIDES)))
    return run_dir, summary
