"""The peephole equations in plain numpy, for the conformance kit's ``reference`` check: the
plugin registers them with the cell (``Cell.reference``), so ``bench check`` uses them."""

from __future__ import annotations

import numpy as np

from harness.canonical import Weights


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def peephole(x: np.ndarray, w: Weights) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Outputs [batch, time, H] and the final (h, c) for inputs [batch, time, input]."""
    hidden = w["U"].shape[0]
    p_i, p_f, p_o = (w["p"][k * hidden : (k + 1) * hidden] for k in range(3))
    h = np.zeros((x.shape[0], hidden))
    c = np.zeros_like(h)
    outputs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ w["W"] + h @ w["U"] + w["b"]
        z_i, z_f, z_g, z_o = (z[:, k * hidden : (k + 1) * hidden] for k in range(4))
        i = _sigmoid(z_i + p_i * c)
        f = _sigmoid(z_f + p_f * c)
        c = f * c + i * np.tanh(z_g)
        h = _sigmoid(z_o + p_o * c) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, 1), (h, c)
