"""Claims on runs in a results directory, so that two ``bench run`` on one ``--out`` never
compute the same run twice: each claims a run (an exclusively created file) before it
computes it, and the other waits for that run's record instead.

A claim names its holder (``pid:start@host``, the start where the system tells it: Linux's
clock ticks after boot); a claim whose holder is a process of this host that no longer exists
(killed with -9, say) is stale and is taken over. The start tells a live process from one
that merely got the dead holder's pid (a thread of the next bench did, which then waited on
its own claim forever).
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from harness import stopping
from harness.records import RunRecord, read_record, record_path
from harness.spec import RunSpec

POLL_SECONDS = 1.0
"""How often a waiting bench looks for the record of a run another bench holds."""


def claim_path(out_dir: Path, spec: RunSpec) -> Path:
    return out_dir / f".{spec.file_stem}.claim"


def _me() -> str:
    pid = os.getpid()
    start = _started(pid)
    return f"{pid}{'' if start is None else ':' + start}@{socket.gethostname()}"


def _started(pid: int) -> str | None:
    """When process (or thread) ``pid`` started, in clock ticks after boot (field 22 of
    Linux's /proc/PID/stat, after the name in parentheses); None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def holder(out_dir: Path, spec: RunSpec) -> str | None:
    """Who holds the claim on ``spec``: ``pid:start@host``, or None if nobody (or a
    process of this host that is gone, its pid perhaps another's now) does."""
    try:
        owner = claim_path(out_dir, spec).read_text().strip()
    except OSError:
        return None
    process, _, host = owner.partition("@")
    pid, _, start = process.partition(":")
    if host == socket.gethostname() and pid.isdigit():
        if not _alive(int(pid)):
            return None
        if start and _started(int(pid)) not in (start, None):
            return None
    return owner or None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        return True
    return True


def take(out_dir: Path, spec: RunSpec) -> bool:
    """Claim ``spec`` for this process; False if another live bench holds it."""
    path = claim_path(out_dir, spec)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        if holder(out_dir, spec) is not None:
            return False
        path.write_text(_me())  # a stale claim: take it over
        return holder(out_dir, spec) == _me()
    with os.fdopen(fd, "w") as handle:
        handle.write(_me())
    return True


def release(out_dir: Path, spec: RunSpec) -> None:
    """Drop this process's claim on ``spec`` (a claim of another process is left alone)."""
    path = claim_path(out_dir, spec)
    try:
        if path.read_text().strip() == _me():
            path.unlink()
    except OSError:
        pass


def await_record(out_dir: Path, spec: RunSpec) -> RunRecord | None:
    """The record of ``spec`` that another bench is computing, once it has released its
    claim (it does so after writing the record); None if it stopped without one. A stop
    asked for (Ctrl-C) ends the wait (:class:`.stopping.RunInterrupted`)."""
    while holder(out_dir, spec) is not None:
        stopping.check()
        time.sleep(POLL_SECONDS)
    path = record_path(out_dir, spec)
    return read_record(path) if path.exists() else None
