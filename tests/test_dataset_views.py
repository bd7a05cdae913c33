"""Picking one view of a data-set shape: its image, a, b and ground truth in the view frame."""

import numpy as np
import pytest

from svr_desktop.data.dataset import load_split
from svr_desktop.data.dataset_views import dataset_contents, load_dataset_view


def test_contents_list_every_split_and_the_views(tiny_dataset):
    contents = dataset_contents(tiny_dataset)
    assert contents.views == 2
    assert {split: len(ids) for split, ids in contents.splits.items()} == {"train": 2, "val": 1, "test": 1}
    assert contents.splits["test"] == [record.shape_id for record in load_split(tiny_dataset, "test")]


def test_a_view_carries_its_image_camera_and_view_frame_ground_truth(tiny_dataset):
    record = load_split(tiny_dataset, "val")[0]
    view = load_dataset_view(tiny_dataset, record.shape_id, 1)
    assert np.array_equal(view.image, record.images[1]) and view.image.dtype == np.uint8
    assert (view.a, view.b) == (pytest.approx(float(record.a[1])), pytest.approx(float(record.b[1])))
    np.testing.assert_allclose(view.mesh.vertices, record.to_view(record.mesh_vertices, 1), atol=1e-5)
    # The view frame is normalized: bounding box centred, longest edge 1.
    lo, hi = view.mesh.bounds
    np.testing.assert_allclose((lo + hi) / 2, 0.0, atol=1e-4)
    assert (hi - lo).max() == pytest.approx(1.0, abs=1e-4)
    assert record.shape_id in view.name


def test_unknown_shapes_and_views_are_refused_clearly(tiny_dataset, tmp_path):
    record = load_split(tiny_dataset, "test")[0]
    with pytest.raises(ValueError, match="no shape 'nope'"):
        load_dataset_view(tiny_dataset, "nope", 0)
    with pytest.raises(ValueError, match="views 0 to 1, not 2"):
        load_dataset_view(tiny_dataset, record.shape_id, 2)
    with pytest.raises(ValueError, match="manifest.json"):
        dataset_contents(tmp_path)
