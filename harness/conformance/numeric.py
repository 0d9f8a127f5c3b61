"""Finite differences: the gradients a cell's outputs imply, to hold its backprop against.

Two uses: in float64 on a numpy reference (every element, for :func:`reference_probe`),
and along one random direction on a backend's own float32 probe (any cell, no reference
needed), where the step is large enough for float32 outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.canonical import Weights
from harness.trainer import CellProbe

REFERENCE_STEP = 1e-6
"""Central-difference step on float64 reference equations."""
PROBE_STEP = 1e-3
"""Central-difference step on a float32 probe: rounding and curvature errors both ~1e-4."""
PROBE_RTOL = 2e-2
PROBE_ATOL = 1e-3


def weighted_sum(outputs: np.ndarray, cotangent: np.ndarray) -> float:
    """The probe's loss, ``sum(outputs * cotangent)``, in float64."""
    return float(np.sum(np.asarray(outputs, np.float64) * cotangent))


def central_difference(loss: Callable[[float], float], step: float) -> float:
    """d loss(s) / ds at s = 0."""
    return (loss(step) - loss(-step)) / (2.0 * step)


def directional_derivatives_agree(backprop: float, numeric: float) -> bool:
    return abs(backprop - numeric) <= PROBE_ATOL + PROBE_RTOL * max(abs(backprop), abs(numeric))


def _gradient(loss: Callable[[], float], array: np.ndarray) -> np.ndarray:
    """d loss / d array, element by element; ``loss`` reads ``array``, changed in place."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]

        def shifted(step: float, index=index, saved=saved) -> float:
            array[index] = saved + step
            return loss()

        grad[index] = central_difference(shifted, REFERENCE_STEP)
        array[index] = saved
    return grad


def reference_probe(equations: Callable, weights: Weights, inputs: np.ndarray,
                    cotangent: np.ndarray) -> CellProbe:
    """What a probe of a cell obeying ``equations`` returns, computed in float64."""
    w = {name: np.array(value, np.float64) for name, value in weights.items()}
    x = np.array(inputs, np.float64)
    cot = np.asarray(cotangent, np.float64)

    def loss() -> float:
        return weighted_sum(equations(x, w)[0], cot)

    outputs, state = equations(x, w)
    return CellProbe(
        outputs=outputs,
        final_state=state if isinstance(state, tuple) else (state,),
        input_grad=_gradient(loss, x),
        weight_grads={name: _gradient(loss, value) for name, value in w.items()},
    )
