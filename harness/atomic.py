"""All-or-nothing file writing: a reader never sees half a file, an error leaves none."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from harness.errors import UsageError


def shareable_mode() -> int:
    """0o666 less the process's umask: the mode ``open`` would give a new file. mkstemp
    creates files readable by the owner only; what bench writes is meant to be shared as far
    as the user's umask allows."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def staged(path: Path) -> Iterator[Path]:
    """A temporary sibling of ``path`` to write; renamed into place only if the block ends
    without an error, removed otherwise."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, shareable_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def writing(what: str, target: Path) -> Iterator[None]:
    """An error of the file system while writing ``what`` to ``target`` (unwritable, full, a
    directory where a file should be) as one usage error naming both."""
    try:
        yield
    except (OSError, ValueError) as exc:
        if isinstance(exc, ValueError) and "null byte" not in str(exc):
            raise  # a bug in what is written, not the path: its traceback is wanted
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"cannot write {what} to {str(target)!r}: {reason}") from None


def write_files(files: Mapping[Path, str]) -> None:
    """Write each text to a temporary sibling first and rename them into place only once all
    are complete, so an error leaves neither a half-written file nor half of the set."""
    with contextlib.ExitStack() as stack:
        for path, text in files.items():
            stack.enter_context(staged(path)).write_text(text, encoding="utf-8")
