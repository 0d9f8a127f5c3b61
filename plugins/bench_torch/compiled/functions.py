"""The compiled loops (:mod:`.loops`) as autograd Functions, with the same arguments and
results as :mod:`bench_torch.kernels`' (batch-major inputs and outputs, weights in torch's
layout), so a cell switches path by switching module; the LSTM's gates stay in torch's order
(:data:`LSTM_GATE_ORDER`): the loops read each gate wherever it lies, and reordering the
weights cost the cell three gathers forward and three scatters backward every step.

Each part's loops project its inputs a chunk of :data:`bench_torch.kernels.CHUNK` steps at a
time and add each backward chunk's share of the weights' gradients themselves
(:class:`_Shares`); around them torch does only the inputs' gradient, when asked for. The
outputs are written batch-major (no copy for the read-out). What the backward pass needs of
the forward pass is kept for every step (the layer norm's inputs, the GRU's recurrent n
block), not recomputed per chunk: a step's peak memory stays well under the frameworks'
(docs/kernels.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import FunctionCtx, once_differentiable

from bench_torch.compiled import BENCH_COMPILED, loops
from bench_torch.compiled.blas import SCRATCH
from bench_torch.compiled.parallel import PARALLEL
from bench_torch.kernels import CHUNK, chunks
from bench_torch.threads import independent_threads

_in_float32 = torch.amp.custom_fwd(device_type="cpu", cast_inputs=torch.float32)
"""A Function's forward pass under CPU autocast: its inputs cast to float32 and autocast off
inside, so the loops get what they compute in (autocast's bfloat16 projection was refused)."""
_as_forward = torch.amp.custom_bwd(device_type="cpu")
"""The backward pass under the autocast state of its forward pass."""


def _array(tensor: Tensor) -> np.ndarray:
    """A numpy view of ``tensor`` (made contiguous first if need be). float32 only: the
    loops' products are ``sgemm``, which would read any other type's bytes as float32."""
    if tensor.dtype != torch.float32:
        raise TypeError(f"the {BENCH_COMPILED} kernel path computes in float32, not "
                        f"{str(tensor.dtype).removeprefix('torch.')}: keep the cell in "
                        "float32 or choose kernel 'bench' or 'framework'")
    return tensor.detach().contiguous().numpy()


def _transposed(recurrent: Tensor) -> np.ndarray:
    """``recurrent`` [width, H] as the forward loop multiplies by it, [H, width] (a copy);
    the backward loop takes it as it is."""
    return _array(recurrent.detach().t())


INDEPENDENT_WORK = 2**21
"""Multiply-adds of one part's recurrent product per step from which the parts run on
bench's independent threads (:func:`bench_torch.threads.independent_threads`, more than
torch's own when other processes keep CPUs busy); below it, on torch's count. Measured
beside two busy neighbours on 2 cores, one torch thread (docs/threads.md): two parts of the
LSTM (64 x 128 x 512 = 4.2 M) ran 1.4x faster than one part, of the GRU (3.1 M) and of rnn
(1.05 M) level, of lnrnn (1.05 M) 1.35x slower."""


_CPUS = os.cpu_count() or 1
"""The most parts a batch is split into (read once: the call took 22 µs here, a tenth of a
tiny step's loops)."""


class _Parts:
    """The batch split into equal parts, one per thread (:mod:`.loops`), when it divides
    evenly; every buffer of the loops has a leading part axis. Decided in the forward pass
    and kept for the backward one, whose buffers are the forward pass's. ``work``: the
    multiply-adds of a row's recurrent product (width x hidden)."""

    def __init__(self, batch: int, work: int):
        threads = independent_threads()
        if batch // threads * work < INDEPENDENT_WORK:
            threads = torch.get_num_threads()
        threads = min(threads, _CPUS)
        self.count = threads if threads > 1 and batch % threads == 0 and PARALLEL else 1
        self.size = batch // self.count

    def split(self, tensor: Tensor) -> Tensor:
        """Batch-major ``tensor`` [batch, ...] as [parts, rows, ...] (a view)."""
        return tensor.view(self.count, self.size, *tensor.shape[1:])

    def chunk(self, shape: torch.Size, width: int | None = None) -> np.ndarray:
        """A chunk's buffer for each part, [parts, steps, rows, width], for inputs of
        ``shape`` [batch, T, input] (``width`` the input's unless given): the forward loops
        project a chunk of steps at a time."""
        steps = min(CHUNK, shape[1])
        return np.empty((self.count, steps, self.size, width or shape[2]), np.float32)

    def rows(self, width: int) -> np.ndarray:
        """A step's buffer for each part, [parts, rows, width]."""
        return np.empty((self.count, self.size, width), np.float32)

    def carried(self, width: int) -> np.ndarray:
        """A gradient carried from step to step and chunk to chunk, zero before the last."""
        return np.zeros((self.count, self.size, width), np.float32)

    def scratch(self) -> np.ndarray:
        return np.empty((self.count, SCRATCH), np.float32)

    def mask(self, mask: Tensor | None, hidden: int) -> np.ndarray:
        """The recurrent-dropout mask per part for the loops, ones without dropout."""
        if mask is None:
            return np.ones((self.count, self.size, hidden), np.float32)
        return _array(self.split(mask))

    @contextmanager
    def threads(self) -> Iterator[None]:
        """Around a loop: one thread per part, each calling BLAS on one thread (torch's
        count is the one MKL reads); torch's count is put back after."""
        if self.count == 1:
            yield
            return
        blas_threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(blas_threads)


class _Shares:
    """The weights' gradients of a backward pass, added up in the parts' own threads: after
    each chunk, a part's loop multiplies its ``[h_{t-1} * mask | x_t | 1]`` (``joined``,
    which it writes) by the chunk's gradient into the part's ``shares`` [H + input + 1,
    width] with one single-threaded product, and the parts' shares are summed once at the
    end. The inputs' gradient, when asked for, is a product per chunk in torch."""

    def __init__(self, parts: _Parts, x: Tensor, weight: Tensor, recurrent: Tensor,
                 needs_x: bool):
        hidden = recurrent.shape[1]
        depth = hidden + x.shape[2] + 1
        self.parts, self.weight, self.hidden = parts, weight, hidden
        self.x = _array(parts.split(x))
        self.joined = parts.chunk(x.shape, depth)
        self.shares = x.new_zeros(parts.count, depth, recurrent.shape[0])
        self.d_x = torch.empty_like(x) if needs_x else None

    def loop_arrays(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The inputs, the chunk's ``joined`` and the shares, as the backward loops take them."""
        return self.x, self.joined[:, : stop - start], _array(self.shares)

    def add_inputs(self, start: int, d_projection: Tensor) -> None:
        """The inputs' gradient at the chunk's steps from the projection's, [parts, steps,
        rows, width], when asked for."""
        if self.d_x is not None:
            d_x = torch.mm(d_projection.reshape(-1, d_projection.shape[-1]), self.weight)
            steps = d_projection.shape[1]
            self.parts.split(self.d_x)[:, :, start : start + steps].copy_(
                d_x.view(*d_projection.shape[:3], -1).transpose(1, 2))

    def results(self) -> tuple[Tensor | None, Tensor, Tensor, Tensor]:
        """The inputs' gradient (or None), the weight's, the bias's and the recurrent
        weight's."""
        total, hidden = self.shares.sum(0), self.hidden
        return (self.d_x, total[hidden:-1].t().contiguous(), total[-1],
                total[:hidden].t().contiguous())


class RNNRecurrence(Function):
    """h_t = tanh(x_t W^T + b + h_{t-1} U^T); ``recurrent`` is torch's ``weight_hh``."""

    @staticmethod
    @_in_float32
    def forward(ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                mask: Tensor | None) -> Tensor:
        parts, hidden = _Parts(x.shape[0], recurrent.numel()), recurrent.shape[1]
        ctx.parts = parts
        out = x.new_empty(x.shape[0], x.shape[1], hidden)
        with parts.threads():
            loops.rnn_forward(_array(parts.split(x)), _transposed(weight), _array(bias),
                              _transposed(recurrent), parts.mask(mask, hidden),
                              _array(parts.split(out)), parts.chunk(x.shape),
                              parts.chunk(x.shape, hidden), parts.rows(hidden),
                              parts.scratch())
        ctx.save_for_backward(x, weight, recurrent, out, mask)
        return out

    @staticmethod
    @_as_forward
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor):
        x, weight, recurrent, out, mask = ctx.saved_tensors
        parts, hidden = ctx.parts, recurrent.shape[1]
        shares = _Shares(parts, x, weight, recurrent, ctx.needs_input_grad[0])
        buffer = out.new_empty(parts.count, CHUNK, parts.size, hidden)
        arrays = (_array(parts.split(out)), _array(parts.split(d_outputs)))
        per_step = (_array(recurrent), parts.mask(mask, hidden), parts.carried(hidden),
                    parts.scratch())
        for start, stop in chunks(x.shape[1]):
            x_parts, joined, shares_parts = shares.loop_arrays(start, stop)
            with parts.threads():
                loops.rnn_backward(*arrays, x_parts, _array(buffer)[:, : stop - start],
                                   joined, shares_parts, start, stop, *per_step)
            shares.add_inputs(start, buffer[:, : stop - start])
        return (*shares.results(), None)


LSTM_GATE_ORDER = "ifgo"
"""The gate blocks' order in the rows of :class:`LSTMRecurrence`'s weights (torch's)."""


def _lstm_gates(parts: _Parts, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                mask: Tensor | None, out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The LSTM's forward loop, writing the outputs into ``out``: the activated gates, the
    cell states and their tanh, [parts, T, rows, ...]."""
    hidden = recurrent.shape[1]
    gates = x.new_empty(parts.count, x.shape[1], parts.size, 4 * hidden)
    cells, tanh_c = (gates.new_empty(*gates.shape[:3], hidden) for _ in range(2))
    with parts.threads():
        loops.lstm_forward(_array(parts.split(x)), _transposed(weight), _array(gates),
                           _array(bias), _transposed(recurrent),
                           parts.mask(mask, hidden), _array(cells), _array(tanh_c),
                           _array(parts.split(out)), parts.chunk(x.shape), parts.rows(hidden),
                           parts.scratch())
    return gates, cells, tanh_c


class LSTMRecurrence(Function):
    """c_t = f c_{t-1} + i g, h_t = o tanh(c_t), gates in the order i, f, g, o. Returns the
    outputs and the final c."""

    @staticmethod
    @_in_float32
    def forward(ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                mask: Tensor | None) -> tuple[Tensor, Tensor]:
        parts, hidden = _Parts(x.shape[0], recurrent.numel()), recurrent.shape[1]
        ctx.parts, ctx.spent = parts, False
        out = x.new_empty(x.shape[0], x.shape[1], hidden)
        gates, cells, tanh_c = _lstm_gates(parts, x, weight, bias, recurrent, mask, out)
        ctx.save_for_backward(x, weight, bias, recurrent, out, cells, gates, tanh_c, mask)
        return out, cells[:, -1].reshape(x.shape[0], hidden).clone()  # c of its own

    @staticmethod
    @_as_forward
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor, d_cell: Tensor):
        x, weight, bias, recurrent, out, cells, gates, tanh_c, mask = ctx.saved_tensors
        parts, hidden = ctx.parts, recurrent.shape[1]
        if ctx.spent:  # a second backward pass: the first turned the gates into its gradient
            gates, cells, tanh_c = _lstm_gates(parts, x, weight, bias, recurrent, mask,
                                               torch.empty_like(out))
        ctx.spent = True
        shares = _Shares(parts, x, weight, recurrent, ctx.needs_input_grad[0])
        arrays = (_array(parts.split(out)), _array(recurrent), parts.mask(mask, hidden),
                  _array(cells), _array(tanh_c), _array(parts.split(d_outputs)),
                  _array(parts.split(d_cell)).copy(), parts.carried(hidden), parts.scratch())
        for start, stop in chunks(x.shape[1]):
            with parts.threads():
                loops.lstm_backward(_array(gates), *shares.loop_arrays(start, stop), start,
                                    stop, *arrays)
            shares.add_inputs(start, gates[:, start:stop])
        return (*shares.results(), None)


def _gru_gates(parts: _Parts, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
               recurrent_bias: Tensor, mask: Tensor | None,
               out: Tensor) -> tuple[Tensor, Tensor]:
    """The GRU's forward loop, writing the outputs into ``out``: the activated gates,
    [parts, T, rows, 3H], and the n block of every step's recurrent product (with its bias),
    [parts, T, rows, H], which the backward pass needs (r scales it)."""
    hidden = recurrent.shape[1]
    gates = x.new_empty(parts.count, x.shape[1], parts.size, 3 * hidden)
    kept = gates.new_empty(*gates.shape[:3], hidden)
    with parts.threads():
        loops.gru_forward(_array(parts.split(x)), _transposed(weight), _array(gates),
                          _array(bias), _transposed(recurrent),
                          _array(recurrent_bias), parts.mask(mask, hidden),
                          _array(parts.split(out)), parts.chunk(x.shape), parts.rows(hidden),
                          parts.rows(3 * hidden), parts.rows(hidden), _array(kept),
                          parts.scratch())
    return gates, kept


class GRURecurrence(Function):
    """Reset-after GRU, gates r, z, n as torch orders them: ``weight``, ``bias`` act on x,
    ``recurrent`` [3H, H] and ``recurrent_bias`` [3H] on the state."""

    @staticmethod
    @_in_float32
    def forward(ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                recurrent_bias: Tensor, mask: Tensor | None) -> Tensor:
        parts, hidden = _Parts(x.shape[0], recurrent.numel()), recurrent.shape[1]
        ctx.parts, ctx.spent = parts, False
        out = x.new_empty(x.shape[0], x.shape[1], hidden)
        gates, kept = _gru_gates(parts, x, weight, bias, recurrent, recurrent_bias, mask, out)
        ctx.save_for_backward(x, weight, bias, recurrent, recurrent_bias, out, gates, kept,
                              mask)
        return out

    @staticmethod
    @_as_forward
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor):
        x, weight, bias, recurrent, recurrent_bias, out, gates, kept, mask = ctx.saved_tensors
        parts, hidden = ctx.parts, recurrent.shape[1]
        if ctx.spent:  # a second backward pass: the first turned the gates and the kept n
            # blocks into their gradients
            gates, kept = _gru_gates(parts, x, weight, bias, recurrent, recurrent_bias, mask,
                                     torch.empty_like(out))
        ctx.spent = True
        shares = _Shares(parts, x, weight, recurrent, ctx.needs_input_grad[0])
        n_shares = x.new_zeros(parts.count, x.shape[2] + 1, hidden)
        arrays = (_array(parts.split(out)), _array(recurrent), parts.mask(mask, hidden),
                  _array(parts.split(d_outputs)), parts.carried(hidden),
                  parts.carried(hidden), parts.scratch())
        for start, stop in chunks(x.shape[1]):
            # the loop turns the kept n blocks into the projection's n-block gradient, the
            # gates into the recurrent product's gradient
            with parts.threads():
                loops.gru_backward(_array(gates), _array(kept)[:, start:stop],
                                   *shares.loop_arrays(start, stop), _array(n_shares), start,
                                   stop, *arrays)
            if shares.d_x is not None:
                shares.add_inputs(start, torch.cat((gates[:, start:stop, :, : 2 * hidden],
                                                    kept[:, start:stop]), -1))
        d_x, d_weight, d_bias, d_recurrent = shares.results()
        d_recurrent_bias = d_bias.clone()  # the product's bias has a share in every block
        n_total = n_shares.sum(0)
        d_weight[2 * hidden :] = n_total[:-1].t()
        d_bias[2 * hidden :] = n_total[-1]
        return d_x, d_weight, d_bias, d_recurrent, d_recurrent_bias, None


def _lnrnn_inputs(parts: _Parts, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                  gamma: Tensor, beta: Tensor, mask: Tensor | None,
                  out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The layer-norm RNN's forward loop, writing the outputs into ``out``: every step's
    layer norm inputs, [parts, T, rows, H], each row's mean and 1 / sqrt(var + eps), [parts,
    T, rows]."""
    hidden = recurrent.shape[1]
    pre = x.new_empty(parts.count, x.shape[1], parts.size, hidden)
    means, rstd = (x.new_empty(*pre.shape[:3]) for _ in range(2))
    with parts.threads():
        loops.lnrnn_forward(_array(parts.split(x)), _transposed(weight), _array(bias),
                            _transposed(recurrent), _array(gamma), _array(beta),
                            parts.mask(mask, hidden), _array(parts.split(out)), _array(means),
                            _array(rstd), parts.chunk(x.shape), _array(pre),
                            parts.rows(hidden), parts.scratch())
    return pre, means, rstd


class LNRNNRecurrence(Function):
    """h_t = tanh(LayerNorm(x_t W^T + b + h_{t-1} U^T)) with scale ``gamma`` and offset
    ``beta``; ``weight`` and ``recurrent`` in torch's layout."""

    @staticmethod
    @_in_float32
    def forward(ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                gamma: Tensor, beta: Tensor, mask: Tensor | None) -> Tensor:
        parts = _Parts(x.shape[0], recurrent.numel())
        ctx.parts, ctx.spent = parts, False
        out = x.new_empty(x.shape[0], x.shape[1], recurrent.shape[1])
        pre, means, rstd = _lnrnn_inputs(parts, x, weight, bias, recurrent, gamma, beta, mask,
                                         out)
        ctx.save_for_backward(x, weight, bias, recurrent, gamma, beta, out, pre, means, rstd,
                              mask)
        return out

    @staticmethod
    @_as_forward
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor):
        x, weight, bias, recurrent, gamma, beta, out, pre, means, rstd, mask = ctx.saved_tensors
        parts, hidden = ctx.parts, recurrent.shape[1]
        if ctx.spent:  # a second backward pass: the first turned the layer norm's inputs
            # into their gradient
            pre, means, rstd = _lnrnn_inputs(parts, x, weight, bias, recurrent, gamma, beta,
                                             mask, torch.empty_like(out))
        ctx.spent = True
        shares = _Shares(parts, x, weight, recurrent, ctx.needs_input_grad[0])
        d_gamma, d_beta = (gamma.new_zeros(parts.count, hidden) for _ in range(2))
        arrays = (_array(parts.split(out)), _array(recurrent), _array(gamma),
                  parts.mask(mask, hidden), _array(means), _array(rstd),
                  _array(parts.split(d_outputs)), _array(d_gamma), _array(d_beta),
                  parts.carried(hidden), np.empty((parts.count, hidden), np.float32),
                  parts.scratch())
        for start, stop in chunks(x.shape[1]):
            # the loop turns the layer norm's inputs into their gradient
            with parts.threads():
                loops.lnrnn_backward(_array(pre)[:, start:stop],
                                     *shares.loop_arrays(start, stop), start, stop, *arrays)
            shares.add_inputs(start, pre[:, start:stop])
        return (*shares.results(), d_gamma.sum(0), d_beta.sum(0), None)
