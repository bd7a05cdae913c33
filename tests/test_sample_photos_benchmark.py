"""benchmarks/sample_photos.py: its sample table resolves to the shipped photos and their true parts."""

import numpy as np
import pytest

from helpers import DEV_MESHES, load_script


def test_every_sample_photo_has_its_true_part_in_the_photo_frame():
    if not DEV_MESHES.is_dir():
        pytest.skip(f"{DEV_MESHES} (the development meshes) is not on this machine")
    script = load_script("benchmarks/sample_photos.py")
    table = script.sample_table()
    assert len(table) == 8
    for photo, sample in table:
        assert photo.is_file() and photo.stem == sample.name
        truth = script.true_view_mesh(sample, DEV_MESHES)
        assert truth.is_watertight and truth.volume > 0
        extent = truth.bounds[1] - truth.bounds[0]
        np.testing.assert_allclose(truth.bounds.sum(axis=0), 0.0, atol=1e-9)  # centred
        assert extent.max() == pytest.approx(1.0)
        # The photo path's auto a, b assume the longest edge lies in the image plane.
        assert max(extent[0], extent[1]) == pytest.approx(1.0)
