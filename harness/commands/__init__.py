"""One module per ``bench`` subcommand, each with ``add_parser(subparsers)``."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from harness.errors import UsageError, warn
from harness.records import ResultSet, load_results


class Parser(argparse.ArgumentParser):
    """argparse that reports a mistake as a UsageError (one line, exit 2), not SystemExit."""

    commands: dict[str, argparse.ArgumentParser] = {}
    """The top-level parser's subcommands' parsers, by name."""

    def error(self, message: str):
        wrong_type = re.fullmatch(r"argument (\S+): invalid (int|float) value: (.*)", message)
        if wrong_type:  # argparse names the Python type
            option, kind, value = wrong_type.groups()
            message = (f"{option} takes {'a whole number' if kind == 'int' else 'a number'}, "
                       f"got {value}")
        raise UsageError(message, command=self.prog)


def read_results(source: Path) -> tuple[ResultSet, Path]:
    """The records under a results directory or file, each unreadable file named on stderr,
    and the directory they are in (where a command writes its output by default)."""
    results = load_results(source)
    for _, reason in results.skipped:
        warn(f"skipped {reason}")
    return results, source if source.is_dir() else source.parent
