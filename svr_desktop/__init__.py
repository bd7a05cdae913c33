"""SVR Desktop: single-photo 3D reconstruction of industrial parts.

The package is layered (see DESIGN.md section 4): ``geometry`` is the numpy /
trimesh core that every other layer shares; ``gui`` is the only place that
may import Qt.
"""

__version__ = "0.1.0"
