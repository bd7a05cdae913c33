"""SVR Desktop: single-photo 3D reconstruction of industrial parts.

The package is layered (see DESIGN.md section 4): ``geometry`` is the numpy /
trimesh core that every other layer shares; ``gui`` is the only place that
may import Qt.
"""

import os

# OpenMP threads that finish early spin ("ACTIVE" waiting) and steal the core
# from the machine's other work; on a 2-core machine that made two torch
# threads 2-3x slower than one whenever anything else ran (issue 13).  Set
# before torch is imported anywhere in the package; a user's value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
