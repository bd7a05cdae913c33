"""Typed reading of the application's QSettings.

``QSettings()`` (organization and application names are set at start-up by
:mod:`.app`) stores everything as text in INI files and the registry alike,
and a hand-edited or older settings file may hold anything.  These helpers
return the stored value converted to the wanted type, or the default when it
is missing or unusable, so a broken settings file never stops the
application from starting.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSettings


def read_str(settings: QSettings, key: str, default: str = "") -> str:
    value = settings.value(key, default)
    return value if isinstance(value, str) else default


def read_float(settings: QSettings, key: str, default: float) -> float:
    try:
        value = float(settings.value(key, default))
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def read_int(settings: QSettings, key: str, default: int) -> int:
    try:
        return int(settings.value(key, default))
    except (TypeError, ValueError):
        return default


def read_bool(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return default


def read_str_list(settings: QSettings, key: str) -> list[str]:
    """A list of strings (QSettings gives a bare string for a one-item list)."""
    value = settings.value(key, [])
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple)):
        return [item for item in value if isinstance(item, str) and item]
    return []
