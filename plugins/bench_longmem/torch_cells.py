"""The long-memory cells as torch modules of bench's PyTorch backend (protocol:
:mod:`bench_torch.cells`), computing the equations of :mod:`harness.longmem_reference`.

IndRNN and expRNN run a step loop (``kernel_path`` ``"loop"``), like any cell with a
recurrent product. minGRU, minLSTM and the LRU are linear in their state, so they also run
in parallel over time (``"scan"``, the default, ``--kernel bench``); ``--kernel framework``
runs their step loop instead, which computes the same function (the conformance kit checks
both paths against the reference). Their only option is input dropout: no recurrent kernel
reads their state, so there is nothing for recurrent dropout to mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from bench_torch.cells import RecurrentCell
from bench_torch.weights import ParameterTable


class LongMemoryCell(RecurrentCell):
    """Canonical parameters kept in the canonical orientation, zero until loaded."""

    shapes: dict[str, tuple[str, ...]]
    """Each canonical weight's shape in terms of ``input``, ``H`` and ``2H``-style
    multiples (:meth:`_size`)."""

    def __init__(self, input_size: int, hidden: int, options: Mapping[str, Any]):
        super().__init__(input_size, hidden, options)
        for name, dims in self.shapes.items():
            self.register_parameter(name, nn.Parameter(torch.zeros(
                *(self._size(d) for d in dims))))

    def _size(self, dim: str) -> int:
        if dim == "input":
            return self.input_size
        if dim == "skew":
            return self.hidden * (self.hidden - 1) // 2
        return int(dim.removesuffix("H") or 1) * self.hidden

    def canonical_parameters(self) -> ParameterTable:
        return {name: (getattr(self, name), False) for name in self.shapes}


def _masked(h: Tensor, mask: Tensor | None) -> Tensor:
    return h if mask is None else h * mask


class IndRNN(LongMemoryCell):
    """h_t = relu(x_t W + u * h_{t-1} + b): each unit recurs on itself only."""

    shapes = {"W": ("input", "H"), "u": ("H",), "b": ("H",)}

    def _loop(self, x: Tensor, state_mask: Tensor | None) -> tuple[Tensor, Tensor]:
        h = x.new_zeros(x.shape[0], self.hidden)
        outputs = []
        for xw in torch.unbind(x @ self.W + self.b, 1):
            h = torch.relu(torch.addcmul(xw, self.u, _masked(h, state_mask)))
            outputs.append(h)
        return torch.stack(outputs, 1), h


def skew_symmetric(skew: Tensor, hidden: int) -> Tensor:
    """The skew-symmetric [H, H] matrix whose strictly upper triangle, row by row, is
    ``skew`` (as :func:`harness.longmem_reference.skew_symmetric`)."""
    rows, cols = torch.triu_indices(hidden, hidden, 1, device=skew.device)
    upper = skew.new_zeros(hidden, hidden).index_put((rows, cols), skew)
    return upper - upper.T


def modrelu(z: Tensor, bias: Tensor) -> Tensor:
    return torch.sign(z) * torch.relu(z.abs() + bias)


class ExpRNN(LongMemoryCell):
    """h_t = modrelu(x_t W + h_{t-1} expm(S), b), S skew-symmetric: the recurrent matrix is
    orthogonal whatever the trained ``skew``. The exponential (``torch.linalg.matrix_exp``,
    differentiable) is taken once per forward pass, not per step."""

    shapes = {"W": ("input", "H"), "skew": ("skew",), "b": ("H",)}

    def _loop(self, x: Tensor, state_mask: Tensor | None) -> tuple[Tensor, Tensor]:
        recurrent = torch.linalg.matrix_exp(skew_symmetric(self.skew, self.hidden))
        h = x.new_zeros(x.shape[0], self.hidden)
        outputs = []
        for xw in torch.unbind(x @ self.W, 1):
            h = modrelu(torch.addmm(xw, _masked(h, state_mask), recurrent), self.b)
            outputs.append(h)
        return torch.stack(outputs, 1), h


CELLS: dict[str, type[LongMemoryCell]] = {"indrnn": IndRNN, "exprnn": ExpRNN}


def build_cell(name: str, input_size: int, hidden: int, options: Mapping[str, Any]
               ) -> LongMemoryCell:
    """The long-memory cell ``name`` (the factory the plugin registers, bound to the name)."""
    return CELLS[name](input_size, hidden, options)
