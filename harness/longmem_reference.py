"""Plain-numpy forward passes of the long-memory cells (docs/cells.md): IndRNN, expRNN,
minGRU, minLSTM and the LRU.

They are not standard cells (no backend must provide them); the ``bench_longmem`` plugin
registers each with its equations here (``Cell.reference``), so ``bench check`` holds every
backend's version to them, gradients included. Conventions as in :mod:`harness.reference`:
``x`` is [batch, time, input], row vectors (``x_t W``), a zero initial state, and each
function returns the outputs [batch, time, H] and the final state.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from harness.canonical import Weights


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _blocks(v: np.ndarray, count: int) -> list[np.ndarray]:
    """The ``count`` gate blocks of the last axis."""
    return np.split(v, count, axis=-1)


def skew_symmetric(skew: np.ndarray, hidden: int) -> np.ndarray:
    """The skew-symmetric [H, H] matrix whose strictly upper triangle, row by row, is
    ``skew`` [H(H-1)/2]."""
    upper = np.zeros((hidden, hidden), skew.dtype)
    upper[np.triu_indices(hidden, 1)] = skew
    return upper - upper.T


def indrnn(x: np.ndarray, w: Weights):
    """IndRNN (Li et al. 2018): h_t = relu(x_t W + u * h_{t-1} + b), u a vector."""
    h = np.zeros((x.shape[0], w["u"].shape[0]))
    outputs = []
    for t in range(x.shape[1]):
        h = np.maximum(x[:, t] @ w["W"] + w["u"] * h + w["b"], 0.0)
        outputs.append(h)
    return np.stack(outputs, 1), h


def modrelu(z: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """sign(z) * relu(|z| + b) (Arjovsky et al. 2016), the expRNN's activation."""
    return np.sign(z) * np.maximum(np.abs(z) + bias, 0.0)


def exprnn(x: np.ndarray, w: Weights):
    """expRNN (Lezcano-Casado & Martínez-Rubio 2019): h_t = modrelu(x_t W + h_{t-1} R, b),
    with the orthogonal R = expm(S), S the skew-symmetric matrix of ``skew``."""
    hidden = w["b"].shape[0]
    recurrent = expm(skew_symmetric(w["skew"], hidden))
    h = np.zeros((x.shape[0], hidden))
    outputs = []
    for t in range(x.shape[1]):
        h = modrelu(x[:, t] @ w["W"] + h @ recurrent, w["b"])
        outputs.append(h)
    return np.stack(outputs, 1), h


def positive_activation(v: np.ndarray) -> np.ndarray:
    """g(v) = v + 0.5 for v >= 0, sigmoid(v) otherwise: the minGRU/minLSTM candidate
    activation (Feng et al. 2024), positive so that the scan can run in log space."""
    return np.where(v >= 0, v + 0.5, _sigmoid(v))


def _linear_recurrence(keep: np.ndarray, add: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """h_t = keep_t * h_{t-1} + add_t from h_0 = 0, over axis 1: (outputs, final h)."""
    h = np.zeros_like(add[:, 0])
    outputs = []
    for t in range(add.shape[1]):
        h = keep[:, t] * h + add[:, t]
        outputs.append(h)
    return np.stack(outputs, 1), h


def mingru(x: np.ndarray, w: Weights):
    """minGRU (Feng et al. 2024): z_t = sigmoid(x_t W_z + b_z), h~_t = g(x_t W_h + b_h),
    h_t = (1 - z_t) * h_{t-1} + z_t * h~_t; gate blocks z, h."""
    k_z, k_h = _blocks(x @ w["W"] + w["b"], 2)
    z = _sigmoid(k_z)
    return _linear_recurrence(1.0 - z, z * positive_activation(k_h))


def minlstm(x: np.ndarray, w: Weights):
    """minLSTM (Feng et al. 2024): f_t, i_t = sigmoid(x_t W_f + b_f), sigmoid(x_t W_i + b_i),
    normalised to f' = f / (f + i), i' = i / (f + i); h~_t = g(x_t W_h + b_h);
    h_t = f'_t * h_{t-1} + i'_t * h~_t; gate blocks f, i, h."""
    k_f, k_i, k_h = _blocks(x @ w["W"] + w["b"], 3)
    f, i = _sigmoid(k_f), _sigmoid(k_i)
    return _linear_recurrence(f / (f + i), i / (f + i) * positive_activation(k_h))


def lru(x: np.ndarray, w: Weights):
    """LRU (Orvieto et al. 2023): s_t = lambda * s_{t-1} + gamma * (x_t B), complex and
    diagonal, with lambda = exp(-exp(nu_log) + i exp(theta_log)) and gamma = exp(gamma_log);
    y_t = Re(s_t C) + x_t D. ``W`` holds B's real and imaginary blocks [input, 2N], ``C``
    its real and imaginary row blocks [2N, H]; here N = H."""
    b_re, b_im = _blocks(w["W"], 2)
    c_re, c_im = np.split(w["C"], 2, axis=0)
    decay = np.exp(-np.exp(w["nu_log"]) + 1j * np.exp(w["theta_log"]))
    drive = np.exp(w["gamma_log"]) * (x @ b_re + 1j * (x @ b_im))
    states, _ = _linear_recurrence(np.broadcast_to(decay, drive.shape), drive)
    outputs = states.real @ c_re - states.imag @ c_im + x @ w["D"]
    return outputs, outputs[:, -1]
