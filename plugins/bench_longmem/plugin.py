"""The plugins of the long-memory cells (docs/cells.md), one per backend, since a plugin
that registered a cell for a backend left out by ``BENCH_PLUGINS`` would be in error:
entry point ``longmem_torch`` (:data:`torch_cells`) and ``longmem_keras``
(:data:`keras_cells`). Each cell comes with its numpy equations from
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

SCAN_OPTIONS = ("dropout",)
"""No recurrent kernel reads a scan cell's state: recurrent dropout has nothing to mask."""
SCAN_KERNELS = ("framework", "bench")


@dataclass(frozen=True)
class CellEntry:
    """What is true of a long-memory cell in every backend."""

    name: str
    description: str
    initializer: Initializer
    reference: ReferenceEquations
    options: tuple[str, ...] = STANDARD_OPTIONS
    torch_kernels: tuple[str, ...] = ("framework",)
    """With ``bench`` where the cell also runs as a parallel scan in torch (the default;
    ``framework`` is then its step loop, see ``bench_longmem.torch_cells``)."""


CELLS = (
    CellEntry("indrnn", "IndRNN (Li et al. 2018): relu, diagonal recurrent weights",
              layout.init_indrnn, longmem_reference.indrnn),
    CellEntry("exprnn", "expRNN (Lezcano-Casado & Martinez-Rubio 2019): orthogonal "
              "recurrent matrix expm(S), S skew-symmetric; modReLU",
              layout.init_exprnn, longmem_reference.exprnn),
    CellEntry("mingru", "minGRU (Feng et al. 2024): gates from the input only, trained with "
              "a parallel scan", layout.init_mingru, longmem_reference.mingru, SCAN_OPTIONS,
              SCAN_KERNELS),
    CellEntry("minlstm", "minLSTM (Feng et al. 2024): normalised forget and input gates from "
              "the input only, trained with a parallel scan", layout.init_minlstm,
              longmem_reference.minlstm, SCAN_OPTIONS, SCAN_KERNELS),
    CellEntry("lru", "Linear Recurrent Unit (Orvieto et al. 2023): diagonal complex linear "
              "recurrence, exponential parametrisation, real read-out", layout.init_lru,
              longmem_reference.lru, SCAN_OPTIONS, SCAN_KERNELS),
)


class BackendCells:
    """The hook that registers every cell of :data:`CELLS` for one backend."""

    def __init__(self, backend: str, factory: LazyFunction, scan_kernels: bool):
        self.backend = backend
        self.factory = factory
        self.scan_kernels = scan_kernels

    @hookimpl
    def bench_register_cells(self, register: Callable[[Cell], None]) -> None:
        for cell in CELLS:
            register(Cell(name=cell.name, backend=self.backend,
                          factory=partial(self.factory, cell.name),
                          initializer=cell.initializer, options=cell.options,
                          kernels=cell.torch_kernels if self.scan_kernels else ("framework",),
                          description=cell.description, reference=cell.reference))


torch_cells = BackendCells("torch", LazyFunction("bench_longmem.torch_cells:build_cell"),
                           scan_kernels=True)
keras_cells = BackendCells("keras", LazyFunction("bench_longmem.keras_cells:build_cell"),
                           scan_kernels=False)
