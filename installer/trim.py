"""What the bundle leaves out, and why (sizes in docs/benchmarks.md, "Installer").

Two kinds of rule, each one matching something a build really collects:

* ``EXCLUDED_MODULES``: Python modules that PyInstaller would follow from
  optional imports of our dependencies but that SVR Desktop never runs;
* ``DROPPED_PATTERNS``: files that torch's and Qt's hooks collect wholesale
  but that only their own test suites and translators need.

Leaving out all of VTK but pyvista's modules is ``vtk_modules.py``'s job.  The
smoke test (``installer/smoke_test.py``) runs the frozen application after
trimming; a rule that breaks it must go.
"""

from __future__ import annotations

import fnmatch

EXCLUDED_MODULES = [
    "PySide6.QtDataVisualization",  # qtpy tries it inside a suppress(ImportError); 3D charts are unused
    "pytest",  # the build venv has the test extra; scipy, networkx and pooch import it in test helpers only
]

#: Bundle paths (POSIX, relative to the bundle's contents folder) that are never needed.
DROPPED_PATTERNS = [
    "torch/test/*",  # C++ unit-test programs
    "torch/bin/test_*", "torch/bin/*Test",  # more C++ test programs
    "torch/bin/protoc*",  # the protobuf compiler
    "torch/lib/*_test.so", "torch/lib/libbackend_with_compiler.so", "torch/lib/libaoti_custom_ops.so",  # test backends
    "PySide6/Qt/translations/*",  # Qt's own dialog translations; the application is in English
]


def drop(dest: str) -> bool:
    """True for a bundle path matched by :data:`DROPPED_PATTERNS`."""
    dest = dest.replace("\\", "/")
    return any(fnmatch.fnmatchcase(dest, pattern) for pattern in DROPPED_PATTERNS)


def trimmed(toc: list[tuple]) -> list[tuple]:
    """A PyInstaller TOC (``(dest, source, typecode)`` entries) without the dropped paths."""
    return [entry for entry in toc if not drop(entry[0])]
