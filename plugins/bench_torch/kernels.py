"""bench's own recurrences for the standard cells: kernel path ``bench-fused`` (CPU and GPU).

Each is a :class:`torch.autograd.Function` over the whole sequence, so autograd sees one
node instead of a dozen per step. The cell computes the input projection of every step in
one matrix product (``xw``, time-major) outside it; inside, a step is the recurrent product
(``addmm`` into a preallocated buffer) and a handful of in-place elementwise operations that
keep exactly what the backward pass needs. The backward pass runs the recurrence in reverse,
again one product and a few elementwise operations per step, and forms the recurrent
weight's gradient afterwards as one product over the whole sequence (the gradients of the
input weights follow from ``xw``'s, through autograd, as whole-sequence products too).

LSTM gates are kept internally in the order i, f, o, g (the cell permutes its weights), so
one ``sigmoid_`` covers three gates and one ``tanh_`` the fourth.

Recurrent dropout: ``mask`` (or None) multiplies the previous state where it enters the
recurrent product, as :mod:`bench_torch.cells` documents.

Neither TorchScript nor ``torch.compile`` is used: the torch wheels carry no LLVM, so
TorchScript's CPU fuser cannot fuse these operations, and ``torch.compile`` (like a C++
extension) needs a C++ compiler on the user's machine (README, "Kernel paths").
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import FunctionCtx, once_differentiable

from harness.reference import LAYER_NORM_EPSILON

BENCH_FUSED = "bench-fused"


def masked(h: Tensor, mask: Tensor | None) -> Tensor:
    """``h`` as it enters the recurrent product under recurrent dropout (mask or None)."""
    return h if mask is None else h * mask


def _states(xw: Tensor, hidden: int) -> Tensor:
    """[T+1, batch, hidden] with the zero initial state in front."""
    states = xw.new_empty(xw.shape[0] + 1, xw.shape[1], hidden)
    states[0].zero_()
    return states


def _recurrent_inputs(states: Tensor, mask: Tensor | None) -> Tensor:
    """The states as they entered the recurrent product, [T, batch, hidden]."""
    previous = states[:-1]
    return previous if mask is None else previous * mask


def _weight_grad(inputs: Tensor, d_pre: Tensor) -> Tensor:
    """d U (torch layout [gates*H, H]) = sum_t d_pre_t^T inputs_t, as one product."""
    return d_pre.flatten(0, 1).t().mm(inputs.flatten(0, 1))


def _output_grads(d_outputs: Tensor | None, like: Tensor) -> Tensor:
    """A writable copy of the gradient arriving at every h_t from above; the backward loop
    adds the recurrent part to it step by step."""
    grads = torch.empty_like(like)  # contiguous, as ``like``; d_outputs may be transposed
    return grads.zero_() if d_outputs is None else grads.copy_(d_outputs)


def _add_recurrent_grad(target: Tensor, d_pre: Tensor, recurrent: Tensor,
                        mask: Tensor | None) -> None:
    """``target += (d_pre @ recurrent) * mask``: the gradient reaching the previous state
    through the recurrent product."""
    if mask is None:
        target.addmm_(d_pre, recurrent)
    else:
        target.addcmul_(torch.mm(d_pre, recurrent), mask)


def _one_minus_square(v: Tensor, out: Tensor | None = None) -> Tensor:
    """1 - v^2 (the derivative of tanh, given its output) in one pass."""
    return torch.addcmul(_ONE, v, v, value=-1, out=out)


def _sigmoid_slope(v: Tensor, out: Tensor | None = None) -> Tensor:
    """v - v^2 = v (1 - v) (the derivative of the sigmoid, given its output) in one pass."""
    return torch.addcmul(v, v, v, value=-1, out=out)


_ONE = torch.ones(())
"""A 0-dim CPU tensor, which torch accepts next to tensors of any device."""


class RNNRecurrence(Function):
    """h_t = tanh(xw_t + h_{t-1} U^T); ``recurrent`` is torch's ``weight_hh`` [H, H]."""

    @staticmethod
    def forward(ctx: FunctionCtx, xw: Tensor, recurrent: Tensor,
                mask: Tensor | None) -> Tensor:
        states = _states(xw, recurrent.shape[1])
        u_t = recurrent.t()
        for t, step in enumerate(xw.unbind(0)):
            h = states[t + 1]
            torch.addmm(step, masked(states[t], mask), u_t, out=h)
            h.tanh_()
        ctx.save_for_backward(states, recurrent, mask)
        return states[1:]

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor | None):
        states, recurrent, mask = ctx.saved_tensors
        outputs = states[1:]
        d_pre = _output_grads(d_outputs, outputs)
        slopes = _one_minus_square(outputs)
        for t in range(len(outputs) - 1, -1, -1):
            d = d_pre[t].mul_(slopes[t])
            if t:
                _add_recurrent_grad(d_pre[t - 1], d, recurrent, mask)
        return d_pre, _weight_grad(_recurrent_inputs(states, mask), d_pre), None


class LSTMRecurrence(Function):
    """c_t = f c_{t-1} + i g, h_t = o tanh(c_t), with the gates in the order o, i, f, g in
    ``xw`` [T, batch, 4H] and ``recurrent`` [4H, H]. Returns the outputs and the final c."""

    @staticmethod
    def forward(ctx: FunctionCtx, xw: Tensor, recurrent: Tensor,
                mask: Tensor | None) -> tuple[Tensor, Tensor]:
        hidden = recurrent.shape[1]
        states = _states(xw, hidden)
        cells = _states(xw, hidden)
        gates = torch.empty_like(xw)
        tanh_c = torch.empty_like(states[1:])
        u_t = recurrent.t()
        for t, step in enumerate(xw.unbind(0)):
            z = gates[t]
            torch.addmm(step, masked(states[t], mask), u_t, out=z)
            z[:, : 3 * hidden].sigmoid_()
            z[:, 3 * hidden :].tanh_()
            o, i, f, g = z.split(hidden, 1)
            c = cells[t + 1]
            torch.mul(f, cells[t], out=c)
            c.addcmul_(i, g)
            torch.tanh(c, out=tanh_c[t])
            torch.mul(o, tanh_c[t], out=states[t + 1])
        ctx.save_for_backward(states, cells, gates, tanh_c, recurrent, mask)
        return states[1:], cells[-1]

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor | None, d_cell: Tensor | None):
        states, cells, gates, tanh_c, recurrent, mask = ctx.saved_tensors
        hidden = recurrent.shape[1]
        d_h = _output_grads(d_outputs, states[1:])
        d_c = torch.zeros_like(cells[0]) if d_cell is None else d_cell.clone()
        d_pre = torch.empty_like(gates)
        scratch = torch.empty_like(d_c)
        for t in range(len(gates) - 1, -1, -1):
            z, d, dh, tc = gates[t], d_pre[t], d_h[t], tanh_c[t]
            o, i, f, g = z.split(hidden, 1)
            d_o, d_i, d_f, d_g = d.split(hidden, 1)
            _sigmoid_slope(z[:, : 3 * hidden], out=d[:, : 3 * hidden])
            _one_minus_square(g, out=d_g)
            # d c_t += dh o (1 - tanh(c_t)^2)
            _one_minus_square(tc, out=scratch).mul_(o)
            d_c.addcmul_(dh, scratch)
            d_o.mul_(dh).mul_(tc)
            # i, f and g all take d c_t: one pass over the three blocks
            d[:, hidden:].unflatten(1, (3, hidden)).mul_(d_c.unsqueeze(1))
            d_i.mul_(g)
            d_f.mul_(cells[t])
            d_g.mul_(i)
            d_c.mul_(f)
            if t:
                _add_recurrent_grad(d_h[t - 1], d, recurrent, mask)
        return d_pre, _weight_grad(_recurrent_inputs(states, mask), d_pre), None


class GRURecurrence(Function):
    """Reset-after GRU, gates r, z, n as torch orders them: ``xw`` [T, batch, 3H] holds
    x W^T + b, ``recurrent`` [3H, H] and ``recurrent_bias`` [3H] act on the state."""

    @staticmethod
    def forward(ctx: FunctionCtx, xw: Tensor, recurrent: Tensor, recurrent_bias: Tensor,
                mask: Tensor | None) -> Tensor:
        hidden = recurrent.shape[1]
        states = _states(xw, hidden)
        hz_all = torch.empty_like(xw)
        gates = torch.empty_like(xw)
        u_t = recurrent.t()
        for t, step in enumerate(xw.unbind(0)):
            hz, a = hz_all[t], gates[t]
            torch.addmm(recurrent_bias, masked(states[t], mask), u_t, out=hz)
            rz = a[:, : 2 * hidden]
            torch.add(step[:, : 2 * hidden], hz[:, : 2 * hidden], out=rz).sigmoid_()
            r, z, n = a.split(hidden, 1)
            torch.addcmul(step[:, 2 * hidden :], r, hz[:, 2 * hidden :], out=n).tanh_()
            torch.lerp(n, states[t], z, out=states[t + 1])  # (1 - z) n + z h
        ctx.save_for_backward(states, hz_all, gates, recurrent, mask)
        return states[1:]

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor | None):
        states, hz_all, gates, recurrent, mask = ctx.saved_tensors
        hidden = recurrent.shape[1]
        d_h = _output_grads(d_outputs, states[1:])
        # What does not depend on the incoming gradients, for all steps at once:
        # d n_pre = dh (1 - z)(1 - n^2); d z_pre = dh (h_prev - n) z (1 - z);
        # d r_pre = d n_pre hz_n r (1 - r).
        r, z, n = gates.split(hidden, 2)
        factors = _sigmoid_slope(gates)
        f_r, f_z, f_n = factors.split(hidden, 2)
        f_r.mul_(hz_all[..., 2 * hidden :])
        f_z.mul_(states[:-1] - n)
        _one_minus_square(n, out=f_n).addcmul_(f_n, z, value=-1)
        d_hz = torch.empty_like(gates)
        for t in range(len(gates) - 1, -1, -1):  # the factors become d xw in place
            dh, dx, dhz = d_h[t], factors[t], d_hz[t]
            dx_r, dx_z, dx_n = dx.split(hidden, 1)
            dx_n.mul_(dh)
            dx_z.mul_(dh)
            dx_r.mul_(dx_n)
            torch.mul(dx_n, r[t], out=dhz[:, 2 * hidden :])
            dhz[:, : 2 * hidden].copy_(dx[:, : 2 * hidden])
            if t:
                d_h[t - 1].addcmul_(dh, z[t])
                _add_recurrent_grad(d_h[t - 1], dhz, recurrent, mask)
        d_recurrent = _weight_grad(_recurrent_inputs(states, mask), d_hz)
        return factors, d_recurrent, d_hz.sum((0, 1)), None


class LNRNNRecurrence(Function):
    """h_t = tanh(LayerNorm(xw_t + h_{t-1} U)) with ``recurrent`` U in the canonical
    orientation [H, H], scale ``gamma`` and offset ``beta``."""

    @staticmethod
    def forward(ctx: FunctionCtx, xw: Tensor, recurrent: Tensor, gamma: Tensor, beta: Tensor,
                mask: Tensor | None) -> Tensor:
        hidden = recurrent.shape[1]
        states = _states(xw, hidden)
        pre = torch.empty_like(xw)
        means, rstds = [], []
        for t, step in enumerate(xw.unbind(0)):
            torch.addmm(step, masked(states[t], mask), recurrent, out=pre[t])
            normed, mean, rstd = torch.native_layer_norm(pre[t], (hidden,), gamma, beta,
                                                         LAYER_NORM_EPSILON)
            torch.tanh(normed, out=states[t + 1])
            means.append(mean)
            rstds.append(rstd)
        ctx.save_for_backward(states, pre, torch.stack(means), torch.stack(rstds), recurrent,
                              gamma, beta, mask)
        return states[1:]

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor | None):
        states, pre, means, rstds, recurrent, gamma, beta, mask = ctx.saved_tensors
        hidden = recurrent.shape[1]
        d_normed = _output_grads(d_outputs, states[1:])
        d_pre = torch.empty_like(pre)
        u_t = recurrent.t()
        slopes = _one_minus_square(states[1:])
        only_input = [True, False, False]
        for t in range(len(pre) - 1, -1, -1):
            dy = d_normed[t].mul_(slopes[t])
            d, _, _ = torch.ops.aten.native_layer_norm_backward(
                dy, pre[t], (hidden,), means[t], rstds[t], gamma, beta, only_input)
            d_pre[t].copy_(d)
            if t:
                _add_recurrent_grad(d_normed[t - 1], d, u_t, mask)
        normalised = (pre - means).mul_(rstds)
        d_gamma = (d_normed * normalised).sum((0, 1))
        d_beta = d_normed.sum((0, 1))
        inputs = _recurrent_inputs(states, mask)
        d_recurrent = inputs.flatten(0, 1).t().mm(d_pre.flatten(0, 1))
        return d_pre, d_recurrent, d_gamma, d_beta, None
