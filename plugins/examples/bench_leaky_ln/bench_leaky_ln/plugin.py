"""The plugin module (entry point ``bench = leakyln``): registers ``keras:leakyln``.

It registers a cell only, with its numpy equations for the kit's ``reference`` check; the
backend is bench's own ``keras``. Like every plugin module it must not import the
framework, so the factory imports the Keras module on first call (and, being a module-level
function, stays picklable for process executors).
"""

from __future__ import annotations

from collections.abc import Callable

from bench_leaky_ln.layout import init_leaky_ln
from bench_leaky_ln.reference import leaky_ln
from harness import hookimpl
from harness.registry import STANDARD_OPTIONS, Cell


def build_cell(input_size: int, hidden: int, options: dict):
    from bench_keras.cells import recurrent_layer
    from bench_leaky_ln.cell import LeakyLNCell

    return recurrent_layer("leakyln", LeakyLNCell, input_size, hidden, options)


@hookimpl
def bench_register_cells(register: Callable[[Cell], None]) -> None:
    register(
        Cell(
            name="leakyln",
            backend="keras",
            factory=build_cell,
            initializer=init_leaky_ln,
            options=STANDARD_OPTIONS,
            reference=leaky_ln,
            description="layer-normalised tanh RNN whose units leak: each keeps a learned "
            "share of its previous state",
        )
    )
