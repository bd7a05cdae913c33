"""Layered depth: exact crossings, the projection convention, and the stored layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from svr_desktop.data.builder import BuildConfig, build_dataset
from svr_desktop.data.dataset import ViewDataset, load_manifest
from svr_desktop.data.render import Renderer, render_object
from svr_desktop.data.shards import read_shard
from svr_desktop.geometry.frames import normalize_mesh, random_rotation
from svr_desktop.geometry.layered_depth import layered_depth, occupancy_from_layers, pixel_centres
from svr_desktop.geometry.queries import MeshQuery
from svr_desktop.geometry.sampling import SamplingConfig, sample_uniform
from svr_desktop.model.projection import project, sample_at
from svr_desktop.progress import run_to_completion


def _tube() -> trimesh.Trimesh:
    """A pipe along x: seen from +z each ray through the wall crosses it twice (two layers)."""
    outer = trimesh.creation.cylinder(radius=0.3, height=1.0, sections=64)
    inner = trimesh.creation.cylinder(radius=0.2, height=1.2, sections=64)
    pipe = outer.difference(inner)
    pipe.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, (0, 1, 0)))
    return pipe


def test_box_layers_are_its_faces():
    box = trimesh.creation.box(extents=(0.6, 0.4, 0.3))
    depth = layered_depth(box, 32, 0.55, layers=2)
    x = pixel_centres(32, 0.55)
    inside_x = np.abs(x) < 0.3
    inside_y = np.abs(-x) < 0.2  # rows run from +y down, symmetric here
    covered = inside_y[:, None] & inside_x[None, :]
    np.testing.assert_array_equal(depth.count, covered.astype(np.uint8))
    np.testing.assert_allclose(depth.entry[0][covered], 0.15, atol=1e-6)
    np.testing.assert_allclose(depth.exit[0][covered], -0.15, atol=1e-6)
    assert np.all(depth.entry[1] == 0) and np.all(depth.entry[0][~covered] == 0)
    np.testing.assert_allclose(depth.normal[:, covered].T, np.tile([0.0, 0.0, 1.0], (covered.sum(), 1)), atol=1e-6)


def test_a_pipe_seen_from_the_side_has_two_layers_with_the_bore_between():
    depth = layered_depth(_tube(), 64, 0.55, layers=3)
    y = -pixel_centres(64, 0.55)  # view-frame y of each row
    row = int(np.argmin(np.abs(y - 0.0)))
    col = 32
    assert depth.count[row, col] == 2
    # Through the axis: the outer wall from z=0.3 to 0.2, the bore, then 0.2..0.3 behind.
    np.testing.assert_allclose([depth.entry[0, row, col], depth.exit[0, row, col]], [0.3, 0.2], atol=0.01)
    np.testing.assert_allclose([depth.entry[1, row, col], depth.exit[1, row, col]], [-0.2, -0.3], atol=0.01)
    # A ray above the bore (|y| between 0.2 and 0.3) crosses the wall once.
    top = int(np.argmin(np.abs(y - 0.25)))
    assert depth.count[top, col] == 1


def test_occupancy_from_layers_converges_to_the_solid():
    rng = np.random.default_rng(0)
    mesh, _ = normalize_mesh(_tube())
    points = sample_uniform(20_000, rng)
    truth = MeshQuery(mesh).inside(points)
    ious = []
    for size in (40, 160):
        predicted = occupancy_from_layers(layered_depth(mesh, size, 0.55, layers=2), points, 0.55)
        ious.append((predicted & truth).sum() / (predicted | truth).sum())
    assert ious[1] > 0.95 and ious[1] > ious[0]
    # One layer cannot see the far wall of the pipe: the bore is filled or the back is lost.
    one = occupancy_from_layers(layered_depth(mesh, 160, 0.55, layers=2), points, 0.55, layers=1)
    assert (one & truth).sum() / (one | truth).sum() < ious[1] - 0.2


def test_layers_agree_with_the_renderer_and_the_projection():
    """Pixels with layers are the rendered silhouette, and project() reads them at the right place."""
    rng = np.random.default_rng(5)
    mesh, _ = normalize_mesh(trimesh.util.concatenate([
        trimesh.creation.box(extents=(0.8, 0.3, 0.4)),
        trimesh.creation.cylinder(radius=0.15, height=0.9, sections=32),
    ]))
    with Renderer(image_size=64, scale_jitter=0.05, supersample=1) as renderer:
        for _ in range(3):
            view_mesh, _, view = render_object(mesh, random_rotation(rng), rng, renderer)
            depth = layered_depth(view_mesh, 64, view.appearance["half_width"], layers=2)
            # Same pixel grid: the ray-cast footprint is the rendered mask up to edge pixels.
            assert np.mean((depth.count > 0) == view.mask) > 0.985
            # The entry depth read through the network's projection at surface points
            # facing the camera equals their z.
            points, faces = trimesh.sample.sample_surface(view_mesh, 4000, seed=1)
            front = view_mesh.face_normals[faces][:, 2] > 0.5
            points = points[front]
            uv = project(torch.from_numpy(points[None].astype(np.float32)), view.a, view.b)
            entry = sample_at(torch.from_numpy(depth.entry[:1])[None], uv, mode="nearest")[0, :, 0].numpy()
            visible = entry >= points[:, 2] - 0.02  # not hidden behind another part of the mesh
            assert visible.mean() > 0.5
            assert np.median(np.abs(entry[visible] - points[visible, 2])) < 0.01


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("depth_dataset")
    config = BuildConfig(
        shapes=3, views=2, seed=2, image_size=48, depth_size=32, depth_layers=2, shapes_per_shard=3,
        val_points=200, sampling=SamplingConfig(surface_points=300, uniform_points=20),
    )
    run_to_completion(build_dataset(root, config))
    return root


def test_shards_store_compact_layers_that_match_the_view_meshes(built):
    record = read_shard(next((built / "shards").glob("*.npz")))[0]
    assert record.depth_entry.dtype == np.float16 and record.depth_entry.shape == (2, 2, 32, 32)
    assert record.depth_count.dtype == np.uint8 and record.depth_normal.shape == (2, 3, 32, 32)
    for view in range(record.views):
        expected = layered_depth(record.view_mesh(view), 32, 1.0 / float(record.a[view]), layers=2)
        np.testing.assert_array_equal(record.depth_count[view], expected.count)
        np.testing.assert_allclose(record.depth_entry[view], expected.entry, atol=1e-3)


def test_training_items_carry_the_layers(built):
    item = ViewDataset(built, "train", points_per_view=64)[0]
    assert item["depth_entry"].dtype == torch.float32 and item["depth_entry"].shape == (2, 32, 32)
    assert item["depth_count"].shape == (32, 32) and item["depth_normal"].shape == (3, 32, 32)
    assert "depth_entry" not in ViewDataset(built, "val", point_set="val")[0]


def test_an_older_data_set_is_refused_with_how_to_rebuild(built, tmp_path):
    import json
    import shutil

    old = tmp_path / "old"
    shutil.copytree(built, old)
    manifest = load_manifest(old)
    manifest["format"] = 1
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="rebuild"):
        ViewDataset(old, "train")
