"""The renderer honours the projection convention of ``model.projection``.

The key check is end to end: vertices of the view-frame mesh, projected with
the view's stored ``a, b`` through the network's own ``project`` /
``sample_at``, must land on the rendered silhouette, and must stop doing so
when x or y is flipped, so the test cannot pass for a wrong convention.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import trimesh

from svr_desktop.data.backgrounds import make_background
from svr_desktop.data.render import Renderer, RenderedView, render_object
from svr_desktop.geometry.frames import PADDED_HALF, normalize_mesh, random_rotation
from svr_desktop.model.projection import project, sample_at

SIZE = 128  # smaller than the default 224 to keep the file fast; the convention does not depend on it


@pytest.fixture(scope="module")
def renderer():
    with Renderer(image_size=SIZE, scale_jitter=0.05) as r:
        yield r


def _ell() -> trimesh.Trimesh:
    """An L (bottom bar + left upright) with a peg sticking out towards +z."""
    bar = trimesh.creation.box(extents=(1.0, 0.25, 0.3))
    bar.apply_translation((0.0, -0.375, 0.0))
    upright = trimesh.creation.box(extents=(0.25, 0.75, 0.3))
    upright.apply_translation((-0.375, 0.125, 0.0))
    peg = trimesh.creation.cylinder(radius=0.1, height=0.4, sections=24)
    peg.apply_translation((0.35, -0.375, 0.2))
    return _dense(trimesh.util.concatenate([bar, upright, peg]))


def _wedge() -> trimesh.Trimesh:
    """A right-triangle prism with the right angle at the bottom left (viewed along z).

    Mirroring it in x or in y keeps only about half of it on its own
    silhouette, so a flipped image axis cannot go unnoticed.
    """
    triangle = np.array([[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5]])
    corners = np.concatenate([np.c_[triangle, np.full(3, -0.2)], np.c_[triangle, np.full(3, 0.2)]])
    return _dense(trimesh.convex.convex_hull(corners))


def _dense(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Normalize and subdivide so that vertices cover the surface, not only the corners."""
    mesh, _ = normalize_mesh(mesh)
    vertices, faces = trimesh.remesh.subdivide_to_size(mesh.vertices, mesh.faces, max_edge=0.05)
    return trimesh.Trimesh(vertices, faces, process=False)


def _hit_fraction(view_mesh: trimesh.Trimesh, view: RenderedView, sx: float = 1.0, sy: float = 1.0) -> float:
    """Share of vertices whose projection reads the mask dilated by one pixel.

    ``sx``, ``sy`` = -1 mirror the points in x or y before projecting, to show
    what a wrong sign convention would score.
    """
    mask = torch.from_numpy(view.mask).float()[None, None]
    dilated = F.max_pool2d(mask, kernel_size=3, stride=1, padding=1)
    points = torch.from_numpy(np.asarray(view_mesh.vertices) * (sx, sy, 1.0)).float()[None]
    uv = project(points, torch.tensor([view.a]), torch.tensor([view.b]))
    return float(sample_at(dilated, uv, mode="nearest").mean())


def test_vertices_land_on_the_silhouette(renderer):
    rng = np.random.default_rng(7)
    cylinder = trimesh.creation.cylinder(radius=0.3, height=1.0, sections=48)
    cylinder.apply_translation((0.2, 0.0, 0.0))
    shapes = {
        "box": _dense(trimesh.creation.box(extents=(1.0, 0.6, 0.35))),
        "box+cylinder": _dense(trimesh.util.concatenate([trimesh.creation.box(extents=(0.5, 0.5, 0.5)), cylinder])),
        "ell": _ell(),
        "wedge": _wedge(),
    }
    for name, mesh in shapes.items():
        for _ in range(3):
            view_mesh, _, view = render_object(mesh, random_rotation(rng), rng, renderer)
            assert _hit_fraction(view_mesh, view) >= 0.99, name


def test_flipped_axes_miss_the_silhouette(renderer):
    rng = np.random.default_rng(3)
    mesh = _wedge()
    for rotation in (np.eye(3), trimesh.transformations.rotation_matrix(0.3, (1, 1, 0))[:3, :3]):
        view_mesh, _, view = render_object(mesh, rotation, rng, renderer)
        assert _hit_fraction(view_mesh, view) >= 0.99
        assert _hit_fraction(view_mesh, view, sy=-1.0) < 0.7  # measured ~0.5
        assert _hit_fraction(view_mesh, view, sx=-1.0) < 0.7


def _half_plane(x_edge: float, y_edge: float) -> trimesh.Trimesh:
    """A thin slab covering x < x_edge and y < y_edge across the whole visible square."""
    lo, hi = np.array([-2.0, -2.0, -0.05]), np.array([x_edge, y_edge, 0.05])
    slab = trimesh.creation.box(extents=hi - lo)
    slab.apply_translation((lo + hi) / 2.0)
    return slab


@pytest.mark.parametrize("offset", [0.4, 0.45, 0.55, 0.6])
def test_pixel_edges_lie_on_plus_minus_h(offset):
    """Measure the pixel grid with one sample per pixel (``supersample=1``).

    A pixel is drawn when its centre is covered.  With the slab's edge at
    ``k + offset`` pixel widths from the left (bottom) border of ``[-h, h]``,
    pixel ``k`` (centre at ``k + 0.5``) is covered only for ``offset > 0.5``:
    the counts pin the grid to within 0.05 pixel, i.e. VTK adds no half-pixel
    shift, pixel edges lie at ``-h + i * 2h / W`` and ``h = 1 / a``.  Rows are
    counted from the bottom, so row 0 is the top of the image (+y).
    """
    with Renderer(image_size=SIZE, scale_jitter=0.0, supersample=1) as r:
        rng = np.random.default_rng(0)
        h = PADDED_HALF
        pixel = 2.0 * h / SIZE
        for k in (0, SIZE // 2, SIZE - 1):
            edge = -h + (k + offset) * pixel
            view = r.render(_half_plane(edge, edge), rng)
            assert view.a == pytest.approx(1.0 / h) and view.b == pytest.approx(1.0 / h)
            expected = k + 1 if offset > 0.5 else k
            assert view.mask[-1].sum() == expected  # columns covered along the bottom row
            assert view.mask[:, 0].sum() == expected  # rows covered along the left column
            assert view.mask[-1, 0] == (expected > 0) and view.mask[0, -1] == (expected == SIZE)


def test_deterministic_for_a_seed(renderer):
    mesh = _ell()
    rotation = random_rotation(np.random.default_rng(1))
    first = render_object(mesh, rotation, np.random.default_rng(42), renderer)[2]
    again = render_object(mesh, rotation, np.random.default_rng(42), renderer)[2]
    other = render_object(mesh, rotation, np.random.default_rng(43), renderer)[2]
    assert first.image.tobytes() == again.image.tobytes()
    assert np.array_equal(first.mask, again.mask)
    assert first.appearance == again.appearance and first.a == again.a
    assert first.image.tobytes() != other.image.tobytes()


def test_image_mask_and_background_are_consistent(renderer):
    rng = np.random.default_rng(11)
    mesh = _dense(trimesh.creation.box(extents=(1.0, 0.7, 0.4)))
    kinds = set()
    for _ in range(12):
        _, _, view = render_object(mesh, random_rotation(rng), rng, renderer)
        assert view.image.shape == (SIZE, SIZE, 3) and view.image.dtype == np.uint8
        assert view.mask.shape == (SIZE, SIZE) and view.mask.dtype == bool
        assert 0.05 < view.mask.mean() < 0.95
        h = view.appearance["half_width"]
        assert PADDED_HALF * 0.95 <= h <= PADDED_HALF * 1.05
        assert view.a == pytest.approx(1.0 / h) and view.b == pytest.approx(1.0 / h)
        json.dumps(view.appearance)  # stored with the data set
        # Away from the anti-aliased rim, background pixels are exactly the background.
        spec = view.appearance["background"]
        kinds.add(spec["kind"])
        rim = F.max_pool2d(torch.from_numpy(view.mask).float()[None, None], 3, 1, 1)[0, 0].numpy() > 0
        background = make_background(spec, SIZE)
        assert np.array_equal(view.image[~rim], background[~rim])
        # The part differs from the background somewhere inside the silhouette.
        assert np.abs(view.image[view.mask].astype(int) - background[view.mask]).max() > 30
    assert kinds == {"plain", "gradient", "noise"}


def test_rejects_a_jitter_that_would_crop_the_part():
    with pytest.raises(ValueError):
        Renderer(scale_jitter=0.2)
