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
