"""The compiled loops (:mod:`.loops`) as autograd Functions, with the same arguments and
results as :mod:`bench_torch.kernels`' (batch-major inputs and outputs, weights in torch's
layout, LSTM gates in the order o, i, f, g), so a cell switches path by switching module.

Around the loops, torch does the whole-sequence work: the input projection before the
forward loop, and after the backward loop the weights' (and, when asked, the inputs')
gradients as a few large products over every step at once. The loops' buffers are
time-major (:mod:`.loops` says why); the outputs are returned as a batch-major view of
them, and the outputs' gradient is read as autograd gives it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import FunctionCtx, once_differentiable

from bench_torch.compiled import loops
from bench_torch.compiled.blas import SCRATCH


def _array(tensor: Tensor) -> np.ndarray:
    return tensor.detach().numpy()


def _scratch() -> np.ndarray:
    return np.empty(SCRATCH, np.float32)


def _time_major(x: Tensor) -> Tensor:
    """``x`` [batch, T, input] as a contiguous [T, batch, input] copy (the input is narrow:
    this is the one copy of a sequence the path makes)."""
    return x.detach().transpose(0, 1).contiguous()


def _projection(x_steps: Tensor, weight: Tensor) -> Tensor:
    """``x W^T`` for every step at once, [T, batch, width]: the buffer a forward loop then
    works in (and adds the bias in)."""
    flat = x_steps.view(-1, x_steps.shape[2])
    return torch.mm(flat, weight.detach().t()).view(*x_steps.shape[:2], weight.shape[0])


def _mask(mask: Tensor | None, like: Tensor) -> np.ndarray:
    """The recurrent-dropout mask, ones without dropout."""
    if mask is None:
        return np.ones(like.shape[1:], np.float32)
    return _array(mask.contiguous())


def _contiguous(tensor: Tensor) -> np.ndarray:
    return _array(tensor.contiguous())


def _recurrent_weights(recurrent: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``recurrent`` [width, H] as the backward loop multiplies by it, and transposed
    [H, width] as the forward loop does."""
    return _contiguous(recurrent), _contiguous(recurrent.detach().t())


def _step_rows(length: int, hidden: int) -> tuple[np.ndarray, np.ndarray]:
    """A step's [batch, H] buffer of state gradients and one of masked states."""
    return np.empty((length, hidden), np.float32), np.empty((length, hidden), np.float32)


class _Gradients:
    """The input projection's gradients from ``d_pre`` [T * batch, width] (a 2D view, rows
    possibly strided): the weight's [width, input], the bias's and, when asked, the inputs'.
    The weight's is formed as ``(x^T d_pre)^T``: [input, rows] x [rows, width] ran 5x faster
    here than [width, rows] x [rows, input] with its narrow result."""

    def __init__(self, x_steps: Tensor, weight: Tensor, d_pre: Tensor):
        flat_x = x_steps.view(-1, x_steps.shape[2])
        self.d_weight = (flat_x.t() @ d_pre).t().contiguous()
        self.d_bias = d_pre.sum(0)
        self._shape, self._weight, self._d_pre = x_steps.shape, weight, d_pre

    def inputs(self, needed: bool) -> Tensor | None:
        """The inputs' gradient, batch-major [batch, T, input], when ``needed``."""
        if not needed:
            return None
        return (self._d_pre @ self._weight.detach()).view(self._shape).transpose(0, 1)


def recurrent_grad(d_pre: Tensor, states: Tensor, mask: Tensor | None) -> Tensor:
    """``sum_t d_pre_t^T (h_{t-1} * mask)`` over the steps after the first (h_{-1} = 0), for
    time-major ``d_pre`` [T, B, width] and ``states`` [T, B, H]: one product."""
    previous = states[:-1] if mask is None else states[:-1] * mask
    return d_pre[1:].reshape(-1, d_pre.shape[2]).t() @ previous.reshape(-1, states.shape[2])


class RNNRecurrence(Function):
    """h_t = tanh(x_t W^T + b + h_{t-1} U^T); ``recurrent`` is torch's ``weight_hh``."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                mask: Tensor | None) -> Tensor:
        x_steps = _time_major(x)
        states = _projection(x_steps, weight)
        _, recurrent_t = _recurrent_weights(recurrent)
        _, held = _step_rows(x.shape[0], recurrent.shape[1])
        loops.rnn_forward(_array(states), _contiguous(bias), recurrent_t, _mask(mask, states),
                          held, _scratch())
        ctx.save_for_backward(x_steps, weight, recurrent, states, mask)
        return states.transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor):
        x_steps, weight, recurrent, states, mask = ctx.saved_tensors
        d_pre = torch.empty_like(states)
        recurrent_np, _ = _recurrent_weights(recurrent)
        dh, _ = _step_rows(states.shape[1], recurrent.shape[1])
        loops.rnn_backward(_array(states), _contiguous(d_outputs), _array(d_pre), recurrent_np,
                           _mask(mask, states), dh, _scratch())
        grads = _Gradients(x_steps, weight, d_pre.view(-1, d_pre.shape[2]))
        return (grads.inputs(ctx.needs_input_grad[0]), grads.d_weight, grads.d_bias,
                recurrent_grad(d_pre, states, mask), None)


class LSTMRecurrence(Function):
    """c_t = f c_{t-1} + i g, h_t = o tanh(c_t), gates in the order o, i, f, g. Returns the
    outputs and the final c."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                mask: Tensor | None) -> tuple[Tensor, Tensor]:
        x_steps = _time_major(x)
        gates = _projection(x_steps, weight)
        batch, steps, hidden = x.shape[0], x.shape[1], recurrent.shape[1]
        states, cells, tanh_c = (gates.new_empty(steps, batch, hidden) for _ in range(3))
        _, recurrent_t = _recurrent_weights(recurrent)
        _, held = _step_rows(batch, hidden)
        loops.lstm_forward(_array(gates), _contiguous(bias), recurrent_t, _mask(mask, states),
                           _array(cells), _array(tanh_c), _array(states), held, _scratch())
        ctx.save_for_backward(x_steps, weight, recurrent, states, cells, gates, tanh_c, mask)
        return states.transpose(0, 1), cells[-1]

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor, d_cell: Tensor):
        x_steps, weight, recurrent, states, cells, gates, tanh_c, mask = ctx.saved_tensors
        recurrent_np, _ = _recurrent_weights(recurrent)
        dh, _ = _step_rows(states.shape[1], recurrent.shape[1])
        loops.lstm_backward(_array(gates), recurrent_np, _mask(mask, states), _array(cells),
                            _array(tanh_c), _contiguous(d_outputs), _contiguous(d_cell).copy(),
                            dh, _scratch())
        grads = _Gradients(x_steps, weight, gates.view(-1, gates.shape[2]))
        return (grads.inputs(ctx.needs_input_grad[0]), grads.d_weight, grads.d_bias,
                recurrent_grad(gates, states, mask), None)


class GRURecurrence(Function):
    """Reset-after GRU, gates r, z, n as torch orders them: ``weight``, ``bias`` act on x,
    ``recurrent`` [3H, H] and ``recurrent_bias`` [3H] on the state."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                recurrent_bias: Tensor, mask: Tensor | None) -> Tensor:
        x_steps = _time_major(x)
        gates = _projection(x_steps, weight)
        batch, steps, hidden = x.shape[0], x.shape[1], recurrent.shape[1]
        states, hz_n = (gates.new_empty(steps, batch, hidden) for _ in range(2))
        _, recurrent_t = _recurrent_weights(recurrent)
        _, held = _step_rows(batch, hidden)
        loops.gru_forward(_array(gates), _contiguous(bias), recurrent_t,
                          _contiguous(recurrent_bias), _mask(mask, states), _array(hz_n),
                          _array(states), held, np.empty((batch, 3 * hidden), np.float32),
                          _scratch())
        ctx.save_for_backward(x_steps, weight, recurrent, states, gates, hz_n, mask)
        return states.transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor):
        x_steps, weight, recurrent, states, gates, hz_n, mask = ctx.saved_tensors
        batch, hidden = states.shape[1], recurrent.shape[1]
        recurrent_np, _ = _recurrent_weights(recurrent)
        dh, _ = _step_rows(batch, hidden)
        loops.gru_backward(_array(gates), _array(hz_n), _array(states), recurrent_np,
                           _mask(mask, states), _contiguous(d_outputs), dh,
                           np.zeros((batch, hidden), np.float32), _scratch())
        # gates: the recurrent product's gradient; the projection's differs in the n block,
        # which hz_n holds
        flat_gates = gates.view(-1, 3 * hidden)
        r_z = _Gradients(x_steps, weight[: 2 * hidden], flat_gates[:, : 2 * hidden])
        n = _Gradients(x_steps, weight[2 * hidden :], hz_n.view(-1, hidden))
        d_x = None
        if ctx.needs_input_grad[0]:
            d_x = r_z.inputs(True) + n.inputs(True)
        return (d_x, torch.cat([r_z.d_weight, n.d_weight]), torch.cat([r_z.d_bias, n.d_bias]),
                recurrent_grad(gates, states, mask), flat_gates.sum(0), None)


class LNRNNRecurrence(Function):
    """h_t = tanh(LayerNorm(x_t W^T + b + h_{t-1} U^T)) with scale ``gamma`` and offset
    ``beta``; ``weight`` and ``recurrent`` in torch's layout."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                gamma: Tensor, beta: Tensor, mask: Tensor | None) -> Tensor:
        x_steps = _time_major(x)
        pre = _projection(x_steps, weight)
        states = torch.empty_like(pre)
        rstd = pre.new_empty(pre.shape[:2])
        _, recurrent_t = _recurrent_weights(recurrent)
        _, held = _step_rows(x.shape[0], recurrent.shape[1])
        loops.lnrnn_forward(_array(pre), _contiguous(bias), recurrent_t, _contiguous(gamma),
                            _contiguous(beta), _mask(mask, states), _array(states),
                            _array(rstd), held, _scratch())
        ctx.save_for_backward(x_steps, weight, recurrent, states, pre, rstd, gamma, mask)
        return states.transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor):
        x_steps, weight, recurrent, states, pre, rstd, gamma, mask = ctx.saved_tensors
        d_gamma, d_beta = torch.zeros_like(gamma), torch.zeros_like(gamma)
        recurrent_np, _ = _recurrent_weights(recurrent)
        dh, _ = _step_rows(states.shape[1], recurrent.shape[1])
        loops.lnrnn_backward(_array(pre), _array(states), recurrent_np, _contiguous(gamma),
                             _mask(mask, states), _array(rstd), _contiguous(d_outputs),
                             _array(d_gamma), _array(d_beta), dh,
                             np.empty(states.shape[2], np.float32), _scratch())
        grads = _Gradients(x_steps, weight, pre.view(-1, pre.shape[2]))
        return (grads.inputs(ctx.needs_input_grad[0]), grads.d_weight, grads.d_bias,
                recurrent_grad(pre, states, mask), d_gamma, d_beta, None)
