"""The standard cells, each declared once: what every backend must compute for its name.

An entry holds everything that is true of the cell whichever framework runs it: its gate
blocks in the canonical order, its canonical initializer, its reference equations, a
description, and whether a fused framework kernel exists for it. A backend provides a factory
per name (:func:`standard_cells` turns its map into registry entries) and nothing else about
the cell; ``bench check`` reports a standard cell a backend lacks. To add a standard cell:
its initializer in :mod:`harness.canonical`, its equations in :mod:`harness.reference`, an
entry here, and a factory in each backend's cell module.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness import canonical, reference
from harness.canonical import Initializer, Weights
from harness.registry import STANDARD_OPTIONS, Cell

ReferenceEquations = Callable[[np.ndarray, Weights], tuple[np.ndarray, Any]]


@dataclass(frozen=True)
class StandardCell:
    name: str
    description: str
    gates: tuple[str, ...]
    """The gate blocks of ``W``, ``U`` and ``b``, in the canonical order."""
    initializer: Initializer
    reference: ReferenceEquations
    """Numpy forward pass ``(x, weights) -> (outputs, final_state)``."""
    fused_kernel: bool
    """A framework ships a fused kernel for it (cuDNN, ``nn.LSTM``); a backend runs it where
    it has one and the options allow (see ``speed.kernel_path`` in a record)."""

    @property
    def width(self) -> int:
        """Number of gate blocks: the columns of ``W`` and ``U`` are ``width * hidden``."""
        return len(self.gates)


STANDARD_CELLS: dict[str, StandardCell] = {cell.name: cell for cell in (
    StandardCell("rnn", "tanh RNN", ("h",), canonical.init_rnn, reference.rnn, True),
    StandardCell("lnrnn", "layer-normalised tanh RNN (Géron, ch. 15)", ("h",),
                 canonical.init_lnrnn, reference.lnrnn, False),
    StandardCell("lstm", "LSTM, gates i, f, g, o", ("i", "f", "g", "o"), canonical.init_lstm,
                 reference.lstm, True),
    StandardCell("gru", "GRU, reset-after, gates r, z, n", ("r", "z", "n"), canonical.init_gru,
                 reference.gru, True),
)}


def standard_cells(backend: str, factories: Mapping[str, Callable],
                   fused: Collection[str] | None = None,
                   kernels: tuple[str, ...] = ("framework",),
                   kernel_devices: Mapping[str, tuple[str, ...]] | None = None) -> list[Cell]:
    """The registry entries of a backend's standard cells, one per factory.

    :param factories: standard cell name -> the backend's factory of it.
    :param fused: the names its framework runs on a fused kernel where the options allow
        (default: every cell with a :attr:`StandardCell.fused_kernel`).
    :param kernels: the ``--kernel`` choices its cells honour.
    :param kernel_devices: :attr:`Cell.kernel_devices`.
    """
    unknown = sorted(set(factories) - set(STANDARD_CELLS))
    if unknown:
        raise ValueError(f"not a standard cell: {unknown[0]!r} (standard: "
                         f"{', '.join(STANDARD_CELLS)}); register it as a Cell of its own")
    return [
        Cell(name=name, backend=backend, factory=factory,
             initializer=STANDARD_CELLS[name].initializer, options=STANDARD_OPTIONS,
             fused=STANDARD_CELLS[name].fused_kernel if fused is None else name in fused,
             kernels=kernels, kernel_devices=dict(kernel_devices or {}), framework_init=True,
             description=STANDARD_CELLS[name].description)
        for name, factory in factories.items()
    ]
