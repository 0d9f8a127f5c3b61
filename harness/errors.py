"""Domain errors, and warnings. The CLI is the one place that turns errors into messages and
exit codes; a warning is one line on stderr, ``bench: warning: ...``, and the command goes on."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable


def warn(message: str) -> None:
    """One warning line on stderr, in the form every bench warning takes. A message of
    several lines (a plugin's exception may have many) is joined into one, and the line
    never ends in a space."""
    said = " ".join(filter(None, (line.strip() for line in message.splitlines())))
    print(f"bench: warning: {said}".rstrip(), file=sys.stderr, flush=True)


class BenchError(Exception):
    """Base of every error bench reports without a traceback."""

    exit_code = 1
    command = "bench"
    """The command the CLI names before "error:" ("bench run: error: ...")."""


class UsageError(BenchError):
    """The user asked for something invalid: exit code 2, one clear line."""

    exit_code = 2

    def __init__(self, message: str, command: str = "bench"):
        super().__init__(message)
        self.command = command


class UnknownNameError(UsageError):
    """A name that no registry entry answers to."""

    def __init__(self, kind: str, name: str, available: Iterable[str], where: str = ""):
        """``where`` follows the name: "unknown parameter 'lenght' of task 'copy'"."""
        self.kind = kind
        self.name = name
        self.available = sorted(set(available))
        close = difflib.get_close_matches(name, self.available, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(self.available) or "none"
        super().__init__(f"unknown {kind} {name!r}{where}{hint} (available: {listed})")


class DuplicateRegistrationError(BenchError):
    """Two plugins claimed the same name."""


class PluginLoadError(BenchError):
    """A plugin failed to load while BENCH_STRICT_PLUGINS=1."""


class BackendUnavailableError(UsageError):
    """A backend whose framework is missing or cannot run what was asked."""
