"""Which device names exist, judged from their spelling alone (no torch).

The command line refuses ``--device tpu`` while it parses its options, and
:func:`svr_desktop.devices.pick_device` checks a name the same way before it
asks torch whether that device is there: importing torch takes seconds, too
long to wait for a typo (issue 15).
"""

from __future__ import annotations

import re

#: The names a device can be given by, as messages list them.
DEVICE_CHOICES = "auto, cpu, cuda, cuda:N or mps"

#: A device type this application runs on, with an optional index spelt as
#: torch accepts it (digits, no sign, no leading zero).
_DEVICE = re.compile(r"(?:cpu|cuda|mps)(?::(0|[1-9][0-9]*))?")

#: torch keeps a device index in 8 bits: a larger one would wrap around.
MAX_DEVICE_INDEX = 127


def check_device_name(name: str) -> str:
    """``name`` if it names a device (``auto``, ``cpu``, ``cuda``, ``cuda:1``, ``mps``), else ``ValueError``.

    Refused: unknown types (``tpu``), types this application does not run on
    (``meta``, ``xla``) and malformed indices (``cuda:x``, ``cpu:-1``).
    Whether the device is present is for :func:`~svr_desktop.devices.pick_device` to say.
    """
    match = _DEVICE.fullmatch(name)
    if name != "auto" and (match is None or (match[1] is not None and int(match[1]) > MAX_DEVICE_INDEX)):
        raise ValueError(f"unknown device '{name}' (choose {DEVICE_CHOICES})")
    return name
