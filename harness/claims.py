"""Claims on runs in a results directory, so that two ``bench run`` on one ``--out`` never
compute the same run twice: each claims a run (an exclusively created file) before it
computes it, and the other waits for that run's record instead.

A claim names its holder (``pid@host``); a claim whose holder is a process of this host
that no longer exists (killed with -9, say) is stale and is taken over.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from harness.records import RunRecord, read_record, record_path
from harness.spec import RunSpec

POLL_SECONDS = 1.0
"""How often a waiting bench looks for the record of a run another bench holds."""


def claim_path(out_dir: Path, spec: RunSpec) -> Path:
    return out_dir / f".{spec.file_stem}.claim"


def _me() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"


def holder(out_dir: Path, spec: RunSpec) -> str | None:
    """Who holds the claim on ``spec``: ``pid@host``, or None if nobody (or a dead
    process of this host) does."""
    try:
        owner = claim_path(out_dir, spec).read_text().strip()
    except OSError:
        return None
    pid, _, host = owner.partition("@")
    if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
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
    claim (it does so after writing the record); None if it stopped without one."""
    while holder(out_dir, spec) is not None:
        time.sleep(POLL_SECONDS)
    path = record_path(out_dir, spec)
    return read_record(path) if path.exists() else None
