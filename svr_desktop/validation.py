"""What the typed schemas (pydantic) share: their settings and one-line error messages.

Training configs, the configs stored in checkpoints and data-set manifests
are checked against pydantic schemas before any work starts.  pydantic's own
report spans several lines and quotes whole inputs; a user of the command
line gets one line instead (``svr-desktop CMD: error: ...``) naming each
offending key with the value found there.
"""

from __future__ import annotations

from pydantic import ConfigDict, ValidationError

#: Schemas refuse unknown keys and infinite / NaN numbers; each field's type
#: says whether it is strict (numbers, flags and names are: ``"16"`` is not a
#: batch size, ``true`` is not a learning rate).
SCHEMA = ConfigDict(extra="forbid", allow_inf_nan=False)

#: At most this many problems are spelled out (the rest are counted), and this many unknown keys named.
SHOWN_ERRORS = 3
SHOWN_KEYS = 5

#: pydantic's error types for "a mapping belongs here" (dataclass sections, typed dicts) and "unknown key".
_MAPPING_TYPES = {"dataclass_type", "dict_type"}
_UNKNOWN_KEY_TYPES = {"unexpected_keyword_argument"}


def describe(error: ValidationError, root: str = "config") -> str:
    """One line for every problem of ``error``: unknown keys first, then ``key: problem, got value``.

    ``root`` names the whole document where a problem has no key (a YAML
    list where the mapping of sections belongs, say).
    """
    problems = error.errors(include_url=False)
    unknown = [_path(p["loc"], root) for p in problems if p["type"] in _UNKNOWN_KEY_TYPES]
    parts = []
    if unknown:
        more = " ..." if len(unknown) > SHOWN_KEYS else ""
        parts.append(f"unknown keys: {', '.join(unknown[:SHOWN_KEYS])}{more}")
    for problem in problems:
        if problem["type"] in _UNKNOWN_KEY_TYPES:
            continue
        if problem["type"] == "missing":
            message = "missing"
        elif problem["type"] in _MAPPING_TYPES:
            message = f"expected a mapping of keys to values, got {kind_of(problem['input'])}"
        elif problem["type"] == "value_error":
            message = problem["msg"].removeprefix("Value error, ")  # our own message, which names the value
        else:
            message = f"{problem['msg'][0].lower()}{problem['msg'][1:]}, got {kind_of(problem['input'])}"
        parts.append(f"{_path(problem['loc'], root)}: {message}")
    if len(parts) > SHOWN_ERRORS:
        parts = [*parts[:SHOWN_ERRORS], f"and {len(parts) - SHOWN_ERRORS} more problem(s)"]
    return "; ".join(parts)


def _path(loc: tuple, root: str) -> str:
    return ".".join(str(part) for part in loc) or root


def kind_of(value) -> str:
    """A short quote of a scalar, or the kind of a container (which can be huge)."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
