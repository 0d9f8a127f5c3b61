"""A run's least memory, checked against what the machine has before any work starts.

Without the check, ``--length 1000000000`` or ``--batch 10000000`` start and die in an
allocation, or the kernel's out-of-memory killer ends the whole sweep with no record.
The estimate is a lower bound (float32 arrays any backend must hold: the training inputs,
the hidden states kept for backpropagation through time, and the held-out inputs), so only
a run that cannot fit is refused; a run that passes may still need more.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import UsageError
from harness.spec import RunSpec
from harness.tasks import Task

FLOAT_BYTES = 4
MEMINFO = Path("/proc/meminfo")


def least_bytes(spec: RunSpec, task: Task) -> int:
    """Bytes a run of ``spec`` must hold at once, at the least."""
    steps = task.length
    training = spec.batch * steps * (task.input_size + spec.hidden)
    held_out = spec.eval_size * steps * task.input_size
    return FLOAT_BYTES * (training + held_out)


def available_bytes() -> int | None:
    """Memory available to a new process (Linux's MemAvailable; elsewhere the physical
    memory), or None where neither is known."""
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits(spec: RunSpec, task: Task, available: int | None = None) -> None:
    """UsageError, with both figures, if the run cannot fit in the memory available."""
    available = available_bytes() if available is None else available
    needed = least_bytes(spec, task)
    if available is not None and needed > available:
        raise UsageError(
            f"{spec.title}: needs at least {_gib(needed)} of memory (batch {spec.batch} × "
            f"{task.length} time steps × hidden and input sizes, in float32), more than the "
            f"{_gib(available)} available; use a smaller --batch, --length or --eval-size")


def _gib(size: int) -> str:
    return f"{size / 2**30:,.1f} GiB"
