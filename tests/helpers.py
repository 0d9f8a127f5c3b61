"""Helpers for tests: plugin hosts with explicitly registered plugins."""

from __future__ import annotations

import importlib

from harness.plugins import PluginHost

BUILTIN_PLUGINS = {
    "tasks": "bench_tasks.plugin",
    "torch": "bench_torch.plugin",
    "keras": "bench_keras.plugin",
}


def make_host(*names: str) -> PluginHost:
    """A host with entry-point discovery off and the named built-in plugins registered."""
    host = PluginHost(discover=False)
    for name in names or BUILTIN_PLUGINS:
        host.register(importlib.import_module(BUILTIN_PLUGINS[name]), name)
    return host

TINY_RUN = ["--hidden", "8", "--batch", "8", "--eval-size", "32", "--eval-every", "5"]
"""``bench run`` options that make a run take a fraction of a second."""
