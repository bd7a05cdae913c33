"""The VTK modules the bundle carries: every module pyvista can import, not all of VTK.

pyvista imports VTK lazily, by name: ``pyvista._vtk`` maps each class it uses
to its module, and a few modules are imported only to register rendering
factories.  PyInstaller sees none of these imports.  What it does see is a
``from vtk import *`` under ``if TYPE_CHECKING``, and the ``vtk`` shim names
all of VTK's ~150 modules (readers for dozens of formats, VR, web, the Viskores
accelerators).  So the spec excludes the shim and names pyvista's modules as
hidden imports instead; the vtkmodules hooks add each module's dependencies.
"""

from __future__ import annotations

EXCLUDED_MODULES = ["vtk"]
#: Imported by pyvista outside its class table: the rendering factories
#: (pyvista.plotting._rendering_imports) and chart backgrounds (vtkPythonItem).
SIDE_EFFECT_MODULES = ["vtkRenderingContextOpenGL2", "vtkRenderingFreeType", "vtkRenderingMatplotlib", "vtkPythonContext2D"]


def pyvista_vtk_modules() -> list[str]:
    """``vtkmodules.*`` names of every module pyvista may import at run time."""
    try:
        from pyvista import _vtk

        table = _vtk._VTK_CLASS_TO_MODULE
    except (ImportError, AttributeError) as error:
        raise RuntimeError(
            "pyvista no longer has its VTK import table (pyvista._vtk._VTK_CLASS_TO_MODULE); "
            "update installer/vtk_modules.py for this pyvista version"
        ) from error
    return sorted({f"vtkmodules.{module}" for module in [*table.values(), *SIDE_EFFECT_MODULES]})
