"""Stopping a sweep on Ctrl-C or SIGTERM without losing a run that finished training.

The first signal asks every run to stop: a run still training stops before its next step
(:class:`RunInterrupted`, nothing recorded), a run past its last step is finished and its
record written. A second Ctrl-C or SIGTERM stops at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_requested = threading.Event()


class RunInterrupted(BaseException):
    """A run stopped before it finished training; a BaseException so that the runner's
    "a broken run is recorded as failed" does not catch it. ``kept_in``: the directory where
    the records of the runs that finished are, once a command knows it."""

    def __init__(self, kept_in: str | None = None):
        super().__init__(kept_in)
        self.kept_in = kept_in


def requested() -> bool:
    return _requested.is_set()


def request() -> None:
    _requested.set()


def check() -> None:
    """Raise :class:`RunInterrupted` if a stop was asked for."""
    if _requested.is_set():
        raise RunInterrupted


def _on_signal(signum: int, frame) -> None:
    if _requested.is_set():
        raise KeyboardInterrupt
    _requested.set()


@contextmanager
def graceful() -> Iterator[None]:
    """Within the block, the first SIGINT or SIGTERM only asks to stop (see module doc)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _on_signal) for sig in STOP_SIGNALS}
    _requested.clear()
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested.clear()  # a stop asked for here ends here, not the next block of work


def worker_signals() -> None:
    """In a worker process: Ctrl-C is the controller's to handle (it reaches the whole
    process group), and SIGTERM from the controller asks the run to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: _requested.set())
