"""Helpers for tests: plugin hosts with explicitly registered plugins."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys

from harness.plugins import PluginHost

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
