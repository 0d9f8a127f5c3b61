"""One module per ``bench`` subcommand, each with ``add_parser(subparsers)``."""

from __future__ import annotations

import argparse

from harness.errors import UsageError


class Parser(argparse.ArgumentParser):
    """argparse that reports a mistake as a UsageError (one line, exit 2), not SystemExit."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}")
