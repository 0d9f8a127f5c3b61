"""One forward and backward pass of a bare cell, for cross-backend parity checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench_keras.quiet_import import keras

import numpy as np
from keras import ops

from bench_keras import convert
from bench_keras.framework import float32_layers, keras_device, value_and_grad
from harness.canonical import Weights
from harness.errors import UsageError
from harness.options import CellOptions
from harness.registry import Cell
from harness.trainer import CellProbe


def probe_cell(cell: Cell, weights: Weights, inputs: np.ndarray, cotangent: np.ndarray,
               options: Mapping[str, Any]) -> CellProbe:
    """Outputs, final state and the gradients of ``sum(outputs * cotangent)`` w.r.t. the
    inputs and every canonical weight, on the CPU in float32, in training mode."""
    parsed = CellOptions.parse(options)
    if parsed.dropout or parsed.recurrent_dropout:
        raise UsageError(f"probing {cell.qualified_name!r} needs dropout and "
                         "recurrent_dropout 0: masks differ between backends")
    with keras.device(keras_device("cpu")), float32_layers():
        layer = cell.factory(inputs.shape[-1], cotangent.shape[-1], dict(options))
        layer.load_canonical(weights)
        layer.select_kernel("cpu")
        x = ops.convert_to_tensor(np.asarray(inputs, np.float32))
        weighting = ops.convert_to_tensor(np.asarray(cotangent, np.float32))
        variables = layer.keras_variables()

        def loss(x):
            outputs, state = layer(x, training=True)
            return ops.sum(outputs * weighting), (outputs, state)

        _, (outputs, state), grads, (input_grad,) = value_and_grad(
            loss, list(variables.values()), [x]
        )
    numpy = ops.convert_to_numpy
    return CellProbe(
        outputs=numpy(outputs),
        final_state=tuple(numpy(s) for s in state),
        input_grad=numpy(input_grad),
        weight_grads=convert.to_canonical(
            layer.cell_name, {name: numpy(g) for name, g in zip(variables, grads, strict=True)}
        ),
    )
