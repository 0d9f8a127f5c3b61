"""Plain-numpy forward passes of the standard cells: the equations of docs/architecture.md §5.

Backends are tested against these (and the conformance kit checks any cell that claims a
standard name against them). Inputs ``x`` are [batch, time, input]; each function
returns the outputs [batch, time, H] and the final state (a tuple for LSTM).
"""

from __future__ import annotations

import numpy as np

from harness.canonical import Weights

LAYER_NORM_EPSILON = 1e-3  # Keras's default, used by lnrnn in every backend


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


def _layer_norm(v: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = v.mean(axis=-1, keepdims=True)
    var = v.var(axis=-1, keepdims=True)
    return (v - mean) / np.sqrt(var + LAYER_NORM_EPSILON) * gamma + beta


def rnn(x: np.ndarray, w: Weights):
    h = np.zeros((x.shape[0], w["U"].shape[0]))
    outputs = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ w["W"] + h @ w["U"] + w["b"])
        outputs.append(h)
    return np.stack(outputs, 1), h


def lnrnn(x: np.ndarray, w: Weights):
    h = np.zeros((x.shape[0], w["U"].shape[0]))
    outputs = []
    for t in range(x.shape[1]):
        h = np.tanh(_layer_norm(x[:, t] @ w["W"] + h @ w["U"] + w["b"], w["gamma"], w["beta"]))
        outputs.append(h)
    return np.stack(outputs, 1), h


def lstm(x: np.ndarray, w: Weights):
    hidden = w["U"].shape[0]
    h = np.zeros((x.shape[0], hidden))
    c = np.zeros_like(h)
    outputs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ w["W"] + h @ w["U"] + w["b"]
        i, f, g, o = (z[:, k * hidden : (k + 1) * hidden] for k in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, 1), (h, c)


def gru(x: np.ndarray, w: Weights):
    hidden = w["U"].shape[0]
    h = np.zeros((x.shape[0], hidden))
    outputs = []
    for t in range(x.shape[1]):
        xz = x[:, t] @ w["W"] + w["b"]
        hz = h @ w["U"] + w["b_rec"]
        xr, xu, xn = (xz[:, k * hidden : (k + 1) * hidden] for k in range(3))
        hr, hu, hn = (hz[:, k * hidden : (k + 1) * hidden] for k in range(3))
        r = _sigmoid(xr + hr)
        z = _sigmoid(xu + hu)
        n = np.tanh(xn + r * hn)
        h = (1.0 - z) * n + z * h
        outputs.append(h)
    return np.stack(outputs, 1), h

