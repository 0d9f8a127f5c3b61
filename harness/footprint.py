"""A run's least memory, checked against what the machine has before any work starts.

Without the check, ``--length 1000000000``, ``--batch 10000000`` or ``--hidden 1000000``
start and die in an allocation, or the kernel's out-of-memory killer ends the whole sweep
with no record. The estimate is a lower bound: the arrays any backend must hold at once, in
float32 (class targets in int64):

- the weights of the cell and of the read-out, their gradients and the optimiser's state
  (:data:`OPTIMIZER_STATE_COPIES`: Adam keeps two more copies of every weight);
- the training batch: its inputs and targets, the hidden states kept for backpropagation
  through time, and the read-out's outputs;
- the held-out set's inputs and targets.

Nothing else counts (a framework's workspaces, the gates an LSTM keeps for its backward
pass, the evaluation's outputs), so only a run that cannot fit is refused; a run that passes
may still need more.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import UsageError
from harness.registry import Cell
from harness.spec import RunSpec
from harness.tasks import Task

FLOAT_BYTES = 4
INDEX_BYTES = 8
"""A class target (int64)."""
MEMINFO = Path("/proc/meminfo")
OPTIMIZER_STATE_COPIES = {"adam": 2, "rmsprop": 1, "sgd": 0}
"""Arrays the size of the weights that each optimiser of
:data:`harness.trainer.OPTIMIZER_SETTINGS` keeps: Adam's two moment estimates, RMSprop's
mean square."""
PROBE_HIDDEN = (2, 3, 4)
"""The hidden sizes at which :func:`weight_count` draws a cell's weights."""


@dataclass(frozen=True)
class Footprint:
    """Bytes a run holds at once, at the least, by what holds them."""

    weights: int
    """The weights, their gradients and the optimiser's state."""
    training: int
    """One training step's batch: inputs, targets, hidden states, outputs."""
    held_out: int
    """The held-out set's inputs and targets, kept for the whole run."""

    @property
    def total(self) -> int:
        return self.weights + self.training + self.held_out


def weight_count(cell: Cell, input_size: int, hidden: int) -> int:
    """The number of the cell's canonical weights at ``hidden``, without drawing weights of
    a size that may not fit: the quadratic through the counts its initialiser gives at the
    :data:`PROBE_HIDDEN` sizes. Exact for any cell whose weights are sized by the input size
    times the hidden size, the hidden size squared (or H(H-1)/2) and the like, as every cell
    bench ships is."""
    rng = np.random.default_rng(0)
    c2, c3, c4 = (sum(np.size(w) for w in cell.initializer(input_size, size, rng).values())
                  for size in PROBE_HIDDEN)
    h = hidden  # Lagrange's interpolation through (2, c2), (3, c3), (4, c4)
    return max(0, (c2 * (h - 3) * (h - 4) - 2 * c3 * (h - 2) * (h - 4)
                   + c4 * (h - 2) * (h - 3)) // 2)


def footprint(spec: RunSpec, task: Task, cell: Cell) -> Footprint:
    """The least memory of a run of ``spec``."""
    weights = (weight_count(cell, task.input_size, spec.hidden)
               + (spec.hidden + 1) * task.output_size)  # the read-out's kernel and bias
    copies = 2 + OPTIMIZER_STATE_COPIES[spec.optimizer]  # the weights and their gradients
    positions = task.length if task.readout == "every_step" else 1
    inputs = task.length * task.input_size * FLOAT_BYTES
    targets = (positions * INDEX_BYTES if task.loss == "xent"
               else task.output_size * FLOAT_BYTES)
    states = task.length * spec.hidden * FLOAT_BYTES
    outputs = positions * task.output_size * FLOAT_BYTES
    return Footprint(weights=weights * copies * FLOAT_BYTES,
                     training=spec.batch * (inputs + targets + states + outputs),
                     held_out=spec.eval_size * (inputs + targets))


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


def shortfall(spec: RunSpec, task: Task, cell: Cell,
              available: int | None = None) -> tuple[Footprint, int] | None:
    """The run's least memory and the memory available (default: :func:`available_bytes`)
    where the one exceeds the other, else None."""
    available = available_bytes() if available is None else available
    least = footprint(spec, task, cell)
    return (least, available) if available is not None and least.total > available else None


def check_fits(spec: RunSpec, task: Task, cell: Cell, available: int | None = None) -> None:
    """UsageError, with the figures, if the run cannot fit in the memory available."""
    if (short := shortfall(spec, task, cell, available)) is None:
        return
    least, available = short
    raise UsageError(
        f"{spec.title}: needs at least {size_text(least.total)} of memory (weights with "
        f"gradients and {spec.optimizer} state {size_text(least.weights)} at --hidden "
        f"{spec.hidden}; training batch {size_text(least.training)} at --batch {spec.batch} × "
        f"{task.length} time steps; held-out set {size_text(least.held_out)} at --eval-size "
        f"{spec.eval_size}), more than the {size_text(available)} available; use a smaller "
        "--hidden, --batch, --length or --eval-size")


def size_text(size: int) -> str:
    """Bytes in GiB, or in MiB or KiB below a GiB (so a small figure never reads 0.0)."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size / 2**10:,.1f} KiB"
