"""One forward and backward pass of a bare cell (:attr:`harness.registry.Backend.probe_cell`),
for the cross-backend parity check and the conformance kit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from bench_torch.cells import use_kernel
from bench_torch.weights import export_grads, to_numpy
from harness.canonical import Weights
from harness.errors import UsageError
from harness.registry import STANDARD_OPTIONS, Cell
from harness.trainer import CellProbe


def probe_cell(cell: Cell, weights: Weights, inputs: np.ndarray, cotangent: np.ndarray,
               options: Mapping[str, Any], kernel: str = "auto") -> CellProbe:
    """Run ``cell`` in training mode on the CPU in float32 with the path ``kernel`` picks
    there; the loss is ``sum(outputs * cotangent)``. The cell module must expose
    ``canonical_parameters()`` (see :mod:`bench_torch.cells`)."""
    dropped = [name for name in STANDARD_OPTIONS if options.get(name)]
    if dropped:
        raise UsageError(f"a cell probe is deterministic: {dropped[0]} must be 0")
    module = cell.factory(inputs.shape[2], cotangent.shape[2], dict(options))
    use_kernel(module, kernel, "cpu")
    module.load_canonical(weights)
    module.train()
    x = torch.tensor(inputs, dtype=torch.float32, requires_grad=True)
    outputs, state = module(x)
    (outputs * torch.tensor(cotangent, dtype=torch.float32)).sum().backward()
    states = state if isinstance(state, tuple) else (state,)
    return CellProbe(
        outputs=to_numpy(outputs),
        final_state=tuple(to_numpy(s) for s in states),
        input_grad=to_numpy(x.grad),
        weight_grads=export_grads(module.canonical_parameters()),
    )
