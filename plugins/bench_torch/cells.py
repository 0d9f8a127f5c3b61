"""The standard cells in PyTorch, with the equations of docs/architecture.md §5.

Every cell module here (and any torch cell a third-party plugin registers for this backend)
follows one small protocol, which :mod:`bench_torch.trainer` relies on:

* ``factory(input_size: int, hidden: int, options: dict) -> module``; ``options`` may hold
  ``dropout`` and ``recurrent_dropout`` (:class:`harness.options.CellOptions`).
* ``forward(x)``, ``x`` [batch, time, input] -> ``(outputs [batch, time, hidden],
  final_state)``; the final state is ``(h, c)`` for ``lstm`` and ``h`` otherwise.
* ``load_canonical(weights)`` / ``export_canonical() -> weights``: numpy float32 arrays in
  the canonical layout of :mod:`harness.canonical`.
* ``canonical_parameters() -> ParameterTable``: which torch parameter holds each canonical
  weight (:mod:`bench_torch.weights`); the cell probe reads gradients through it, and
  :class:`RecurrentCell` derives the two methods above from it.
* ``kernel_path``: ``"fused:nn.LSTM"`` (``nn.GRU``, ``nn.RNN``) when torch's fused kernel
  runs, ``"loop"`` when a Python step loop does. The options fix it at construction: the
  fused kernel whenever ``recurrent_dropout`` is 0, the loop otherwise; ``lnrnn`` always
  loops. The loop reads the same parameters, so both paths compute the same function.
* optionally ``use_kernel(choice, device_type)``, ``choice`` one of
  :data:`harness.spec.KERNELS`: the standard cells also offer bench's own recurrence, as
  torch operations (:mod:`bench_torch.kernels`, ``"bench-fused"``, any device), chosen by
  ``"bench"``, and compiled (:mod:`bench_torch.compiled`, ``"bench-compiled"``, the CPU
  only), chosen by ``"compiled"`` and by ``"auto"`` on the CPU; ``"framework"`` keeps the
  path above.
  On CUDA the trainer captures a loop cell's whole training step in a CUDA graph
  (:mod:`bench_torch.graph`; recorded as ``"loop+cuda-graph"``), so a loop must not read
  values back to the host; one that does still trains, eagerly, and the record says why.

Dropout follows Keras: in training mode only, one input mask per sequence, applied to the
whole input sequence (so it also precedes the fused kernel), and one mask per sequence on
the previous state where it enters the recurrent kernel (the state itself is carried on
undropped, as in Keras's LSTM and GRU cells), each mask shared by every gate, as bench's
Keras cells share theirs.

torch keeps two biases where the canonical layout has one. The recurrent one
(``bias_hh``) holds zero and is frozen, so the trainable parameters, their gradients and
their count are exactly the canonical ones; GRU is the exception, whose canonical
recurrent bias ``b_rec`` is torch's ``bias_hh``. A cell as constructed holds the weights
torch's module drew (``--init framework``), the recurrent bias added into ``b``: the same
function as torch's own module at initialisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench_torch import kernels
from bench_torch.compiled import BENCH_COMPILED
from bench_torch.kernels import BENCH_FUSED
from bench_torch.weights import ParameterTable, export_weights, load_weights
from harness.canonical import Weights
from harness.errors import UsageError
from harness.options import CellOptions
from harness.reference import LAYER_NORM_EPSILON

LOOP = "loop"


def _recurrences() -> dict[str, ModuleType]:
    try:
        from bench_torch.compiled import functions as compiled
    except ImportError:  # numba missing (torch installed without bench's torch extra)
        return {BENCH_FUSED: kernels}
    return {BENCH_FUSED: kernels, BENCH_COMPILED: compiled}


RECURRENCES = _recurrences()
"""bench's own paths and the module of Functions each runs: without numba, no compiled
path (``auto`` keeps the frameworks' kernels, ``--kernel compiled`` says to install it)."""

State = Tensor | tuple[Tensor, Tensor]


def _last(outputs: Tensor) -> Tensor:
    """The final state of bench's recurrences, a tensor of its own as torch's modules return
    it: a view of the outputs would let an in-place change to the state rewrite them (or fail
    their backward pass)."""
    return outputs[:, -1].clone()


class RecurrentCell(nn.Module):
    """Options, dropout masks and canonical weights; subclasses bring the recurrence."""

    kernel_path: str = LOOP

    def __init__(self, input_size: int, hidden: int, options: Mapping[str, Any]):
        super().__init__()
        self.input_size = input_size
        self.hidden = hidden
        self.options = CellOptions.parse(options)

    def forward(self, x: Tensor) -> tuple[Tensor, State]:
        rate = self.options.dropout
        if self.training and rate:
            x = x * _keep_mask(x, (x.shape[0], 1, x.shape[2]), rate)
        return self._run(x)

    def _run(self, x: Tensor) -> tuple[Tensor, State]:
        rate = self.options.recurrent_dropout
        state_mask = None
        if self.training and rate:
            state_mask = _keep_mask(x, (x.shape[0], self.hidden), rate)
        if self.kernel_path in RECURRENCES:
            if not x.shape[0] or not x.shape[1]:
                raise ValueError(f"kernel path {self.kernel_path} needs at least one sequence "
                                 f"of at least one step, not inputs of shape {list(x.shape)}")
            return self._bench(x, state_mask, RECURRENCES[self.kernel_path])
        return self._loop(x, state_mask)

    def use_kernel(self, choice: str, device_type: str) -> None:
        """``bench`` runs :meth:`_bench` with torch operations, ``compiled`` (and ``auto``
        on the CPU) with the compiled loops; otherwise the path the options chose stays. On
        a GPU the frameworks' kernels and the CUDA-graphed loop beat a recurrence of small
        launches, and the compiled loops run on the CPU only."""
        compiled = BENCH_COMPILED in RECURRENCES
        if choice in ("auto", "framework"):
            if choice == "auto" and device_type == "cpu" and compiled and self._offers_bench():
                self.kernel_path = BENCH_COMPILED
            return
        if not self._offers_bench():
            raise UsageError(f"cell {type(self).__name__} has no kernel {choice!r} "
                             "(valid: auto, framework)")
        if choice == "compiled" and device_type != "cpu":
            raise UsageError(f"kernel 'compiled' runs on the CPU only, not on {device_type!r} "
                             "(valid there: auto, framework, bench)")
        if choice == "compiled" and not compiled:
            raise UsageError("kernel 'compiled' needs numba, which is not installed (pip "
                             "install numba, or bench's torch extra); valid: auto, framework, "
                             "bench")
        self.kernel_path = BENCH_COMPILED if choice == "compiled" else BENCH_FUSED

    def _offers_bench(self) -> bool:
        """Whether :meth:`_bench` computes what :meth:`_loop` does: only where the class that
        defines the loop defines it too (a subclass that changes the loop keeps it)."""
        loop_owner = next(c for c in type(self).__mro__ if "_loop" in vars(c))
        return "_bench" in vars(loop_owner)

    def _loop(self, x: Tensor, state_mask: Tensor | None) -> tuple[Tensor, State]:
        raise NotImplementedError

    def _bench(self, x: Tensor, state_mask: Tensor | None, recurrences: ModuleType
               ) -> tuple[Tensor, State]:
        """bench's own recurrence on ``x`` [batch, time, input], from ``recurrences``
        (:mod:`bench_torch.kernels` or :mod:`bench_torch.compiled.functions`: the same
        Functions)."""
        raise NotImplementedError

    def canonical_parameters(self) -> ParameterTable:
        raise NotImplementedError

    def load_canonical(self, weights: Weights) -> None:
        load_weights(self.canonical_parameters(), weights, f"cell {type(self).__name__}")

    def export_canonical(self) -> Weights:
        return export_weights(self.canonical_parameters())


class FusedCell(RecurrentCell):
    """A cell whose parameters live in torch's fused module, used by both paths."""

    fused_class: type[nn.RNNBase]
    has_recurrent_bias = False
    """Whether the canonical layout keeps a recurrent bias (``b_rec``) apart from ``b``."""

    def __init__(self, input_size: int, hidden: int, options: Mapping[str, Any]):
        super().__init__(input_size, hidden, options)
        self.rnn = self.fused_class(input_size, hidden, batch_first=True)
        if not self.has_recurrent_bias:
            with torch.no_grad():  # torch only ever adds the two: its function, one bias
                self.rnn.bias_ih_l0.add_(self.rnn.bias_hh_l0)
            nn.init.zeros_(self.rnn.bias_hh_l0).requires_grad_(False)
        if not self.options.recurrent_dropout:
            self.kernel_path = f"fused:nn.{self.fused_class.__name__}"

    def _run(self, x: Tensor) -> tuple[Tensor, State]:
        if not self.kernel_path.startswith("fused:"):
            return super()._run(x)
        outputs, state = self.rnn(x)
        if isinstance(state, tuple):
            return outputs, (state[0][0], state[1][0])
        return outputs, state[0]

    def canonical_parameters(self) -> ParameterTable:
        rnn = self.rnn
        table = {
            "W": (rnn.weight_ih_l0, True),
            "U": (rnn.weight_hh_l0, True),
            "b": (rnn.bias_ih_l0, False),
        }
        if self.has_recurrent_bias:
            table["b_rec"] = (rnn.bias_hh_l0, False)
        return table

    def _steps(self, x: Tensor) -> tuple[Tensor, ...]:
        """``x_t W + b`` for every step at once, as a list of [batch, gates*H] tensors."""
        return _project(x, self.rnn.weight_ih_l0, self.rnn.bias_ih_l0)


class RNN(FusedCell):
    """h_t = tanh(x_t W + h_{t-1} U + b)."""

    fused_class = nn.RNN

    def _loop(self, x: Tensor, state_mask: Tensor | None) -> tuple[Tensor, Tensor]:
        recurrent = self.rnn.weight_hh_l0.t()
        h = x.new_zeros(x.shape[0], self.hidden)
        outputs = []
        for xw in self._steps(x):
            h = torch.tanh(torch.addmm(xw, kernels.masked(h, state_mask), recurrent))
            outputs.append(h)
        return torch.stack(outputs, 1), h

    def _bench(self, x: Tensor, state_mask: Tensor | None, recurrences: ModuleType
               ) -> tuple[Tensor, Tensor]:
        rnn = self.rnn
        outputs = recurrences.RNNRecurrence.apply(x, rnn.weight_ih_l0, rnn.bias_ih_l0,
                                                  rnn.weight_hh_l0, state_mask)
        return outputs, _last(outputs)


TORCH_LSTM_GATES = "ifgo"
"""The order of the gate blocks in the rows of ``nn.LSTM``'s weights."""


class LSTM(FusedCell):
    """Gates i, f, g, o; c_t = f*c_{t-1} + i*g, h_t = o*tanh(c_t)."""

    fused_class = nn.LSTM

    def _loop(self, x: Tensor, state_mask: Tensor | None) -> tuple[Tensor, State]:
        recurrent = self.rnn.weight_hh_l0.t()
        hidden = self.hidden
        h = x.new_zeros(x.shape[0], hidden)
        c = torch.zeros_like(h)
        outputs = []
        for xw in self._steps(x):
            z = torch.addmm(xw, kernels.masked(h, state_mask), recurrent)
            i, f, _, o = torch.sigmoid(z).chunk(4, 1)
            g = torch.tanh(z[:, 2 * hidden : 3 * hidden])
            c = torch.addcmul(f * c, i, g)
            h = o * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, 1), (h, c)

    def _bench(self, x: Tensor, state_mask: Tensor | None, recurrences: ModuleType
               ) -> tuple[Tensor, State]:
        rnn = self.rnn
        weights = rnn.weight_ih_l0, rnn.bias_ih_l0, rnn.weight_hh_l0
        if recurrences.LSTM_GATE_ORDER != TORCH_LSTM_GATES:
            order = _gate_rows(tuple(TORCH_LSTM_GATES.index(gate)
                                     for gate in recurrences.LSTM_GATE_ORDER),
                               self.hidden, x.device)
            weights = tuple(weight[order] for weight in weights)
        outputs, c = recurrences.LSTMRecurrence.apply(x, *weights, state_mask)
        return outputs, (_last(outputs), c)


class GRU(FusedCell):
    """Reset-after GRU, gates r, z, n (torch's own order and form)."""

    fused_class = nn.GRU
    has_recurrent_bias = True

    def _loop(self, x: Tensor, state_mask: Tensor | None) -> tuple[Tensor, Tensor]:
        recurrent = self.rnn.weight_hh_l0.t()
        recurrent_bias = self.rnn.bias_hh_l0
        split = (2 * self.hidden, self.hidden)
        h = x.new_zeros(x.shape[0], self.hidden)
        outputs = []
        for xw in self._steps(x):
            x_rz, x_n = xw.split(split, 1)
            h_rz, h_n = torch.addmm(recurrent_bias, kernels.masked(h, state_mask), recurrent).split(
                split, 1
            )
            r, z = torch.sigmoid(x_rz + h_rz).chunk(2, 1)
            n = torch.tanh(torch.addcmul(x_n, r, h_n))
            h = torch.lerp(n, h, z)  # (1 - z) * n + z * h
            outputs.append(h)
        return torch.stack(outputs, 1), h

    def _bench(self, x: Tensor, state_mask: Tensor | None, recurrences: ModuleType
               ) -> tuple[Tensor, Tensor]:
        rnn = self.rnn
        outputs = recurrences.GRURecurrence.apply(x, rnn.weight_ih_l0, rnn.bias_ih_l0,
                                                  rnn.weight_hh_l0, rnn.bias_hh_l0,
                                                  state_mask)
        return outputs, _last(outputs)


class LNRNN(RecurrentCell):
    """h_t = tanh(LayerNorm(x_t W + h_{t-1} U + b)), learnable scale and offset, eps 1e-3.

    No fused kernel exists: ``framework`` runs the step loop. Its parameters are kept in the
    canonical orientation and drawn as ``nn.RNN`` draws its own (U(-1/sqrt(H), 1/sqrt(H)))
    with the scale one and offset zero of ``nn.LayerNorm``: its ``--init framework``.
    """

    def __init__(self, input_size: int, hidden: int, options: Mapping[str, Any]):
        super().__init__(input_size, hidden, options)
        bound = hidden ** -0.5
        self.W = nn.Parameter(torch.empty(input_size, hidden).uniform_(-bound, bound))
        self.U = nn.Parameter(torch.empty(hidden, hidden).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.empty(hidden).uniform_(-bound, bound))
        self.gamma = nn.Parameter(torch.ones(hidden))
        self.beta = nn.Parameter(torch.zeros(hidden))

    def canonical_parameters(self) -> ParameterTable:
        return {name: (getattr(self, name), False) for name in ("W", "U", "b", "gamma", "beta")}

    def _loop(self, x: Tensor, state_mask: Tensor | None) -> tuple[Tensor, Tensor]:
        shape = (self.hidden,)
        h = x.new_zeros(x.shape[0], self.hidden)
        outputs = []
        for xw in _project(x, self.W.t(), self.b):
            z = torch.addmm(xw, kernels.masked(h, state_mask), self.U)
            h = torch.tanh(F.layer_norm(z, shape, self.gamma, self.beta, LAYER_NORM_EPSILON))
            outputs.append(h)
        return torch.stack(outputs, 1), h

    def _bench(self, x: Tensor, state_mask: Tensor | None, recurrences: ModuleType
               ) -> tuple[Tensor, Tensor]:
        outputs = recurrences.LNRNNRecurrence.apply(x, self.W.t(), self.b, self.U.t(),
                                                    self.gamma, self.beta, state_mask)
        return outputs, _last(outputs)


CELLS: dict[str, type[RecurrentCell]] = {"rnn": RNN, "lnrnn": LNRNN, "lstm": LSTM, "gru": GRU}


def _project(x: Tensor, weight: Tensor, bias: Tensor) -> tuple[Tensor, ...]:
    """The input projection of all steps in one matmul, split into contiguous steps."""
    return F.linear(x.transpose(0, 1), weight, bias).unbind(0)


def use_kernel(cell: nn.Module, choice: str, device_type: str) -> None:
    """Let ``cell`` pick its path for ``choice`` (harness.spec.KERNELS) on ``device_type``;
    a cell without ``use_kernel`` honours ``framework`` and ``auto`` only."""
    if hasattr(cell, "use_kernel"):
        cell.use_kernel(choice, device_type)
    elif choice not in ("auto", "framework"):
        raise UsageError(f"cell {type(cell).__name__} has no kernel {choice!r} "
                         "(valid: auto, framework)")


def _gate_rows(blocks: tuple[int, ...], hidden: int, device: torch.device) -> Tensor:
    """Row indices that put a fused weight's gate blocks in the order ``blocks``."""
    return torch.arange(len(blocks) * hidden, device=device).view(-1, hidden)[
        list(blocks)].flatten()


def _keep_mask(like: Tensor, shape: tuple[int, ...], rate: float) -> Tensor:
    """Inverted-dropout mask: 0 with probability ``rate``, else ``1 / (1 - rate)``."""
    keep = 1.0 - rate
    return like.new_empty(shape).bernoulli_(keep).div_(keep)


def build_cell(name: str, input_size: int, hidden: int, options: Mapping[str, Any]
               ) -> RecurrentCell:
    """The standard cell ``name`` (the factory the plugin registers, bound to the name)."""
    return CELLS[name](input_size, hidden, options)
