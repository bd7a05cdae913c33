"""Turned copies of the input: their angles, and that a turned image shows each point where the field reads it."""

import numpy as np
import pytest
import torch

from svr_desktop.inference.settings import ReconstructionSettings
from svr_desktop.geometry.image_turns import turn_image, turn_matrix
from svr_desktop.inference.turns import DEFAULT_TURNS, MAX_TURNS, turn_angles
from svr_desktop.model.projection import project


def test_the_image_as_given_comes_first_then_pairs_of_turns():
    assert turn_angles(1) == (0.0,)
    assert turn_angles(5) == (0.0, 8.0, -8.0, 16.0, -16.0)
    assert len(turn_angles(DEFAULT_TURNS)) == DEFAULT_TURNS


@pytest.mark.parametrize("count", [0, -1, MAX_TURNS + 1])
def test_a_count_out_of_range_is_refused_with_the_range(count):
    with pytest.raises(ValueError, match=f"turns must be from 1 to {MAX_TURNS}, got {count}"):
        turn_angles(count)
    with pytest.raises(ValueError, match="turns must be from 1"):
        ReconstructionSettings(turns=count)


def pixel_of(point: np.ndarray, a: float, b: float, side: int) -> np.ndarray:
    """(column, row) of a view-frame point in a side x side image (grid_sample's align_corners=False)."""
    uv = project(torch.tensor(point, dtype=torch.float32)[None, None], a, b)[0, 0].numpy()
    return (uv + 1) * side / 2 - 0.5


def dot_image(centre: np.ndarray, side: int) -> np.ndarray:
    """A grey image with a bright Gaussian dot at ``centre`` (column, row)."""
    rows, columns = np.mgrid[0:side, 0:side]
    dot = np.exp(-((columns - centre[0]) ** 2 + (rows - centre[1]) ** 2) / (2 * 1.5**2))
    return np.repeat((60 + 190 * dot)[..., None], 3, axis=2).astype(np.uint8)


def brightest_centroid(image: np.ndarray) -> np.ndarray:
    weight = np.clip(image[..., 0].astype(float) - 60, 0, None) ** 2
    rows, columns = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    return np.array([(weight * columns).sum(), (weight * rows).sum()]) / weight.sum()


@pytest.mark.parametrize("degrees", [8.0, -16.0, 30.0])
@pytest.mark.parametrize("a, b", [(1.8, 1.8), (1.5, 2.2)])
def test_a_turned_image_shows_each_point_where_its_field_is_read(degrees, a, b):
    side = 96
    point = np.array([0.21, -0.13, 0.3])
    turned = turn_image(dot_image(pixel_of(point, a, b, side), side), degrees)
    read_at = turn_matrix(degrees, a, b) @ point
    np.testing.assert_allclose(brightest_centroid(turned), pixel_of(read_at, a, b, side), atol=0.25)
    assert read_at[2] == point[2]  # depth is not turned


def test_the_plain_background_continues_into_the_turned_corners():
    image = np.full((64, 64, 3), (200, 180, 150), np.uint8)
    turned = turn_image(image, 16.0)
    assert turned.shape == image.shape and (turned == image).all()
    assert turn_image(image, 0.0) is image


def test_turned_maps_take_the_turned_images_geometry_and_fill_outside():
    from svr_desktop.geometry.image_turns import turn_maps

    side, degrees = 80, 21.0
    dot = dot_image(np.array([55.0, 20.0]), side)
    maps = np.stack([dot[..., 0].astype(np.float32), np.ones((side, side), np.float32)])
    turned = turn_maps(maps, degrees, fill=-1.0)
    assert turned.shape == maps.shape and turned.dtype == np.float32
    peak = np.unravel_index(np.argmax(turned[0]), turned[0].shape)[::-1]
    np.testing.assert_allclose(peak, brightest_centroid(turn_image(dot, degrees)), atol=1.0)
    assert set(np.unique(turned[0])) <= set(np.unique(maps[0])) | {-1.0}  # nearest: no blended values
    assert turned[1, 0, 0] == -1.0 and turned[1, side // 2, side // 2] == 1.0  # a corner comes from outside the frame


@pytest.mark.parametrize("a, b", [(1.8, 1.8), (1.4, 2.3)])
def test_turned_normals_stay_perpendicular_to_the_turned_surface(a, b):
    from svr_desktop.geometry.image_turns import turn_normals

    rng = np.random.default_rng(0)
    normals = rng.normal(size=(3, 4, 4))
    normals /= np.linalg.norm(normals, axis=0)
    tangents = np.cross(normals, rng.normal(size=(3, 4, 4)), axis=0)  # perpendicular to each normal
    turned = turn_normals(normals.astype(np.float32), 25.0, a, b)
    moved = np.einsum("ij,jhw->ihw", turn_matrix(25.0, a, b), tangents)
    np.testing.assert_allclose(np.einsum("ihw,ihw->hw", turned, moved), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(turned, axis=0), 1.0, atol=1e-5)
    assert not turn_normals(np.zeros((3, 2, 2), np.float32), 25.0, a, b).any()
