"""The canonical weights of the long-memory cells and their seeded ("canonical")
initialisation; the equations are in :mod:`harness.longmem_reference`, and what each
initialisation follows (the paper's, or bench's Glorot input kernel) is in docs/cells.md.

* ``indrnn``: ``W`` [input, H], ``u`` [H] (the diagonal recurrent weights), ``b`` [H].
* ``exprnn``: ``W`` [input, H], ``skew`` [H(H-1)/2] (the strictly upper triangle of the
  skew-symmetric S whose exponential is the recurrent matrix, row by row), ``b`` [H] (the
  modReLU bias).
* ``mingru``: ``W`` [input, 2H], ``b`` [2H], gate blocks z, h.
* ``minlstm``: ``W`` [input, 3H], ``b`` [3H], gate blocks f, i, h.
* ``lru``: ``W`` [input, 2H] (B's real and imaginary blocks), ``C`` [2H, H] (C's real and
  imaginary row blocks), ``D`` [input, H], ``nu_log``, ``theta_log``, ``gamma_log`` [H].
"""

from __future__ import annotations

import numpy as np

from harness.canonical import Weights, glorot_uniform

SHAPES: dict[str, dict[str, tuple[str, ...]]] = {
    "indrnn": {"W": ("input", "H"), "u": ("H",), "b": ("H",)},
    "exprnn": {"W": ("input", "H"), "skew": ("skew",), "b": ("H",)},
    "mingru": {"W": ("input", "2H"), "b": ("2H",)},
    "minlstm": {"W": ("input", "3H"), "b": ("3H",)},
    "lru": {"W": ("input", "2H"), "C": ("2H", "H"), "D": ("input", "H"),
            "nu_log": ("H",), "theta_log": ("H",), "gamma_log": ("H",)},
}
"""Each cell's canonical weights, their dimensions in words (:func:`shape_of`): the backends
create their parameters from it."""


def shape_of(dims: tuple[str, ...], input_size: int, hidden: int) -> tuple[int, ...]:
    """``input``, ``H``, ``2H``, ``3H`` and ``skew`` (H(H-1)/2) as numbers."""
    sizes = {"input": input_size, "H": hidden, "2H": 2 * hidden, "3H": 3 * hidden,
             "skew": hidden * (hidden - 1) // 2}
    return tuple(sizes[d] for d in dims)


LRU_RADIUS = (0.9, 0.999)
"""|lambda| is drawn uniformly on the ring of these radii (the paper's long-range setting)."""
LRU_MAX_PHASE = 2 * np.pi


def _float32(weights: dict[str, np.ndarray]) -> Weights:
    return {name: np.asarray(value, np.float32) for name, value in weights.items()}


def init_indrnn(input_size: int, hidden: int, rng: np.random.Generator) -> Weights:
    """Glorot ``W``, ``u`` ~ U(0, 1) (inside the paper's bound |u| <= 2^(1/T) for every
    length T), zero bias."""
    return _float32({"W": glorot_uniform(rng, input_size, hidden),
                     "u": rng.uniform(0.0, 1.0, hidden), "b": np.zeros(hidden)})


def init_exprnn(input_size: int, hidden: int, rng: np.random.Generator) -> Weights:
    """The paper's: He-normal ``W``; Henaff's initialisation of S (2x2 rotation blocks on
    the diagonal, angles ~ U(-pi, pi)); modReLU bias ~ U(-0.01, 0.01)."""
    upper = np.zeros((hidden, hidden))
    blocks = np.arange(0, hidden - 1, 2)
    upper[blocks, blocks + 1] = rng.uniform(-np.pi, np.pi, len(blocks))
    return _float32({
        "W": rng.normal(0.0, np.sqrt(2.0 / input_size), (input_size, hidden)),
        "skew": upper[np.triu_indices(hidden, 1)],
        "b": rng.uniform(-0.01, 0.01, hidden),
    })


def init_mingru(input_size: int, hidden: int, rng: np.random.Generator) -> Weights:
    """Glorot ``W``, zero biases."""
    return _float32({"W": glorot_uniform(rng, input_size, 2 * hidden),
                     "b": np.zeros(2 * hidden)})


def init_minlstm(input_size: int, hidden: int, rng: np.random.Generator) -> Weights:
    """Glorot ``W``, zero biases."""
    return _float32({"W": glorot_uniform(rng, input_size, 3 * hidden),
                     "b": np.zeros(3 * hidden)})


def init_lru(input_size: int, hidden: int, rng: np.random.Generator) -> Weights:
    """The paper's: |lambda| uniform on the ring :data:`LRU_RADIUS`, phase ~ U(0,
    :data:`LRU_MAX_PHASE`), gamma = sqrt(1 - |lambda|^2) (normalised drive), B ~ complex
    normal / sqrt(2 input), C ~ complex normal / sqrt(H); Glorot ``D``."""
    low, high = LRU_RADIUS
    radius = np.sqrt(rng.uniform(low**2, high**2, hidden))
    return _float32({
        "W": rng.normal(0.0, 1.0 / np.sqrt(2 * input_size), (input_size, 2 * hidden)),
        "C": rng.normal(0.0, 1.0 / np.sqrt(hidden), (2 * hidden, hidden)),
        "D": glorot_uniform(rng, input_size, hidden),
        "nu_log": np.log(-np.log(radius)),
        "theta_log": np.log(LRU_MAX_PHASE * rng.uniform(0.0, 1.0, hidden)),
        "gamma_log": np.log(np.sqrt(1.0 - radius**2)),
    })
