"""The canonical weights of the leaky LN-RNN: the LN-RNN's, plus the leak.

``W`` [input, H], ``U`` [H, H], ``b`` [H], ``gamma`` and ``beta`` [H] as for bench's
``lnrnn``; ``leak`` [H] holds each unit's leak logit (its share of the previous state is
``sigmoid(leak)``).
"""

from __future__ import annotations

import numpy as np

from harness.canonical import Weights, init_lnrnn


def init_leaky_ln(input_size: int, hidden: int, rng: np.random.Generator) -> Weights:
    """The LN-RNN's initialisation (Glorot ``W``, orthogonal ``U``, unit scale) and zero
    leak logits: each unit starts by keeping half of its previous state."""
    weights = init_lnrnn(input_size, hidden, rng)
    weights["leak"] = np.zeros(hidden, np.float32)
    return weights
