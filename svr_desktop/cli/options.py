"""Option types shared by the sub-commands: every value is checked while parsing.

A bad option is refused by argparse in one line, before a model, a data set
or a mesh is loaded, instead of surfacing after minutes of work (or never:
``--workers 0`` or ``--size-mm -5`` used to be accepted).
"""

from __future__ import annotations

import argparse
import math
from typing import Callable

from ..device_names import check_device_name
from ..inference.settings import GRID_RESOLUTIONS  # noqa: F401  (the commands' --resolution choices)


#: Largest seed numpy's generators take (seeds must be non-negative).
MAX_SEED = 2**32 - 1


def integer(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[low, high]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"at least {low:,}" if high is None else f"between {low:,} and {high:,}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    return parse


def number(low: float, high: float = math.inf, *, low_included: bool = True) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[low, high]`` (``(low, high]`` without ``low_included``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (math.isfinite(value) and (value >= low if low_included else value > low) and value <= high):
            lower = f"{'at least' if low_included else 'greater than'} {low:g}"
            bound = lower if high == math.inf else f"{lower} and at most {high:g}"
            raise argparse.ArgumentTypeError(f"must be a finite number {bound}, got {text}")
        return value

    return parse


#: Types for the options several commands share.
seed = integer(0, MAX_SEED)
positive = number(0.0, low_included=False)


def device_name(text: str) -> str:
    """An argparse type: a device name (``auto``, ``cpu``, ``cuda:1``, ...), checked by its spelling alone.

    Whether the device is there is checked when the command picks it (that needs torch).
    """
    try:
        return check_device_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
