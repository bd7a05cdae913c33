"""The ``svr-desktop`` command line: a thin front on the core.

Each sub-command lives in its own module and registers itself with
``add_parser(subparsers)``; its handler returns an exit code.  Expected
failures (bad files, bad options) are reported in one line on stderr with
exit code 2, never as a traceback: options are checked while parsing
(:mod:`.options`), files before any heavy work.  Qt is imported only by the
``gui`` command, and torch, trimesh & co. only by the handlers that use
them: ``--help``, ``--version`` and options refused while parsing take a
tenth of a second, not the seconds those imports cost (issue 15).
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from . import calibrate_command, dataset_commands, evaluate_command, gui_command, mesh_commands, reconstruct_command, train_command

#: Modules that each contribute sub-commands.
COMMAND_MODULES = (reconstruct_command, mesh_commands, dataset_commands, train_command, evaluate_command, calibrate_command, gui_command)


class OneLineParser(argparse.ArgumentParser):
    """argparse, except that a usage error is one line (the usage is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="svr-desktop",
        description="Single-photo 3D reconstruction of industrial parts: "
        "photo in, watertight CAD mesh out.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parsers(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version or a usage error, already printed
        return int(done.code or 0)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as exc:
        # As argparse's own errors: "svr-desktop dataset build: error: ..." for a nested command.
        print(f"svr-desktop {getattr(args, 'command_name', args.command)}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
