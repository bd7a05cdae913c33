"""The viewer's lighter copy of a large mesh (issue 15: "Edges" on a large mesh turned it black)."""

import numpy as np
import trimesh

from svr_desktop.inference.display import display_mesh


def test_a_small_mesh_is_drawn_as_it_is():
    mesh = trimesh.creation.icosphere(subdivisions=3)
    display = display_mesh(mesh)
    assert display.mesh is mesh and not display.is_copy and display.full_faces == len(mesh.faces)
    values = np.arange(len(mesh.vertices), dtype=float)
    assert display.vertex_values(values) is values


def test_a_large_mesh_gets_a_lighter_copy_of_the_same_shape_with_its_values():
    mesh = trimesh.creation.icosphere(subdivisions=5)  # 20,480 faces
    display = display_mesh(mesh, threshold=10_000, faces=2_000)
    assert display.is_copy and display.full_faces == len(mesh.faces)
    assert 1_000 <= len(display.mesh.faces) <= 2_000
    radii = np.linalg.norm(display.mesh.vertices, axis=1)
    assert np.abs(radii - 1.0).max() < 0.02  # still the unit sphere
    assert "vertex_normals" in display.mesh._cache  # made here, not on the GUI thread
    # A per-vertex value of the full mesh (its height) colours the copy's vertex standing for it.
    heights = np.asarray(mesh.vertices[:, 1])
    drawn = display.vertex_values(heights)
    assert drawn.shape == (len(display.mesh.vertices),)
    assert np.abs(drawn - display.mesh.vertices[:, 1]).max() < 0.05
