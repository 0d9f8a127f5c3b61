"""Canonical weight layout and seeded initialisation shared by every backend.

Layout (docs/architecture.md §5): input kernel ``W`` [input, gates*H], recurrent kernel ``U``
[H, gates*H], bias ``b`` [gates*H]. Gate blocks are stored in this order:

* ``rnn`` / ``lnrnn``: one block (``lnrnn`` adds LayerNorm ``gamma``/``beta`` [H]);
* ``lstm``: i, f, g, o;
* ``gru`` (reset-after): r, z, n, with a second, recurrent bias ``b_rec`` [3H], because
  the candidate's recurrent bias sits inside the reset product.

Weights are drawn in numpy from the run's seed (Glorot-uniform ``W``, orthogonal ``U``,
zero biases, forget-gate bias 1 for LSTM) and loaded into whichever backend runs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Weights = dict[str, np.ndarray]
Initializer = Callable[[int, int, np.random.Generator], Weights]

def glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A [rows, cols] matrix with orthonormal rows (or columns, if rows > cols)."""
    tall = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(tall)
    q *= np.sign(np.diag(r))
    return (q.T if rows < cols else q).astype(np.float32)


def gated_weights(gates: int, input_size: int, hidden: int, rng: np.random.Generator) -> Weights:
    return {
        "W": glorot_uniform(rng, input_size, gates * hidden),
        "U": orthogonal(rng, hidden, gates * hidden),
        "b": np.zeros(gates * hidden, np.float32),
    }


def init_rnn(input_size: int, hidden: int, rng: np.random.Generator) -> Weights:
    return gated_weights(1, input_size, hidden, rng)


def init_lnrnn(input_size: int, hidden: int, rng: np.random.Generator) -> Weights:
    weights = gated_weights(1, input_size, hidden, rng)
    weights["gamma"] = np.ones(hidden, np.float32)
    weights["beta"] = np.zeros(hidden, np.float32)
    return weights


def init_lstm(input_size: int, hidden: int, rng: np.random.Generator) -> Weights:
    weights = gated_weights(4, input_size, hidden, rng)
    weights["b"][hidden : 2 * hidden] = 1.0  # forget gate
    return weights


def init_gru(input_size: int, hidden: int, rng: np.random.Generator) -> Weights:
    weights = gated_weights(3, input_size, hidden, rng)
    weights["b_rec"] = np.zeros(3 * hidden, np.float32)
    return weights


def init_readout(hidden: int, outputs: int, rng: np.random.Generator) -> Weights:
    """The linear read-out on top of every cell: Glorot-uniform kernel, zero bias."""
    return {"kernel": glorot_uniform(rng, hidden, outputs), "bias": np.zeros(outputs, np.float32)}


def probe_weights(initializer: Initializer, input_size: int, hidden: int,
                  rng: np.random.Generator) -> Weights:
    """The cell's canonical initial weights with every vector (biases, LayerNorm scale and
    offset) moved by U(-0.5, 0.5): zero biases and unit scales would hide layout bugs."""
    weights = initializer(input_size, hidden, rng)
    return {
        name: (value + rng.uniform(-0.5, 0.5, value.shape)).astype(np.float32)
        if value.ndim == 1 else value
        for name, value in weights.items()
    }
