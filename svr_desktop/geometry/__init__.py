"""The geometry core: numpy / trimesh in, the same out (no torch, no Qt).

Modules: ``mesh_io`` (loading), ``frames`` (normalization, view rotations),
``queries`` (distance / inside), ``sampling`` (training and surface samples),
``labels`` (v(d, s), adaptive s), ``extraction`` (dense grid, MISE, marching
cubes), ``remesh`` (watertight repair), ``edges`` and ``metrics``.
"""
