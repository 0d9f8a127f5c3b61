"""Canonical weights (:mod:`harness.canonical`) <-> the variables of Keras's cells.

Keras keeps ``kernel`` = W [input, gates*H] and ``recurrent_kernel`` = U [H, gates*H] in the
canonical orientation, and its LSTM gate order i, f, c, o is the canonical i, f, g, o, so
``rnn``, ``lstm`` and ``lnrnn`` convert by renaming alone (``lnrnn``'s LayerNormalization
holds ``gamma``/``beta``). Keras's GRU orders its gate blocks z, r, h where the canonical
order is r, z, n, and keeps its two biases as one [2, 3H] ``bias``: row 0 the input bias
(canonical ``b``), row 1 the recurrent bias (canonical ``b_rec``).

Every conversion is a renaming or a permutation, so the same functions convert gradients.
Keras-side arrays are keyed by variable name (``kernel``, ``recurrent_kernel``, ``bias``,
``gamma``, ``beta``). Any other cell name converts by :data:`RENAMES` too, and a variable
named otherwise (a plugin cell's own weight, such as ``leak``) keeps its name on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from harness.canonical import Weights

KERAS_GRU_BLOCKS = (1, 0, 2)
"""Keras GRU gate block k holds canonical block ``KERAS_GRU_BLOCKS[k]``: z, r, h <- r, z, n."""
CANONICAL_GRU_BLOCKS = tuple(int(k) for k in np.argsort(KERAS_GRU_BLOCKS))

RENAMES = {"W": "kernel", "U": "recurrent_kernel", "b": "bias", "gamma": "gamma", "beta": "beta"}


def to_keras(cell: str, weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Canonical arrays of ``cell`` as arrays keyed by Keras variable name."""
    if cell != "gru":
        return {RENAMES.get(name, name): np.asarray(value) for name, value in weights.items()}
    return {
        "kernel": _permute_blocks(weights["W"], KERAS_GRU_BLOCKS),
        "recurrent_kernel": _permute_blocks(weights["U"], KERAS_GRU_BLOCKS),
        "bias": _permute_blocks(np.stack([weights["b"], weights["b_rec"]]), KERAS_GRU_BLOCKS),
    }


def to_canonical(cell: str, arrays: Mapping[str, np.ndarray]) -> Weights:
    """Arrays keyed by Keras variable name as the canonical weights of ``cell``."""
    if cell != "gru":
        keras_names = {keras: canonical for canonical, keras in RENAMES.items()}
        return {keras_names.get(name, name): np.asarray(value) for name, value in arrays.items()}
    bias = _permute_blocks(arrays["bias"], CANONICAL_GRU_BLOCKS)
    return {
        "W": _permute_blocks(arrays["kernel"], CANONICAL_GRU_BLOCKS),
        "U": _permute_blocks(arrays["recurrent_kernel"], CANONICAL_GRU_BLOCKS),
        "b": bias[0],
        "b_rec": bias[1],
    }


def _permute_blocks(array: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """Reorder the equal gate blocks of the last axis: block k of the result is block
    ``order[k]`` of ``array``."""
    blocks = np.split(np.asarray(array), len(order), axis=-1)
    return np.concatenate([blocks[k] for k in order], axis=-1)
