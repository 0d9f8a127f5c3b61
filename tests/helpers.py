"""Helpers for tests: plugin hosts with explicitly registered plugins."""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from rich.cells import cell_len

from harness.plugins import PluginHost
from harness.table_model import Table

BUILTIN_PLUGINS = {
    "tasks": "bench_tasks.plugin",
    "torch": "bench_torch.plugin",
    "keras": "bench_keras.plugin",
}


def make_host(*names: str, **plugins: object) -> PluginHost:
    """A host with entry-point discovery off, the named built-in plugins registered and then
    ``plugins`` (plugin name = plugin object)."""
    host = PluginHost(discover=False)
    for name in names or BUILTIN_PLUGINS:
        host.register(importlib.import_module(BUILTIN_PLUGINS[name]), name)
    for name, plugin in plugins.items():
        host.register(plugin, name)
    return host

TINY_RUN = ["--hidden", "8", "--batch", "8", "--eval-size", "32", "--eval-every", "5"]
"""``bench run`` options that make a run take a fraction of a second."""


FRAMEWORKS = ("torch", "tensorflow", "keras", "jax")


def frameworks_imported_by(code: str) -> list[str]:
    """The frameworks a fresh interpreter has imported after running ``code``."""
    script = f"import sys\n{code}\nprint(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return ast.literal_eval(done.stdout.splitlines()[-1])


def assert_tables_whole(printed: str, tables: list[Table], width: int) -> None:
    """``printed`` (a console's plain output) fits ``width``, has no escape code and holds
    every header word and every word of every cell of ``tables`` whole on one line, as
    often as the tables hold it (no column cropped or left out), and no piece of a word."""
    lines = printed.splitlines()
    assert max(map(cell_len, lines)) <= width, printed
    assert "\x1b" not in printed
    printed_words = Counter(word for line in lines for word in line.split())
    words = Counter(word for table in tables for column in table.columns
                    for word in (column.narrow or column.name).split())
    words += Counter(word for table in tables for row in table.rows for cell in row
                     for word in cell.split())
    missing = words - printed_words
    assert not missing, f"not whole on a line: {sorted(missing)}\n{printed}"
    around = {word for table in tables
              for word in " ".join([table.title, table.caption, *table.notes]).split()}
    pieces = {word for word in printed_words if word not in words and word not in around
              and not TABLE_PARTS.fullmatch(word)}
    assert not pieces, f"pieces of words: {sorted(pieces)}\n{printed}"


TABLE_PARTS = re.compile(r"─+|\(part|of|\d+\)?")
"""The words of a table's rule and of the titles of its parts, e.g. ``(part 1 of 2)``."""


ERROR_LINE = re.compile(r"bench( [a-z]+)?: error: [^\n]+\n")
"""What a usage error prints: one line, naming the subcommand whose arguments were wrong."""


def written_records(out: Path) -> list[dict]:
    """The records written in full under ``out``: not the temporary file (``.tmp-*.json``)
    of one being written as it is looked at."""
    return [json.loads(path.read_text()) for path in sorted(out.glob("[!.]*.json"))]


def wait_for(condition, timeout: float = 180.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
