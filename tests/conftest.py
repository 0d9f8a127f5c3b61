"""Fixtures shared by the whole suite.

Tests never rely on entry-point discovery: the ``host`` fixture builds a plugin host with
discovery off, registers the built-in plugins explicitly and installs it as the process's
default host, so in-process CLI calls see exactly these plugins.
"""

from __future__ import annotations

import pytest

import harness.plugins
from harness.plugins import PluginHost
from tests.helpers import make_host


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
    """The default host plus toy tasks (echo, exploding) and a cell that cannot be built."""
    from tests.toyplugins import BrokenCell, ToyTasks

    host.register(ToyTasks(), "toy-tasks")
    host.register(BrokenCell(), "broken-cell")
    yield host
    host.unregister("toy-tasks")
    host.unregister("broken-cell")
