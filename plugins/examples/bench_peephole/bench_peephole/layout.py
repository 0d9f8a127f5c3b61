"""The canonical weights of the peephole cell: the LSTM's, plus the peepholes.

``W`` [input, 4H], ``U`` [H, 4H] and ``b`` [4H] with gate blocks i, f, g, o, as for bench's
``lstm``; ``p`` [3H] holds the diagonal peephole weights p_i, p_f, p_o.
"""

from __future__ import annotations

import numpy as np

from harness.canonical import Weights, init_lstm

PEEPHOLES = ("i", "f", "o")


def init_peephole(input_size: int, hidden: int, rng: np.random.Generator) -> Weights:
    """The LSTM's initialisation (Glorot ``W``, orthogonal ``U``, forget bias 1) and zero
    peepholes, so that training starts from a plain LSTM."""
    weights = init_lstm(input_size, hidden, rng)
    weights["p"] = np.zeros(len(PEEPHOLES) * hidden, np.float32)
    return weights
