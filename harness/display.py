"""Terminal output shared by commands: consoles and plugin warnings."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

from harness.plugins import PluginHost

PIPE_WIDTH = 160
"""Width of tables written to a file or pipe, where there is no terminal to measure."""

stdout = Console(highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH)
stderr = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else PIPE_WIDTH)


def warn_plugin_errors(host: PluginHost) -> None:
    """One line per broken plugin on stderr, so a failure is never silent."""
    host.registry  # building it runs the hooks, whose errors count too  # noqa: B018
    for name, errors in host.load_errors().items():
        stderr.print(f"[yellow]warning:[/] plugin {name!r} is broken and was skipped: "
                     f"{escape(errors[0])} (see `bench plugins`)", markup=True)
