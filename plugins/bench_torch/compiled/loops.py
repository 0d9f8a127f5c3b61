"""Each standard cell's forward and backward time loops, compiled by numba.

Arrays are float32. Work buffers (the projection, the gates) are time-major ([T, batch,
...]), so that a step's rows are one contiguous block for BLAS and the gate pass (in a
batch-major buffer a step's rows lie a whole sequence apart: at even T the stride is a
multiple of 4 KiB, the rows share cache sets, and the LSTM's forward loop measured 2.2x
slower). The outputs ``out`` and their gradient ``d_outputs`` are batch-major [batch, T, H],
as the cells give and autograd returns them, so neither is copied. Weights are in torch's
layout, passed once as the forward product needs them (``recurrent_t``, [H, width]) and once
as the backward one does (``recurrent``, [width, H]). ``mask`` [batch, H] multiplies the
previous state where it enters the recurrent product (recurrent dropout; ones without it):
a forward step writes its state under the mask into ``held`` [batch, H], contiguous for the
next step's product (a pass of its own copying it from ``out`` took a fifth of rnn's forward
loop), and a backward step leaves in ``dh`` the gradient of that masked copy, which the step
before multiplies by the mask as it reads it.

A forward loop projects its part's inputs itself, a chunk of steps in one product on the
part's own thread (:func:`_project`; ``x`` [batch, T, input] batch-major as the cell gives
it, ``weight_t`` [input, width]), and turns the projection into what its backward loop
needs. A backward loop runs steps ``stop - 1`` down to ``start`` and writes the
pre-activations' gradient where its docstring says; ``dh`` [batch, H] carries the gradient
into the next call (zeros before the first). After each chunk the part adds the chunk's
share of the weights' gradients (:func:`_add_shares`: one product of ``[h_{t-1} * mask | x_t
| 1]``, which :func:`_operand` writes, with the chunk's gradient), so no sequence-long
gradient buffer need exist and the product runs on the part's own thread. ``scratch`` is
:func:`.blas.gemm`'s.

A step is one :func:`.blas.gemm` and one pass over its rows, each row's gates read from and
written to contiguous slices so that LLVM vectorises the inner loop.
"""

from __future__ import annotations

import numba
import numpy as np

from bench_torch.compiled.activations import FAST, sigmoid, tanh
from bench_torch.compiled.blas import gemm, gemm_transposed
from bench_torch.compiled.parallel import each_part
from harness.reference import LAYER_NORM_EPSILON

CALLEES_DIGEST = "a7a5820893079c74847ca634cdf93051797f5df9da5fcb78315f90715d7f863c"
"""SHA-256 of :mod:`.activations` and :mod:`.blas`, whose functions these loops call. numba
keys its on-disk cache of a function on that function's own file only, so a change to a
callee's file alone would leave the loops compiled with the old callee (a checkout that
pulled such a change ran the old code: numba documents the limit); a change there changes
this line too (the test suite says when it is due)."""

_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)
_EPSILON = np.float32(LAYER_NORM_EPSILON)


@numba.njit(**FAST)
def _add_recurrent_product(block: np.ndarray, t: int, recurrent_t: np.ndarray,
                           held: np.ndarray, scratch: np.ndarray) -> None:
    """``block`` (step ``t``'s rows) += ``held`` U^T, ``held`` being h_{t-1} * mask as the
    step before wrote it; nothing at t = 0 (h_{-1} = 0)."""
    if t:
        gemm(held, recurrent_t, block, True, scratch)


@numba.njit(**FAST)
def _flat(block):
    """A time-major [steps, rows, width] block as one [steps * rows, width] matrix."""
    return block.reshape(block.shape[0] * block.shape[1], block.shape[2])


@numba.njit(**FAST)
def _project(x: np.ndarray, start: int, weight_t: np.ndarray, x_steps: np.ndarray,
             projection: np.ndarray, scratch: np.ndarray) -> None:
    """The input projection x_t W^T of steps ``start`` onwards, as many as ``x_steps`` [K,
    rows, input] holds or the sequence has left, in one product into the first rows of
    ``projection`` [steps * rows, width]: the part's batch-major inputs ``x`` [rows, T,
    input] are copied time-major into ``x_steps`` first (they are narrow)."""
    steps = min(x_steps.shape[0], x.shape[1] - start)
    for t in range(start, start + steps):
        for b in range(x.shape[0]):
            row, copied = x[b, t], x_steps[t - start, b]
            for j in range(row.shape[0]):  # a slice assignment took 2 s more to compile
                copied[j] = row[j]
    rows = steps * x.shape[0]
    gemm(_flat(x_steps)[:rows], weight_t, projection[:rows], False, scratch)


@numba.njit(**FAST)
def _pre_activations(x, t, weight_t, x_steps, pre, recurrent_t, held, scratch):
    """Step ``t``'s block of ``pre`` holding x_t W^T + (h_{t-1} * mask) U^T, the projection of
    a chunk of ``K = len(x_steps)`` steps made at its first step. ``pre`` [K, rows, width]
    reuses one chunk's room (step t's at t % K); ``pre`` [T, rows, width] keeps every step's
    (step t's at t)."""
    block_of = t % pre.shape[0]
    if t % x_steps.shape[0] == 0:
        _project(x, t, weight_t, x_steps, _flat(pre[block_of:]), scratch)
    block = pre[block_of]
    _add_recurrent_product(block, t, recurrent_t, held, scratch)
    return block


@numba.njit(**FAST)
def _state_grad(d_pre: np.ndarray, recurrent: np.ndarray, dh: np.ndarray,
                scratch: np.ndarray) -> None:
    """``dh`` = the gradient reaching the previous state's masked copy through the recurrent
    product, ``d_pre @ recurrent``; the step that reads it multiplies it by the mask."""
    gemm(d_pre, recurrent, dh, False, scratch)


# ----------------------------------------------------------------------------- rnn


@numba.njit(**FAST)
def _rnn_forward(x, weight_t, bias, recurrent_t, mask, out, x_steps, pre, held, scratch):
    """h_t = tanh(x_t W^T + b + (h_{t-1} * mask) U^T); ``pre`` [K, rows, H] holds a chunk's
    pre-activations, step t's at t % K."""
    for t in range(x.shape[1]):
        row_block = _pre_activations(x, t, weight_t, x_steps, pre, recurrent_t, held, scratch)
        for b in range(row_block.shape[0]):
            row, h, kept, mb = row_block[b], out[b, t], held[b], mask[b]
            for j in range(row.shape[0]):
                h[j] = tanh(row[j] + bias[j])
                kept[j] = h[j] * mb[j]


@numba.njit(**FAST)
def _rnn_backward(out, d_outputs, d, start, stop, recurrent, mask, dh, scratch):
    """The pre-activations' gradient of step ``t`` goes to ``d[t - start]``."""
    for t in range(stop - 1, start - 1, -1):
        d_t = d[t - start]
        for b in range(out.shape[0]):
            row, dout, h, carried, mb = d_t[b], d_outputs[b, t], out[b, t], dh[b], mask[b]
            for j in range(row.shape[0]):
                row[j] = (dout[j] + carried[j] * mb[j]) * (_ONE - h[j] * h[j])
        if t:
            _state_grad(d_t, recurrent, dh, scratch)


# ----------------------------------------------------------------------------- lstm


@numba.njit(**FAST)
def _lstm_forward(x, weight_t, gates, bias, recurrent_t, mask, cells, tanh_c, out, x_steps,
                  held, scratch):
    """``gates`` [T, B, 4H] are filled with the activated gates in torch's order i, f, g, o,
    ``cells`` and ``tanh_c`` [T, B, H] with the cell states and their tanh."""
    hidden = cells.shape[2]
    bi, bf, bg, bo = bias[:hidden], bias[hidden:2 * hidden], bias[2 * hidden:3 * hidden], \
        bias[3 * hidden:]
    rows = gates.shape[1]
    for t in range(gates.shape[0]):
        if t % x_steps.shape[0] == 0:
            _project(x, t, weight_t, x_steps, _flat(gates)[t * rows:], scratch)
        _add_recurrent_product(gates[t], t, recurrent_t, held, scratch)
        for b in range(gates.shape[1]):
            z = gates[t, b]
            zi, zf, zg, zo = z[:hidden], z[hidden:2 * hidden], z[2 * hidden:3 * hidden], \
                z[3 * hidden:]
            c, tc, h, c_prev = cells[t, b], tanh_c[t, b], out[b, t], cells[t - 1, b]
            kept, mb = held[b], mask[b]
            for j in range(hidden):
                o, i = sigmoid(zo[j] + bo[j]), sigmoid(zi[j] + bi[j])
                f, g = sigmoid(zf[j] + bf[j]), tanh(zg[j] + bg[j])
                zo[j], zi[j], zf[j], zg[j] = o, i, f, g
                cell = i * g + (f * c_prev[j] if t else _ZERO)
                c[j] = cell
                tc[j] = tanh(cell)
                h[j] = o * tc[j]
                kept[j] = h[j] * mb[j]


@numba.njit(**FAST)
def _lstm_backward(gates, start, stop, recurrent, mask, cells, tanh_c, d_outputs, dc, dh,
                  scratch):
    """The activated gates become, in place, the pre-activations' gradient (``d`` is
    ``gates``, offset 0); ``dc`` [B, H] carries the cell state's gradient like ``dh``."""
    hidden = cells.shape[2]
    for t in range(stop - 1, start - 1, -1):
        for b in range(gates.shape[1]):
            z = gates[t, b]
            zi, zf, zg, zo = z[:hidden], z[hidden:2 * hidden], z[2 * hidden:3 * hidden], \
                z[3 * hidden:]
            c_prev, tc, dcb = cells[t - 1, b], tanh_c[t, b], dc[b]
            dout, carried, mb = d_outputs[b, t], dh[b], mask[b]
            for j in range(hidden):
                o, i, f, g = zo[j], zi[j], zf[j], zg[j]
                d = dout[j] + carried[j] * mb[j]
                d_cell = dcb[j] + d * o * (_ONE - tc[j] * tc[j])
                zo[j] = d * tc[j] * o * (_ONE - o)
                zi[j] = d_cell * g * i * (_ONE - i)
                zf[j] = d_cell * c_prev[j] * f * (_ONE - f) if t else _ZERO
                zg[j] = d_cell * i * (_ONE - g * g)
                dcb[j] = d_cell * f
        if t:
            _state_grad(gates[t], recurrent, dh, scratch)


# ----------------------------------------------------------------------------- gru


@numba.njit(**FAST)
def _gru_forward(x, weight_t, gates, bias, recurrent_t, recurrent_bias, mask, out, x_steps,
                 held, hz, state, kept, scratch):
    """Reset-after GRU. ``gates`` [T, B, 3H] are filled with the activated gates in torch's
    order r, z, n; ``hz`` [B, 3H] holds a step's recurrent product and
    ``state`` [B, H] the state (the gate pass reading h_{t-1} from ``out``, the rows it
    writes, measured 6x slower). ``kept`` [T, B, H] receives the n block of every step's
    recurrent product with its bias (what the backward loop's ``hz_n`` holds)."""
    hidden = out.shape[2]
    hz[:] = 0.0  # the product at t = 0, where h_{-1} = 0
    state[:] = 0.0
    rows = gates.shape[1]
    for t in range(gates.shape[0]):
        if t % x_steps.shape[0] == 0:
            _project(x, t, weight_t, x_steps, _flat(gates)[t * rows:], scratch)
        if t:
            gemm(held, recurrent_t, hz, False, scratch)
        for b in range(gates.shape[1]):
            a, u = gates[t, b], hz[b]
            _add_biases(a, u, bias, recurrent_bias, 2 * hidden)
            ar, az, an = a[:hidden], a[hidden:2 * hidden], a[2 * hidden:]
            un = u[2 * hidden:]
            kept[t, b] = un
            h, h_prev, kept_h, mb = out[b, t], state[b], held[b], mask[b]
            for j in range(hidden):
                r, z = sigmoid(ar[j]), sigmoid(az[j])
                n = tanh(an[j] + r * un[j])
                ar[j], az[j], an[j] = r, z, n
                h_prev[j] = h[j] = (_ONE - z) * n + z * h_prev[j]
                kept_h[j] = h[j] * mb[j]


@numba.njit(**FAST)
def _add_biases(a, u, bias, recurrent_bias, split):
    """Before a GRU step's gates: ``a`` (the projection) += the bias, and the recurrent
    product ``u`` and its bias, up to ``split`` (r and z); beyond it (n), ``u`` += its
    bias only, as r scales it. A loop of its own: with these in the gates' loop, it reads
    too many arrays for LLVM to vectorise it (measured 3x slower)."""
    for j in range(split):
        a[j] += bias[j] + u[j] + recurrent_bias[j]
    for j in range(split, a.shape[0]):
        a[j] += bias[j]
        u[j] += recurrent_bias[j]


@numba.njit(**FAST)
def _gru_backward(gates, hz_n, start, stop, out, recurrent, mask, d_outputs, dh, carry,
                 scratch):
    """The activated gates become, in place, the gradient of the whole recurrent product
    (r, z and the n block scaled by r); ``hz_n`` [stop - start, B, H] (the n block of the
    recurrent product with its bias, as the forward loop kept it) becomes the gradient of the
    input projection's n block. ``carry`` [B, H] is what reaches h_{t-1} directly (z_t
    dh_t), carried between calls like ``dh``."""
    hidden = out.shape[2]
    for t in range(stop - 1, start - 1, -1):
        for b in range(gates.shape[1]):
            a = gates[t, b]
            ar, az, an = a[:hidden], a[hidden:2 * hidden], a[2 * hidden:]
            keep, h_prev = hz_n[t - start, b], out[b, t - 1]
            dout, carried, cb, mb = d_outputs[b, t], dh[b], carry[b], mask[b]
            for j in range(hidden):
                r, z, n = ar[j], az[j], an[j]
                d = dout[j] + carried[j] * mb[j] + cb[j]
                previous = h_prev[j] if t else _ZERO
                d_n = d * (_ONE - z) * (_ONE - n * n)
                ar[j] = d_n * keep[j] * r * (_ONE - r)
                az[j] = d * (previous - n) * z * (_ONE - z)
                an[j] = d_n * r
                keep[j] = d_n
                cb[j] = d * z
        if t:
            _state_grad(gates[t], recurrent, dh, scratch)


# ----------------------------------------------------------------------------- lnrnn


@numba.njit(**FAST)
def _lnrnn_forward(x, weight_t, bias, recurrent_t, gamma, beta, mask, out, means, rstd,
                   x_steps, pre, held, scratch):
    """h_t = tanh(LayerNorm(x_t W^T + b + (h_{t-1} * mask) U)); ``means`` and ``rstd`` [T,
    B] keep each row's mean and 1 / sqrt(var + eps); ``pre`` [T, B, H] keeps every step's
    layer norm inputs for the backward loop."""
    hidden = out.shape[2]
    per_unit = np.float32(1.0 / hidden)
    for t in range(x.shape[1]):
        row_block = _pre_activations(x, t, weight_t, x_steps, pre, recurrent_t, held, scratch)
        for b in range(row_block.shape[0]):
            row, h, kept, mb = row_block[b], out[b, t], held[b], mask[b]
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
            means[t, b], rstd[t, b] = mean, scale
            for j in range(hidden):
                h[j] = tanh(gamma[j] * (row[j] - mean) * scale + beta[j])
                kept[j] = h[j] * mb[j]


@numba.njit(**FAST)
def _lnrnn_backward(pre, start, stop, out, recurrent, gamma, mask, means, rstd, d_outputs,
                   d_gamma, d_beta, dh, normed, scratch):
    """``pre`` [stop - start, B, H], the layer norm's inputs as the forward loop kept them,
    becomes their gradient; ``d_gamma`` and ``d_beta`` [H] are added to; ``normed`` [H] is a row's
    scratch."""
    hidden = out.shape[2]
    per_unit = np.float32(1.0 / hidden)
    for t in range(stop - 1, start - 1, -1):
        d_t = pre[t - start]
        for b in range(out.shape[0]):
            row, h, dout, carried = d_t[b], out[b, t], d_outputs[b, t], dh[b]
            mean, scale, mb = means[t, b], rstd[t, b], mask[b]
            mean_g = _ZERO
            mean_gx = _ZERO
            for j in range(hidden):
                x_hat = (row[j] - mean) * scale
                normed[j] = x_hat
                y_grad = (dout[j] + carried[j] * mb[j]) * (_ONE - h[j] * h[j])
                d_beta[j] += y_grad
                d_gamma[j] += y_grad * x_hat
                g = y_grad * gamma[j]
                row[j] = g
                mean_g += g
                mean_gx += g * x_hat
            mean_g *= per_unit
            mean_gx *= per_unit
            for j in range(hidden):
                row[j] = scale * (row[j] - mean_g - normed[j] * mean_gx)
        if t:
            _state_grad(d_t, recurrent, dh, scratch)


# ----------------------------------------------------------------- weights' gradients


@numba.njit(**FAST)
def _operand(out, x, mask, start, stop, joined):
    """``joined[t - start]`` = ``[h_{t-1} * mask | x_t | 1]`` for the chunk's steps (h_{-1}
    = 0): what a chunk's gradient is multiplied by for the weights' gradients."""
    hidden, inputs = out.shape[2], x.shape[2]
    for t in range(start, stop):
        for b in range(out.shape[0]):
            row, mb, xb = joined[t - start, b], mask[b], x[b, t]
            if t:
                h = out[b, t - 1]
                for j in range(hidden):
                    row[j] = h[j] * mb[j]
            else:
                row[:hidden] = _ZERO
            for j in range(inputs):
                row[hidden + j] = xb[j]
            row[hidden + inputs] = _ONE


@numba.njit(**FAST)
def _add_shares(joined, d, shares, scratch):
    """``shares`` [H + input + 1, width] += ``joined^T d`` over the chunk's rows: the
    recurrent weight's, the weight's and the bias's gradients at once."""
    gemm_transposed(_flat(joined), _flat(d), shares, True, scratch)


@numba.njit(**FAST)
def _add_input_shares(joined, hidden, d, shares, scratch):
    """``shares`` [input + 1, width] += ``[x | 1]^T d``: ``joined`` without its first
    ``hidden`` columns (the GRU's input projection's n block, which the state's product
    has no share of)."""
    gemm_transposed(_flat(joined)[:, hidden:], _flat(d), shares, True, scratch)


# ------------------------------------------------------------------- batch parts
# Each loop above runs on the rows of one part of the batch; the functions below run every
# part at once, one thread each (:func:`.parallel.each_part`; the parts are independent: a
# state's row depends only on the same row before it). Each array with a leading part axis
# is a part's own C-contiguous block, so the part loops are the vectorised ones; a single
# part runs on the calling thread, where BLAS may use every thread. A backward chunk's pieces
# are called one after another in Python, not from one compiled function: a compiled loop
# calling the LSTM's, GRU's or lnrnn's loop ran other code when numba loaded it from its
# cache than when it had just compiled it (their gradients differed in the last bits).


def rnn_forward(x, weight_t, bias, recurrent_t, mask, out, x_steps, pre, held, scratch):
    each_part(_rnn_forward, [
        (x[p], weight_t, bias, recurrent_t, mask[p], out[p], x_steps[p], pre[p], held[p],
         scratch[p])
        for p in range(len(x))])


def _rnn_backward_part(out, d_outputs, x, d, joined, shares, start, stop, recurrent, mask,
                       dh, scratch):
    _rnn_backward(out, d_outputs, d, start, stop, recurrent, mask, dh, scratch)
    _operand(out, x, mask, start, stop, joined)
    _add_shares(joined, d, shares, scratch)


def rnn_backward(out, d_outputs, x, d, joined, shares, start, stop, recurrent, mask, dh,
                 scratch):
    each_part(_rnn_backward_part, [
        (out[p], d_outputs[p], x[p], d[p], joined[p], shares[p], start, stop, recurrent,
         mask[p], dh[p], scratch[p])
        for p in range(len(out))])


def lstm_forward(x, weight_t, gates, bias, recurrent_t, mask, cells, tanh_c, out, x_steps,
                 held, scratch):
    each_part(_lstm_forward, [
        (x[p], weight_t, gates[p], bias, recurrent_t, mask[p], cells[p], tanh_c[p], out[p],
         x_steps[p], held[p], scratch[p])
        for p in range(len(gates))])


def _lstm_backward_part(gates, x, joined, shares, start, stop, out, recurrent, mask, cells,
                        tanh_c, d_outputs, dc, dh, scratch):
    _lstm_backward(gates, start, stop, recurrent, mask, cells, tanh_c, d_outputs, dc, dh,
                   scratch)
    _operand(out, x, mask, start, stop, joined)
    _add_shares(joined, gates[start:stop], shares, scratch)


def lstm_backward(gates, x, joined, shares, start, stop, out, recurrent, mask, cells, tanh_c,
                  d_outputs, dc, dh, scratch):
    each_part(_lstm_backward_part, [
        (gates[p], x[p], joined[p], shares[p], start, stop, out[p], recurrent, mask[p],
         cells[p], tanh_c[p], d_outputs[p], dc[p], dh[p], scratch[p])
        for p in range(len(gates))])


def gru_forward(x, weight_t, gates, bias, recurrent_t, recurrent_bias, mask, out, x_steps,
                held, hz, state, kept, scratch):
    each_part(_gru_forward, [
        (x[p], weight_t, gates[p], bias, recurrent_t, recurrent_bias, mask[p], out[p],
         x_steps[p], held[p], hz[p], state[p], kept[p], scratch[p])
        for p in range(len(gates))])


def _gru_backward_part(gates, hz_n, x, joined, shares, n_shares, start, stop, out, recurrent,
                       mask, d_outputs, dh, carry, scratch):
    """``n_shares`` [input + 1, H] += ``[x | 1]^T`` times the input projection's n-block
    gradient."""
    _operand(out, x, mask, start, stop, joined)
    _gru_backward(gates, hz_n, start, stop, out, recurrent, mask, d_outputs, dh, carry,
                  scratch)
    _add_shares(joined, gates[start:stop], shares, scratch)
    _add_input_shares(joined, out.shape[2], hz_n, n_shares, scratch)


def gru_backward(gates, hz_n, x, joined, shares, n_shares, start, stop, out, recurrent, mask,
                 d_outputs, dh, carry, scratch):
    each_part(_gru_backward_part, [
        (gates[p], hz_n[p], x[p], joined[p], shares[p], n_shares[p], start, stop, out[p],
         recurrent, mask[p], d_outputs[p], dh[p], carry[p], scratch[p])
        for p in range(len(gates))])


def lnrnn_forward(x, weight_t, bias, recurrent_t, gamma, beta, mask, out, means, rstd,
                  x_steps, pre, held, scratch):
    each_part(_lnrnn_forward, [
        (x[p], weight_t, bias, recurrent_t, gamma, beta, mask[p], out[p], means[p], rstd[p],
         x_steps[p], pre[p], held[p], scratch[p])
        for p in range(len(x))])


def _lnrnn_backward_part(pre, x, joined, shares, start, stop, out, recurrent, gamma, mask,
                         means, rstd, d_outputs, d_gamma, d_beta, dh, normed, scratch):
    _lnrnn_backward(pre, start, stop, out, recurrent, gamma, mask, means, rstd, d_outputs,
                    d_gamma, d_beta, dh, normed, scratch)
    _operand(out, x, mask, start, stop, joined)
    _add_shares(joined, pre, shares, scratch)


def lnrnn_backward(pre, x, joined, shares, start, stop, out, recurrent, gamma, mask, means,
                   rstd, d_outputs, d_gamma, d_beta, dh, normed, scratch):
    """``d_gamma`` and ``d_beta`` have a part axis too: each part adds to its own."""
    each_part(_lnrnn_backward_part, [
        (pre[p], x[p], joined[p], shares[p], start, stop, out[p], recurrent, gamma, mask[p],
         means[p], rstd[p], d_outputs[p], d_gamma[p], d_beta[p], dh[p], normed[p], scratch[p])
        for p in range(len(pre))])
