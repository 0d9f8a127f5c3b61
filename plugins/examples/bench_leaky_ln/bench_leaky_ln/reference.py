"""The leaky LN-RNN's equations in plain numpy, for the conformance kit's ``reference``
check: the plugin registers them with the cell (``Cell.reference``), so ``bench check``
uses them."""

from __future__ import annotations

import numpy as np

from harness.canonical import Weights
from harness.reference import LAYER_NORM_EPSILON


def leaky_ln(x: np.ndarray, w: Weights) -> tuple[np.ndarray, np.ndarray]:
    """Outputs [batch, time, H] and the final h for inputs [batch, time, input]."""
    keep = 1.0 / (1.0 + np.exp(-w["leak"]))
    h = np.zeros((x.shape[0], w["U"].shape[0]))
    outputs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ w["W"] + h @ w["U"] + w["b"]
        normed = (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True)
                                                           + LAYER_NORM_EPSILON)
        h = keep * h + (1.0 - keep) * np.tanh(normed * w["gamma"] + w["beta"])
        outputs.append(h)
    return np.stack(outputs, 1), h
