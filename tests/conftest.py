"""Fixtures shared by the whole suite.

Tests never rely on entry-point discovery: the ``host`` fixture builds a plugin host with
discovery off, registers the built-in plugins explicitly and installs it as the process's
default host, so in-process CLI calls see exactly these plugins.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import harness.plugins
from harness.plugins import PluginHost
from tests.helpers import make_host

# In-process commands print at the width of a pipe (harness.display, fixed when it is first
# imported, after this); a COLUMNS exported by the shell or CI running pytest would change
# what those tests read. The tests of output at 80 columns set it for themselves.
os.environ.pop("COLUMNS", None)


@pytest.fixture
def host(monkeypatch) -> PluginHost:
    """Tasks and the PyTorch backend, installed as the default host."""
    plugin_host = make_host("tasks", "torch")
    monkeypatch.setattr(harness.plugins, "_default_host", plugin_host)
    return plugin_host


@pytest.fixture
def registry(host):
    return host.registry


@pytest.fixture
def toy_host(host):
    """The default host plus toy tasks (echo, exploding), a cell that cannot be built, one
    that fails mid-training (flaky) and one that blocks (hang)."""
    from tests.toyplugins import BrokenCell, FaultyCells, ToyTasks

    host.register(ToyTasks(), "toy-tasks")
    host.register(BrokenCell(), "broken-cell")
    host.register(FaultyCells(), "faulty-cells")
    yield host
    host.unregister("toy-tasks")
    host.unregister("broken-cell")
    host.unregister("faulty-cells")


BENCH = str(Path(sys.executable).with_name("bench"))


@pytest.fixture
def bench():
    """Run the installed ``bench`` console script; returns the CompletedProcess."""

    def run(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
        return subprocess.run([BENCH, *args], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "BENCH_PLUGINS": "tasks,torch", **(env or {})},
                              cwd=cwd)

    return run
