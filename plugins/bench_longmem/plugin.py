"""The plugin module (entry point ``bench = longmem``): registers the long-memory cells
(docs/cells.md) for bench's own backends, each with its numpy equations from
:mod:`harness.longmem_reference` for the kit's ``reference`` check.

Like every plugin module it imports no framework: the factories are imported on first call
(``LazyFunction``), which also keeps them picklable for process executors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from bench_longmem import layout
from harness import hookimpl, longmem_reference
from harness.canonical import Initializer
from harness.catalogue import ReferenceEquations
from harness.lazy import LazyFunction
from harness.registry import STANDARD_OPTIONS, Cell

build_torch_cell = LazyFunction("bench_longmem.torch_cells:build_cell")
SCAN_OPTIONS = ("dropout",)
"""No recurrent kernel reads a scan cell's state: recurrent dropout has nothing to mask."""
SCAN_KERNELS = ("framework", "bench")


@dataclass(frozen=True)
class LongMemoryCell:
    name: str
    description: str
    initializer: Initializer
    reference: ReferenceEquations
    options: tuple[str, ...] = STANDARD_OPTIONS
    torch_kernels: tuple[str, ...] = ("framework",)
    """``bench`` where the cell also runs as a parallel scan (``bench_longmem.torch_cells``)."""


CELLS = (
    LongMemoryCell("indrnn", "IndRNN (Li et al. 2018): relu, diagonal recurrent weights",
                   layout.init_indrnn, longmem_reference.indrnn),
    LongMemoryCell("exprnn", "expRNN (Lezcano-Casado & Martinez-Rubio 2019): orthogonal "
                   "recurrent matrix expm(S), S skew-symmetric; modReLU",
                   layout.init_exprnn, longmem_reference.exprnn),
    LongMemoryCell("mingru", "minGRU (Feng et al. 2024): gates from the input only, "
                   "trained with a parallel log-space scan", layout.init_mingru,
                   longmem_reference.mingru, SCAN_OPTIONS, SCAN_KERNELS),
    LongMemoryCell("minlstm", "minLSTM (Feng et al. 2024): normalised forget and input "
                   "gates from the input only, trained with a parallel log-space scan",
                   layout.init_minlstm, longmem_reference.minlstm, SCAN_OPTIONS, SCAN_KERNELS),
    LongMemoryCell("lru", "Linear Recurrent Unit (Orvieto et al. 2023): diagonal complex "
                   "linear recurrence, exponential parametrisation, real read-out",
                   layout.init_lru, longmem_reference.lru, SCAN_OPTIONS, SCAN_KERNELS),
)


@hookimpl
def bench_register_cells(register: Callable[[Cell], None]) -> None:
    for cell in CELLS:
        register(Cell(name=cell.name, backend="torch",
                      factory=partial(build_torch_cell, cell.name),
                      initializer=cell.initializer, options=cell.options,
                      kernels=cell.torch_kernels, description=cell.description,
                      reference=cell.reference))
