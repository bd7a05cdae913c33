"""Entry point of the frozen application (the PyInstaller bundle's executable).

It is the ``svr-desktop`` command line with two desktop conventions:

* no arguments opens the GUI, because a desktop user double-clicks the
  program (or starts it from a menu) and expects a window, not help text;
* a leading ``-m svr_desktop`` is dropped: the GUI starts long jobs as
  ``sys.executable -m svr_desktop ...`` (see ``svr_desktop.gui.process_runner``),
  and in a bundle ``sys.executable`` is this program, not a Python.

``multiprocessing.freeze_support()`` comes first so that the data-set
builder's spawned worker processes (which re-run this executable) start as
workers instead of as a second application.
"""

import multiprocessing
import sys

CHILD_PREFIX = ["-m", "svr_desktop"]


def command_line(argv: list[str]) -> list[str]:
    """The ``svr-desktop`` arguments for the executable's arguments ``argv``."""
    if argv[:2] == CHILD_PREFIX:
        return argv[2:]
    return argv or ["gui"]


def main() -> int:
    multiprocessing.freeze_support()
    from svr_desktop.cli import main as cli_main

    return cli_main(command_line(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
