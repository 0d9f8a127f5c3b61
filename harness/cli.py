"""The ``bench`` command: argument parsing and the single error boundary."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from harness import __version__
from harness.commands import Parser
from harness.errors import BenchError, UnknownNameError, UsageError
from harness.plugins import failed_plugins_note
from harness.stopping import RunInterrupted

COMMANDS = ("run", "list", "plugins", "parity", "report", "compare", "check", "export",
            "reproduce")
"""Modules of :mod:`harness.commands`, one per subcommand, each with
``add_parser(subparsers)`` and ``execute(args) -> int``."""


def build_parser() -> Parser:
    parser = Parser(
        prog="bench",
        description="How long can a recurrent cell remember, how stably does it train, "
        "and how fast is it? Trains cells from backend plugins on synthetic long-range "
        "tasks and reports accuracy, stability and speed.",
        epilog="Exit codes: 0 success, 1 a run failed or a check found a problem, "
        "2 usage error. BENCH_DEBUG=1 shows tracebacks.",
    )
    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"harness.commands.{name}").add_parser(subparsers)
    parser.commands = subparsers.choices
    return parser


def unrecognized(parser: Parser, command: str | None, extras: list[str]) -> UsageError:
    """Arguments no parser took, named with the command they were given to; a cell given as
    an argument gets the option it belongs to."""
    message = f"unrecognized arguments: {' '.join(extras)}"
    if command is None:
        return UsageError(message)
    if "--cells" in parser.commands[command].format_usage() and ":" in extras[0]:
        message += f" (cells are given with --cells, e.g. --cells {extras[0]})"
    return UsageError(message, command=f"bench {command}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args, extras = parser.parse_known_args(argv)
        if extras:
            raise unrecognized(parser, args.command, extras)
        if args.command is None:
            parser.print_help()
            return 2
        return args.execute(args)
    except BenchError as exc:
        if os.environ.get("BENCH_DEBUG"):
            traceback.print_exc()
        note = failed_plugins_note() if isinstance(exc, UnknownNameError) else ""
        print(f"{exc.command}: error: {exc}{note}", file=sys.stderr)
        return exc.exit_code
    except MemoryError as exc:  # sizes no run could hold, outside a run (runs record it)
        if os.environ.get("BENCH_DEBUG"):
            traceback.print_exc()
        print(f"bench: error: not enough memory for the sizes asked for ({exc}); smaller "
              "--length, --hidden or --batch would fit", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of stdout (head, say) stopped reading: nothing to add
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nor at exit's flush
        return 1
    except (KeyboardInterrupt, RunInterrupted) as exc:
        kept_in = getattr(exc, "kept_in", None)
        # Only a sweep names where it keeps records; a check, a comparison or a sweep not yet
        # started has none, and nothing to go on from.
        print("bench: interrupted" + (f"; the records of finished runs are kept in {kept_in}, "
                                      "and the same command run again goes on from them"
                                      if kept_in else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
