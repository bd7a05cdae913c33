"""The training presets by name, and the one each method starts from.

Plain Python on purpose (the config module imports pydantic and torch): the
command line lists these names while it parses its options (issue 15).
"""

from __future__ import annotations

from pathlib import Path

#: The presets: one YAML file each, named after the preset.
PRESET_DIR = Path(__file__).with_name("presets")

#: The preset ``svr-desktop train --method M`` starts from, by method (in the
#: order of :data:`svr_desktop.model.methods.METHODS`): each method at the
#: cpu-small size, so that methods trained from their presets compare on equal terms.
METHOD_PRESETS = {"jin2022": "cpu-small", "occnet": "occnet", "disn": "disn", "pointcloud": "pointcloud", "d-occnet": "d-occnet"}


def preset_names() -> list[str]:
    """The presets' names, sorted."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
