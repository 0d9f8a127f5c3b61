"""Values given more than once on a command line or in a suite entry: run once, said once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from harness.errors import warn

Item = TypeVar("Item", bound=Hashable)

_source: ContextVar[str | None] = ContextVar("repeats_source", default=None)


@contextmanager
def warnings_from(source: str) -> Iterator[None]:
    """Within it, :func:`given_once`'s warnings name ``source`` (a suite file's entry), as
    that entry's errors do."""
    token = _source.set(source)
    try:
        yield
    finally:
        _source.reset(token)


def given_once(items: list[Item], name: Callable[[Item], str] = str) -> list[Item]:
    """``items`` in order without repeats, each repeated one named in a warning line on
    stderr: asked for twice, a run is still run once, which whoever typed it twice may not
    expect."""
    counts = Counter(items)
    where = f"{_source.get()}: " if _source.get() else ""
    for item, count in counts.items():
        if count > 1:
            times = "twice" if count == 2 else f"{count} times"
            warn(f"{where}{name(item)} given {times}; running it once")
    return list(counts)
