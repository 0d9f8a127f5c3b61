"""bench: a plugin-based benchmark harness for memory-length tasks."""

from importlib.metadata import PackageNotFoundError, version

import pluggy

try:
    __version__ = version("bench-harness")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

PROJECT_NAME = "bench"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Decorator marking a plugin's implementation of a bench hook."""

__all__ = ["PROJECT_NAME", "__version__", "hookimpl"]
