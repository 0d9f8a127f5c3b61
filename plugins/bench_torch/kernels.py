"""bench's own recurrences for the standard cells: kernel path ``bench-fused`` (CPU and GPU).

Each is a :class:`torch.autograd.Function` over the whole sequence, so autograd sees one
node instead of a dozen per step. It takes the time-major inputs and the cell's weights in
torch's layout (``weight`` [width, input], ``bias`` [width], ``recurrent`` [width, H]) and
computes the input projection of every step in one matrix product, into the buffer the
recurrence then works in place in; a step is the recurrent product (``addmm_``) and a
handful of in-place elementwise operations that keep exactly what the backward pass needs.
The backward pass runs the recurrence in reverse, again one product and a few elementwise
operations per step, a chunk of :data:`CHUNK` steps at a time: after each chunk it adds the
chunk's share of the weights' gradients as a few products over the whole chunk, so no
sequence-long gradient buffer is ever held (peak memory at most the framework kernels').

LSTM gates are kept internally in the order o, i, f, g (:data:`LSTM_GATE_ORDER`; the cell
permutes its weights), so one ``sigmoid_`` covers three gates and one ``tanh_`` the fourth.

Recurrent dropout: ``mask`` (or None) multiplies the previous state where it enters the
recurrent product, as :mod:`bench_torch.cells` documents.

On the CPU :mod:`bench_torch.compiled` runs the same algorithm with each time loop compiled
(path ``bench-compiled``) and shares this module's chunking and weight-gradient helpers
(:func:`chunks`, :func:`chunk_previous`, :class:`WeightGrads`); these torch operations are
the path for other devices, and ``--kernel bench`` on the CPU.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import FunctionCtx, once_differentiable

from harness.reference import LAYER_NORM_EPSILON

BENCH_FUSED = "bench-fused"
CHUNK = 64
"""Steps whose gradients the backward pass holds at once before adding them to the weights'
(large enough that the weight gradients stay a few large, efficient products)."""


def masked(h: Tensor, mask: Tensor | None) -> Tensor:
    """``h`` as it enters the recurrent product under recurrent dropout (mask or None)."""
    return h if mask is None else h * mask


def _state_grad(out: Tensor, d_outputs: Tensor, t: int, d_next: Tensor | None,
                recurrent: Tensor, mask: Tensor | None) -> Tensor:
    """``out`` = the gradient reaching h_t: from above (``d_outputs[:, t]``; autograd passes
    zeros for an unused output) plus, but at the last step (``d_next`` None), what flows
    back through the next step's recurrent product, ``(d_next @ recurrent) * mask``. Written
    into a step-sized buffer, so the backward pass holds no sequence-long copy of the
    incoming gradients."""
    out.copy_(d_outputs[:, t])
    if d_next is None:
        return out
    if mask is None:
        return out.addmm_(d_next, recurrent)
    return out.addcmul_(torch.mm(d_next, recurrent), mask)


def _tanh_grad(grad: Tensor, output: Tensor) -> Tensor:
    """``grad *= 1 - output^2`` (the derivative of tanh, given its output) in one pass."""
    return torch.ops.aten.tanh_backward.grad_input(grad, output, grad_input=grad)


def _one_minus_square(v: Tensor, out: Tensor | None = None) -> Tensor:
    """1 - v^2 (the derivative of tanh, given its output) in one pass."""
    return torch.addcmul(_ONE, v, v, value=-1, out=out)


def _sigmoid_slope(v: Tensor, out: Tensor | None = None) -> Tensor:
    """v - v^2 = v (1 - v) (the derivative of the sigmoid, given its output) in one pass."""
    return torch.addcmul(v, v, v, value=-1, out=out)


_ONE = torch.ones(())
"""A 0-dim CPU tensor, which torch accepts next to tensors of any device."""


def _projected(x: Tensor, weight: Tensor, bias: Tensor, width: int) -> Tensor:
    """``x W^T + b`` for every step at once (one product): [batch, T, width]."""
    out = x.new_empty(*x.shape[:2], width)
    torch.addmm(bias, x.view(-1, x.shape[-1]), weight.t(), out=out.view(-1, width))
    return out


def _previous(states: Tensor, t: int, initial: Tensor) -> Tensor:
    """h_{t-1} (``initial`` at t = 0) of batch-major ``states``."""
    return states[:, t - 1] if t else initial


def previous_into(out: Tensor, states: Tensor, start: int) -> Tensor:
    """``out`` [steps, batch, H] = h_{t-1} for t in start..start+steps-1, time-major (zero
    before the first step); ``out`` may be a strided view."""
    stop = start + out.shape[0]
    first = max(start, 1)
    out[: first - start].zero_()
    out[first - start :].copy_(states[:, first - 1 : stop - 1].transpose(0, 1))
    return out


def chunk_previous(states: Tensor, start: int, stop: int) -> Tensor:
    """h_{t-1} for t in start..stop-1, time-major [stop - start, batch, H] (zero before the
    first step)."""
    return previous_into(states.new_empty(stop - start, states.shape[0], states.shape[2]),
                         states, start)


def chunks(length: int) -> list[tuple[int, int]]:
    """The backward pass's time ranges of at most :data:`CHUNK` steps, last first. All but
    the first one taken are full, so a chunk's first write to its buffer (at its last step's
    place) never meets the gradient the step after it left at the buffer's start."""
    return [(start, min(start + CHUNK, length)) for start in range(0, length, CHUNK)][::-1]


def stacked(weight: Tensor, bias: Tensor, recurrent: Tensor) -> Tensor:
    """``[U^T; W^T; b]``, [H + input + 1, width]: :meth:`WeightGrads.operand` times it is
    ``x_t W^T + b + (h_{t-1} * mask) U^T``, the pre-activations a backward pass recomputes in
    one product."""
    return torch.cat((recurrent.t(), weight.t(), bias.unsqueeze(0)))


class WeightGrads:
    """The weights' gradients, added up chunk by chunk: ``d weight`` [width, input],
    ``d bias``, ``d x`` (only when asked for) from the gradient of the projection ``x W^T +
    b``; ``d recurrent`` [width, H] from the gradient of the recurrent product and the
    states that entered it. Chunks are time-major; ``x`` and ``d x`` batch-major."""

    def __init__(self, x: Tensor, weight: Tensor, recurrent: Tensor, needs_x: bool):
        self.x, self.weight = x, weight
        self.d_weight = torch.zeros_like(weight)
        self.d_bias = weight.new_zeros(weight.shape[0])
        self.d_recurrent = torch.zeros_like(recurrent)
        self.d_x = torch.empty_like(x) if needs_x else None

    def operand(self, start: int, stop: int, states: Tensor, mask: Tensor | None) -> Tensor:
        """``[h_{t-1} under the mask | x_t | 1]`` for t in start..stop-1, time-major [steps,
        batch, H + input + 1], h_{t-1} from batch-major ``states``: what
        :meth:`add_shared` multiplies by (its first H columns are the chunk's states as they
        entered the recurrent product, for a pass that needs them too)."""
        hidden = states.shape[2]
        joined = states.new_empty(stop - start, states.shape[0],
                                  hidden + self.x.shape[2] + 1)
        previous_into(joined[..., :hidden], states, start)
        if mask is not None:
            joined[..., :hidden].mul_(mask)
        joined[..., hidden:-1].copy_(self.x[:, start:stop].transpose(0, 1))
        joined[..., -1].fill_(1.0)
        return joined

    def add_shared(self, start: int, d_pre: Tensor, joined: Tensor) -> None:
        """Every weight's share where the projection and the recurrent product have the same
        gradient ``d_pre`` (rnn, lnrnn, lstm), in one product, ``joined^T d_pre`` with
        ``joined`` from :meth:`operand`, which reads ``d_pre`` once instead of three times
        (a chunk of the LSTM's at the standard size, 2 threads: 2.4 ms against 2.8). The
        product is ``[input, rows] x [rows, width]``, transposed after: the other way round,
        with a narrow result, ran 5x slower here."""
        hidden = self.d_recurrent.shape[1]
        shares = joined.flatten(0, 1).t() @ d_pre.flatten(0, 1)
        self.d_recurrent.add_(shares[:hidden].t())
        self.d_weight.add_(shares[hidden:-1].t())
        self.d_bias.add_(shares[-1])
        self._add_inputs(start, d_pre)

    def add_gru(self, start: int, d_product: Tensor, d_projection_n: Tensor,
                joined: Tensor) -> Tensor:
        """The GRU's shares, where the projection's gradient is the recurrent product's
        ``d_product`` [steps, batch, 3H] in the r and z blocks and ``d_projection_n``
        [steps, batch, H] in the n block: ``joined^T d_product`` (``joined`` from
        :meth:`operand`) gives the recurrent weight's share, the r and z blocks of the
        weight's and the bias's, and the recurrent bias's (returned); ``[x | 1]^T
        d_projection_n`` the n blocks. Two products instead of two products and two passes
        summing the biases' shares."""
        hidden = self.d_recurrent.shape[1]
        operand = joined.flatten(0, 1)
        shares = operand.t() @ d_product.flatten(0, 1)
        n_shares = operand[:, hidden:].t() @ d_projection_n.flatten(0, 1)
        self.d_recurrent.add_(shares[:hidden].t())
        self.d_weight[: 2 * hidden].add_(shares[hidden:-1, : 2 * hidden].t())
        self.d_weight[2 * hidden :].add_(n_shares[:-1].t())
        self.d_bias[: 2 * hidden].add_(shares[-1, : 2 * hidden])
        self.d_bias[2 * hidden :].add_(n_shares[-1])
        if self.d_x is not None:
            self._add_inputs(start, torch.cat((d_product[..., : 2 * hidden], d_projection_n),
                                              -1))
        return shares[-1]

    def _add_inputs(self, start: int, d_xw: Tensor) -> None:
        """The inputs' gradient at steps ``start`` onwards, when asked for."""
        if self.d_x is not None:
            self.d_x[:, start : start + d_xw.shape[0]].copy_(
                torch.mm(d_xw.flatten(0, 1), self.weight).view(*d_xw.shape[:2], -1)
                .transpose(0, 1))


class RNNRecurrence(Function):
    """h_t = tanh(x_t W^T + b + h_{t-1} U^T) on batch-major ``x``; ``recurrent`` is torch's
    ``weight_hh``. Returns the outputs, batch-major."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                mask: Tensor | None) -> Tensor:
        x = x.contiguous()
        hidden = recurrent.shape[1]
        states = _projected(x, weight, bias, hidden)
        initial = x.new_zeros(x.shape[0], hidden)
        u_t = recurrent.t()
        for t in range(x.shape[1]):
            h_prev = _previous(states, t, initial)
            states[:, t].addmm_(masked(h_prev, mask), u_t).tanh_()
        ctx.save_for_backward(x, weight, recurrent, states, mask)
        return states

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor):
        x, weight, recurrent, states, mask = ctx.saved_tensors
        grads = WeightGrads(x, weight, recurrent, ctx.needs_input_grad[0])
        buffer = states.new_empty(CHUNK, states.shape[0], states.shape[2])
        d_next = None
        for start, stop in chunks(x.shape[1]):
            d_pre = buffer[: stop - start]
            for t in range(stop - 1, start - 1, -1):
                d = _state_grad(d_pre[t - start], d_outputs, t, d_next, recurrent, mask)
                d_next = _tanh_grad(d, states[:, t])
            grads.add_shared(start, d_pre, grads.operand(start, stop, states, mask))
        return grads.d_x, grads.d_weight, grads.d_bias, grads.d_recurrent, None


LSTM_GATE_ORDER = "oifg"
"""The gate blocks' order in the rows of :class:`LSTMRecurrence`'s weights."""


class LSTMRecurrence(Function):
    """c_t = f c_{t-1} + i g, h_t = o tanh(c_t), with the gates in the order o, i, f, g in
    the rows of ``weight``, ``bias`` and ``recurrent``. Returns the outputs and the final c."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                mask: Tensor | None) -> tuple[Tensor, Tensor]:
        x = x.contiguous()
        hidden = recurrent.shape[1]
        gates = _projected(x, weight, bias, 4 * hidden)
        states = x.new_empty(*x.shape[:2], hidden)
        cells, tanh_c = torch.empty_like(states), torch.empty_like(states)
        initial = x.new_zeros(x.shape[0], hidden)
        u_t = recurrent.t()
        for t in range(x.shape[1]):
            z = gates[:, t].addmm_(masked(_previous(states, t, initial), mask), u_t)
            z[:, : 3 * hidden].sigmoid_()
            z[:, 3 * hidden :].tanh_()
            o, i, f, g = z.split(hidden, 1)
            c = cells[:, t]
            torch.mul(f, _previous(cells, t, initial), out=c)
            c.addcmul_(i, g)
            torch.tanh(c, out=tanh_c[:, t])
            torch.mul(o, tanh_c[:, t], out=states[:, t])
        ctx.save_for_backward(x, weight, recurrent, states, cells, gates, tanh_c, mask)
        return states, cells[:, -1].clone()  # c of its own, not a view of what is saved

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor, d_cell: Tensor):
        x, weight, recurrent, states, cells, gates, tanh_c, mask = ctx.saved_tensors
        hidden = recurrent.shape[1]
        grads = WeightGrads(x, weight, recurrent, ctx.needs_input_grad[0])
        initial = x.new_zeros(x.shape[0], hidden)
        d_c = d_cell.clone()
        buffer = gates.new_empty(CHUNK, gates.shape[0], gates.shape[2])
        scratch, dh = torch.empty_like(d_c), torch.empty_like(d_c)
        d_next = None
        for start, stop in chunks(x.shape[1]):
            d_pre = buffer[: stop - start]
            for t in range(stop - 1, start - 1, -1):
                z, d, tc = gates[:, t], d_pre[t - start], tanh_c[:, t]
                _state_grad(dh, d_outputs, t, d_next, recurrent, mask)
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
                d_f.mul_(_previous(cells, t, initial))
                d_g.mul_(i)
                d_c.mul_(f)
                d_next = d
            grads.add_shared(start, d_pre, grads.operand(start, stop, states, mask))
        return grads.d_x, grads.d_weight, grads.d_bias, grads.d_recurrent, None


class GRURecurrence(Function):
    """Reset-after GRU, gates r, z, n as torch orders them: ``weight``, ``bias`` act on x,
    ``recurrent`` [3H, H] and ``recurrent_bias`` [3H] on the state."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                recurrent_bias: Tensor, mask: Tensor | None) -> Tensor:
        x = x.contiguous()
        hidden = recurrent.shape[1]
        gates = _projected(x, weight, bias, 3 * hidden)
        states = x.new_empty(*x.shape[:2], hidden)
        hz = gates.new_empty(x.shape[0], 3 * hidden)
        initial = x.new_zeros(x.shape[0], hidden)
        u_t = recurrent.t()
        for t in range(x.shape[1]):
            a = gates[:, t]  # x W^T + b, becoming r, z, n in place
            h_prev = _previous(states, t, initial)
            torch.addmm(recurrent_bias, masked(h_prev, mask), u_t, out=hz)
            a[:, : 2 * hidden].add_(hz[:, : 2 * hidden]).sigmoid_()
            r, z, n = a.split(hidden, 1)
            n.addcmul_(r, hz[:, 2 * hidden :]).tanh_()
            torch.lerp(n, h_prev, z, out=states[:, t])  # (1 - z) n + z h
        ctx.save_for_backward(x, weight, recurrent, recurrent_bias, states, gates, mask)
        return states

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor):
        x, weight, recurrent, recurrent_bias, states, gates, mask = ctx.saved_tensors
        hidden = recurrent.shape[1]
        grads = WeightGrads(x, weight, recurrent, ctx.needs_input_grad[0])
        d_recurrent_bias = gates.new_zeros(gates.shape[2])
        buffers = gates.new_empty(2, CHUNK, gates.shape[0], gates.shape[2])
        dh, dh_next = torch.empty_like(states[:, 0]), torch.empty_like(states[:, 0])
        r, z, _ = gates.split(hidden, 2)
        d_next = None
        for start, stop in chunks(x.shape[1]):
            d_xw, d_hz = buffers[:, : stop - start]
            previous = chunk_previous(states, start, stop)
            joined = grads.operand(start, stop, states, mask)
            # the n block of the recurrent product (r scales it, so its gradient needs it),
            # recomputed for the chunk in one product rather than kept for every step
            hz_n = torch.addmm(recurrent_bias[2 * hidden :], joined[..., :hidden].flatten(0, 1),
                               recurrent[2 * hidden :].t()).view_as(previous)
            _gru_factors(gates[:, start:stop].transpose(0, 1), hz_n, previous, out=d_xw)
            for t in range(stop - 1, start - 1, -1):  # the factors become d xw in place
                _state_grad(dh, d_outputs, t, d_next, recurrent, mask)
                if d_next is not None:
                    dh.addcmul_(dh_next, z[:, t + 1])
                dx, dhz = d_xw[t - start], d_hz[t - start]
                dx_r, dx_z, dx_n = dx.split(hidden, 1)
                dx_n.mul_(dh)
                dx_z.mul_(dh)
                dx_r.mul_(dx_n)
                dhz[:, : 2 * hidden].copy_(dx[:, : 2 * hidden])
                torch.mul(dx_n, r[:, t], out=dhz[:, 2 * hidden :])
                d_next = dhz
                dh, dh_next = dh_next, dh
            d_recurrent_bias.add_(grads.add_gru(start, d_hz, d_xw[..., 2 * hidden :], joined))
        return (grads.d_x, grads.d_weight, grads.d_bias, grads.d_recurrent, d_recurrent_bias,
                None)


def _gru_factors(gates: Tensor, hz_n: Tensor, previous: Tensor, out: Tensor) -> None:
    """What does not depend on the incoming gradients, for a chunk of steps at once:
    d n_pre = dh (1 - z)(1 - n^2); d z_pre = dh (h_prev - n) z (1 - z);
    d r_pre = d n_pre hz_n r (1 - r)."""
    hidden = hz_n.shape[-1]
    _, z, n = gates.split(hidden, 2)
    _sigmoid_slope(gates, out=out)
    f_r, f_z, f_n = out.split(hidden, 2)
    f_r.mul_(hz_n)
    f_z.mul_(previous - n)
    _one_minus_square(n, out=f_n).addcmul_(f_n, z, value=-1)


class LNRNNRecurrence(Function):
    """h_t = tanh(LayerNorm(x_t W^T + b + h_{t-1} U^T)) with scale ``gamma`` and offset
    ``beta``; ``weight`` and ``recurrent`` in torch's layout (the transposes of the
    canonical W and U)."""

    @staticmethod
    def forward(ctx: FunctionCtx, x: Tensor, weight: Tensor, bias: Tensor, recurrent: Tensor,
                gamma: Tensor, beta: Tensor, mask: Tensor | None) -> Tensor:
        x = x.contiguous()
        hidden = recurrent.shape[1]
        pre = _projected(x, weight, bias, hidden)
        states = torch.empty_like(pre)
        initial = x.new_zeros(x.shape[0], hidden)
        means, rstds = [], []
        u_t = recurrent.t()
        for t in range(x.shape[1]):
            pre[:, t].addmm_(masked(_previous(states, t, initial), mask), u_t)
            normed, mean, rstd = torch.native_layer_norm(pre[:, t], (hidden,), gamma, beta,
                                                         LAYER_NORM_EPSILON)
            torch.tanh(normed, out=states[:, t])
            means.append(mean)
            rstds.append(rstd)
        ctx.save_for_backward(x, weight, bias, recurrent, states, torch.stack(means),
                              torch.stack(rstds), gamma, beta, mask)
        return states

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, d_outputs: Tensor):
        x, weight, bias, recurrent, states, means, rstds, gamma, beta, mask = ctx.saved_tensors
        hidden = recurrent.shape[1]
        grads = WeightGrads(x, weight, recurrent, ctx.needs_input_grad[0])
        buffer = states.new_empty(CHUNK, states.shape[0], hidden)
        dy = torch.empty_like(states[:, 0])
        d_gamma, d_beta = torch.zeros_like(gamma), torch.zeros_like(beta)
        d_gamma_t, d_beta_t = torch.empty_like(gamma), torch.empty_like(beta)
        d_next = None
        weights = stacked(weight, bias, recurrent)
        for start, stop in chunks(x.shape[1]):
            d_pre = buffer[: stop - start]
            joined = grads.operand(start, stop, states, mask)
            # the layer norm's inputs, recomputed for the chunk in one product rather than
            # kept for every step
            pre = (joined.flatten(0, 1) @ weights).view_as(d_pre)
            for t in range(stop - 1, start - 1, -1):
                _state_grad(dy, d_outputs, t, d_next, recurrent, mask)
                _tanh_grad(dy, states[:, t])
                d_next = d_pre[t - start]
                torch.ops.aten.native_layer_norm_backward.out(
                    dy, pre[t - start], (hidden,), means[t], rstds[t], gamma, beta,
                    [True, True, True], out0=d_next, out1=d_gamma_t, out2=d_beta_t)
                d_gamma.add_(d_gamma_t)
                d_beta.add_(d_beta_t)
            grads.add_shared(start, d_pre, joined)
        return (grads.d_x, grads.d_weight, grads.d_bias, grads.d_recurrent, d_gamma, d_beta,
                None)
