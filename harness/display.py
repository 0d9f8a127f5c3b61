"""Terminal output shared by commands: consoles and plugin warnings."""

from __future__ import annotations

import os
import sys

from rich.console import Console

from harness.errors import warn
from harness.plugins import PluginHost

PIPE_WIDTH = 160
"""Width of tables written to a file or pipe, where there is no terminal to measure, unless
COLUMNS says otherwise."""


def _width(stream) -> int | None:
    if stream.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


stdout = Console(highlight=False, width=_width(sys.stdout))
stderr = Console(stderr=True, highlight=False, width=_width(sys.stderr))


def warn_plugin_errors(host: PluginHost) -> None:
    """One line per broken plugin on stderr, so a failure is never silent."""
    host.registry  # building it runs the hooks, whose errors count too  # noqa: B018
    for name, info in host.plugins.items():
        if not info.errors:
            continue
        if info.registered:  # only what failed was dropped, e.g. a duplicate name
            what = (f"plugin {name!r}: {info.errors[0]}; only that was skipped, the plugin's "
                    "other entries are loaded")
        else:
            what = f"plugin {name!r} is broken and was skipped: {info.errors[0]}"
        warn(f"{what} (see `bench plugins`)")
