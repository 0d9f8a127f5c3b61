"""Each standard cell's forward and backward time loops, compiled by numba.

Work buffers are float32 and time-major ([T, batch, ...]), so that a step's rows are one
contiguous block for BLAS and the gate pass (batch-major, a step's rows lie a whole
sequence apart: at even T the stride is a multiple of 4 KiB, the rows share cache sets, and
the LSTM's forward loop measured 2.2x slower); the outputs' gradient is read batch-major,
as autograd gives it, without a copy. Weights are in torch's layout, passed once as the forward product
needs them (``recurrent_t``, [H, width]) and once as the backward one does (``recurrent``,
[width, H]). ``mask`` [batch, H] multiplies the previous state where it enters the
recurrent product (recurrent dropout; ones without it). The loops work in place: a forward
loop turns the input projection it is given (``x W^T``, its bias added in the loop) into
what its backward loop needs (activated gates, normalised pre-activations), and the
backward loop turns those into the gradient of the pre-activations, from which the
weights' gradients are formed afterwards as whole-sequence products. ``scratch`` is
:func:`.blas.gemm`'s.

A step is one :func:`.blas.gemm` and one pass over its rows, each row's gates read from and
written to contiguous slices so that LLVM vectorises the inner loop.
"""

from __future__ import annotations

import numba
import numpy as np

from bench_torch.compiled.activations import FAST, sigmoid, tanh
from bench_torch.compiled.blas import gemm
from harness.reference import LAYER_NORM_EPSILON

_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)
_EPSILON = np.float32(LAYER_NORM_EPSILON)


@numba.njit(**FAST)
def _mask_into(h: np.ndarray, mask: np.ndarray, out: np.ndarray) -> None:
    for b in range(h.shape[0]):
        hb, mb, ob = h[b], mask[b], out[b]
        for j in range(hb.shape[0]):
            ob[j] = hb[j] * mb[j]


@numba.njit(**FAST)
def _recurrent_grad(d_next: np.ndarray, recurrent: np.ndarray, mask: np.ndarray,
                    out: np.ndarray, scratch: np.ndarray) -> None:
    """``out`` = the gradient reaching the previous state through the recurrent product:
    ``(d_next @ recurrent) * mask``."""
    gemm(d_next, recurrent, out, False, scratch)
    for b in range(out.shape[0]):
        ob, mb = out[b], mask[b]
        for j in range(ob.shape[0]):
            ob[j] *= mb[j]


# ----------------------------------------------------------------------------- rnn


@numba.njit(**FAST)
def rnn_forward(pre, bias, recurrent_t, mask, held, scratch):
    """h_t = tanh(pre_t + b + (h_{t-1} * mask) U^T): ``pre`` [T, B, H] becomes the states."""
    for t in range(pre.shape[0]):
        if t:
            _mask_into(pre[t - 1], mask, held)
            gemm(held, recurrent_t, pre[t], True, scratch)
        for b in range(pre.shape[1]):
            row = pre[t, b]
            for j in range(row.shape[0]):
                row[j] = tanh(row[j] + bias[j])


@numba.njit(**FAST)
def rnn_backward(states, d_outputs, d_pre, recurrent, mask, dh, scratch):
    """``d_pre`` [T, B, H]: the pre-activations' gradient, from the outputs' (``d_outputs``,
    batch-major, as every backward loop reads it)."""
    steps = states.shape[0]
    for t in range(steps - 1, -1, -1):
        later = t < steps - 1
        if later:
            _recurrent_grad(d_pre[t + 1], recurrent, mask, dh, scratch)
        for b in range(states.shape[1]):
            out, dout, hb, gb = d_pre[t, b], d_outputs[b, t], states[t, b], dh[b]
            for j in range(out.shape[0]):
                g = dout[j] + gb[j] if later else dout[j]
                out[j] = g * (_ONE - hb[j] * hb[j])


# ----------------------------------------------------------------------------- lstm


@numba.njit(**FAST)
def lstm_forward(gates, bias, recurrent_t, mask, cells, tanh_c, states, held, scratch):
    """``gates`` [T, B, 4H], the projection in gate order o, i, f, g, become the activated
    gates; ``cells``, ``tanh_c`` and ``states`` [T, B, H] are filled."""
    hidden = states.shape[2]
    bo, bi, bf, bg = bias[:hidden], bias[hidden:2 * hidden], bias[2 * hidden:3 * hidden], \
        bias[3 * hidden:]
    for t in range(gates.shape[0]):
        if t:
            _mask_into(states[t - 1], mask, held)
            gemm(held, recurrent_t, gates[t], True, scratch)
        for b in range(gates.shape[1]):
            z = gates[t, b]
            zo, zi, zf, zg = z[:hidden], z[hidden:2 * hidden], z[2 * hidden:3 * hidden], \
                z[3 * hidden:]
            c, tc, h = cells[t, b], tanh_c[t, b], states[t, b]
            c_prev = cells[t - 1, b]
            for j in range(hidden):
                o, i = sigmoid(zo[j] + bo[j]), sigmoid(zi[j] + bi[j])
                f, g = sigmoid(zf[j] + bf[j]), tanh(zg[j] + bg[j])
                zo[j], zi[j], zf[j], zg[j] = o, i, f, g
                cell = i * g + (f * c_prev[j] if t else _ZERO)
                c[j] = cell
                tc[j] = tanh(cell)
                h[j] = o * tc[j]


@numba.njit(**FAST)
def lstm_backward(gates, recurrent, mask, cells, tanh_c, d_outputs, dc, dh, scratch):
    """``gates`` (activated) become the pre-activations' gradient; ``dc`` [B, H] holds the
    final cell state's gradient on entry."""
    steps, hidden = gates.shape[0], cells.shape[2]
    for t in range(steps - 1, -1, -1):
        later = t < steps - 1
        if later:
            _recurrent_grad(gates[t + 1], recurrent, mask, dh, scratch)
        for b in range(gates.shape[1]):
            z = gates[t, b]
            zo, zi, zf, zg = z[:hidden], z[hidden:2 * hidden], z[2 * hidden:3 * hidden], \
                z[3 * hidden:]
            c_prev, tc, dcb = cells[t - 1, b], tanh_c[t, b], dc[b]
            dout, dhb = d_outputs[b, t], dh[b]
            for j in range(hidden):
                o, i, f, g = zo[j], zi[j], zf[j], zg[j]
                d = dout[j] + dhb[j] if later else dout[j]
                d_cell = dcb[j] + d * o * (_ONE - tc[j] * tc[j])
                zo[j] = d * tc[j] * o * (_ONE - o)
                zi[j] = d_cell * g * i * (_ONE - i)
                zf[j] = d_cell * c_prev[j] * f * (_ONE - f) if t else _ZERO
                zg[j] = d_cell * i * (_ONE - g * g)
                dcb[j] = d_cell * f


# ----------------------------------------------------------------------------- gru


@numba.njit(**FAST)
def gru_forward(gates, bias, recurrent_t, recurrent_bias, mask, hz_n, states, held, hz,
                scratch):
    """Reset-after GRU. ``gates`` [T, B, 3H], the projection in torch's order r, z, n,
    become the activated gates; ``hz_n`` [T, B, H] keeps the n block of the recurrent
    product (its bias included), which r scales; ``hz`` [B, 3H] is a step's product."""
    hidden = states.shape[2]
    br, bz, bn = bias[:hidden], bias[hidden:2 * hidden], bias[2 * hidden:]
    rr, rz, rn = recurrent_bias[:hidden], recurrent_bias[hidden:2 * hidden], \
        recurrent_bias[2 * hidden:]
    for t in range(gates.shape[0]):
        if t:
            _mask_into(states[t - 1], mask, held)
            gemm(held, recurrent_t, hz, False, scratch)
        for b in range(gates.shape[1]):
            a, u = gates[t, b], hz[b]
            ar, az, an = a[:hidden], a[hidden:2 * hidden], a[2 * hidden:]
            ur, uz, un = u[:hidden], u[hidden:2 * hidden], u[2 * hidden:]
            keep, h, h_prev = hz_n[t, b], states[t, b], states[t - 1, b]
            for j in range(hidden):
                product_r = ur[j] if t else _ZERO
                product_z = uz[j] if t else _ZERO
                product_n = un[j] if t else _ZERO
                r = sigmoid(ar[j] + br[j] + product_r + rr[j])
                z = sigmoid(az[j] + bz[j] + product_z + rz[j])
                n_rec = product_n + rn[j]
                n = tanh(an[j] + bn[j] + r * n_rec)
                ar[j], az[j], an[j], keep[j] = r, z, n, n_rec
                h[j] = (_ONE - z) * n + (z * h_prev[j] if t else _ZERO)


@numba.njit(**FAST)
def gru_backward(gates, hz_n, states, recurrent, mask, d_outputs, dh, carry, scratch):
    """``gates`` (activated) become the gradient of the whole recurrent product (r, z and
    the n block scaled by r), ``hz_n`` that of the input projection's n block; ``carry``
    [B, H] is what reaches h_{t-1} directly (z_t dh_t)."""
    steps, hidden = gates.shape[0], states.shape[2]
    for t in range(steps - 1, -1, -1):
        later = t < steps - 1
        if later:
            _recurrent_grad(gates[t + 1], recurrent, mask, dh, scratch)
        for b in range(gates.shape[1]):
            a = gates[t, b]
            ar, az, an = a[:hidden], a[hidden:2 * hidden], a[2 * hidden:]
            keep, h_prev = hz_n[t, b], states[t - 1, b]
            dout, dhb, cb = d_outputs[b, t], dh[b], carry[b]
            for j in range(hidden):
                r, z, n = ar[j], az[j], an[j]
                d = dout[j] + dhb[j] + cb[j] if later else dout[j]
                previous = h_prev[j] if t else _ZERO
                d_n = d * (_ONE - z) * (_ONE - n * n)
                ar[j] = d_n * keep[j] * r * (_ONE - r)
                az[j] = d * (previous - n) * z * (_ONE - z)
                an[j] = d_n * r
                keep[j] = d_n
                cb[j] = d * z


# ----------------------------------------------------------------------------- lnrnn


@numba.njit(**FAST)
def lnrnn_forward(pre, bias, recurrent_t, gamma, beta, mask, states, rstd, held, scratch):
    """h_t = tanh(LayerNorm(pre_t + b + (h_{t-1} * mask) U)): ``pre`` [T, B, H] becomes
    the normalised pre-activations, ``rstd`` [T, B] keeps each row's 1 / sqrt(var + eps)."""
    hidden = states.shape[2]
    per_unit = np.float32(1.0 / hidden)
    for t in range(pre.shape[0]):
        if t:
            _mask_into(states[t - 1], mask, held)
            gemm(held, recurrent_t, pre[t], True, scratch)
        for b in range(pre.shape[1]):
            row, h = pre[t, b], states[t, b]
            mean = _ZERO
            for j in range(hidden):
                row[j] += bias[j]
                mean += row[j]
            mean *= per_unit
            variance = _ZERO
            for j in range(hidden):
                centred = row[j] - mean
                variance += centred * centred
            scale = _ONE / np.sqrt(variance * per_unit + _EPSILON)
            rstd[t, b] = scale
            for j in range(hidden):
                normed = (row[j] - mean) * scale
                row[j] = normed
                h[j] = tanh(gamma[j] * normed + beta[j])


@numba.njit(**FAST)
def lnrnn_backward(pre, states, recurrent, gamma, mask, rstd, d_outputs, d_gamma, d_beta, dh,
                   dy, scratch):
    """``pre`` (normalised) becomes the pre-activations' gradient; ``d_gamma`` and ``d_beta``
    [H] are added to; ``dy`` [H] is a row's scratch."""
    steps, hidden = pre.shape[0], states.shape[2]
    per_unit = np.float32(1.0 / hidden)
    for t in range(steps - 1, -1, -1):
        later = t < steps - 1
        if later:
            _recurrent_grad(pre[t + 1], recurrent, mask, dh, scratch)
        for b in range(pre.shape[1]):
            normed, h, dout, dhb = pre[t, b], states[t, b], d_outputs[b, t], dh[b]
            mean_g = _ZERO
            mean_gx = _ZERO
            for j in range(hidden):
                d = dout[j] + dhb[j] if later else dout[j]
                y_grad = d * (_ONE - h[j] * h[j])
                d_beta[j] += y_grad
                d_gamma[j] += y_grad * normed[j]
                g = y_grad * gamma[j]
                dy[j] = g
                mean_g += g
                mean_gx += g * normed[j]
            mean_g *= per_unit
            mean_gx *= per_unit
            scale = rstd[t, b]
            for j in range(hidden):
                normed[j] = scale * (dy[j] - mean_g - normed[j] * mean_gx)
