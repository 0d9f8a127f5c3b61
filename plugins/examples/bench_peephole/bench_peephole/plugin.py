"""The plugin module (entry point ``bench = peephole``): registers ``torch:peephole``.

It registers a cell only, with its numpy equations for the kit's ``reference`` check; the
backend is bench's own ``torch``. Like every plugin module it must not import the framework,
so the factory imports the torch module on first call (and, being a module-level function,
stays picklable for process executors).
"""

from __future__ import annotations

from collections.abc import Callable

from bench_peephole.layout import init_peephole
from bench_peephole.reference import peephole
from harness import hookimpl
from harness.registry import STANDARD_OPTIONS, Cell


def build_cell(input_size: int, hidden: int, options: dict):
    from bench_peephole.cell import PeepholeLSTM

    return PeepholeLSTM(input_size, hidden, options)


@hookimpl
def bench_register_cells(register: Callable[[Cell], None]) -> None:
    register(
        Cell(
            name="peephole",
            backend="torch",
            factory=build_cell,
            initializer=init_peephole,
            options=STANDARD_OPTIONS,
            reference=peephole,
            description="peephole LSTM (Gers & Schmidhuber 2000): the gates read the cell "
            "state",
        )
    )
