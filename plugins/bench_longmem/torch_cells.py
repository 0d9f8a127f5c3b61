"""The long-memory cells as torch modules of bench's PyTorch backend (protocol:
:mod:`bench_torch.cells`), computing the equations of :mod:`harness.longmem_reference`.

IndRNN and expRNN run a step loop (``kernel_path`` ``"loop"``), like any cell with a
recurrent product. minGRU, minLSTM and the LRU are linear in their state, so they also run
in parallel over time (``"scan"``, ``--kernel bench``, and ``auto`` off the CPU);
``--kernel framework`` (and ``auto`` on the CPU) runs their step loop, which computes the
same function (the conformance kit checks both paths against the reference). Their only
option is input dropout: no recurrent kernel reads their state, so there is nothing for
recurrent dropout to mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from bench_longmem.layout import SHAPES, shape_of
from bench_torch.cells import LOOP, RecurrentCell
from bench_torch.kernels import masked
from bench_torch.weights import ParameterTable

SCAN = "scan"


class LongMemoryCell(RecurrentCell):
    """Canonical parameters kept in the canonical orientation, zero until loaded."""

    name: str
    """The cell's name, whose weights :data:`bench_longmem.layout.SHAPES` lists."""

    def __init__(self, input_size: int, hidden: int, options: Mapping[str, Any]):
        super().__init__(input_size, hidden, options)
        for name, dims in SHAPES[self.name].items():
            self.register_parameter(
                name, nn.Parameter(torch.zeros(shape_of(dims, input_size, hidden))))

    def canonical_parameters(self) -> ParameterTable:
        return {name: (getattr(self, name), False) for name in SHAPES[self.name]}


class IndRNN(LongMemoryCell):
    """h_t = relu(x_t W + u * h_{t-1} + b): each unit recurs on itself only."""

    name = "indrnn"

    def _loop(self, x: Tensor, state_mask: Tensor | None) -> tuple[Tensor, Tensor]:
        h = x.new_zeros(x.shape[0], self.hidden)
        outputs = []
        for xw in torch.unbind(x @ self.W + self.b, 1):
            h = torch.relu(torch.addcmul(xw, self.u, masked(h, state_mask)))
            outputs.append(h)
        return torch.stack(outputs, 1), h


def skew_symmetric(skew: Tensor, hidden: int) -> Tensor:
    """The skew-symmetric [H, H] matrix whose strictly upper triangle, row by row, is
    ``skew`` (as :func:`harness.longmem_reference.skew_symmetric`)."""
    rows, cols = torch.triu_indices(hidden, hidden, 1, device=skew.device)
    upper = skew.new_zeros(hidden, hidden).index_put((rows, cols), skew)
    return upper - upper.T


def orthogonal(skew_matrix: Tensor) -> Tensor:
    """expm(``skew_matrix``), computed in float64 and returned in the input's dtype: in
    float32 the gradient of ``torch.linalg.matrix_exp`` was ~1e-4 of its scale off
    (docs/cells.md); an [H, H] exponential per forward pass costs little in float64."""
    return torch.linalg.matrix_exp(skew_matrix.double()).to(skew_matrix.dtype)


def modrelu(z: Tensor, bias: Tensor) -> Tensor:
    return torch.sign(z) * torch.relu(z.abs() + bias)


class ExpRNN(LongMemoryCell):
    """h_t = modrelu(x_t W + h_{t-1} expm(S), b), S skew-symmetric: the recurrent matrix is
    orthogonal whatever the trained ``skew``. The exponential (:func:`orthogonal`,
    differentiable) is taken once per forward pass, not per step."""

    name = "exprnn"

    def _loop(self, x: Tensor, state_mask: Tensor | None) -> tuple[Tensor, Tensor]:
        recurrent = orthogonal(skew_symmetric(self.skew, self.hidden))
        h = x.new_zeros(x.shape[0], self.hidden)
        outputs = []
        for xw in torch.unbind(x @ self.W, 1):
            h = modrelu(torch.addmm(xw, masked(h, state_mask), recurrent), self.b)
            outputs.append(h)
        return torch.stack(outputs, 1), h


class ScanCell(LongMemoryCell):
    """A cell linear in its state, h_t = keep_t * h_{t-1} + add_t: the parallel
    :meth:`_scan` (``--kernel bench``) or its :meth:`_step_loop` (``--kernel framework``).
    ``auto`` takes the loop on the CPU, where it measured 2.2-4.3x faster than the scan
    (docs/cells.md), and the scan on other devices, where T sequential steps of small
    kernels are what a GPU does worst (not measured: no GPU here)."""

    kernel_path = SCAN

    def use_kernel(self, choice: str, device_type: str) -> None:
        loop = choice == "framework" or (choice == "auto" and device_type == "cpu")
        self.kernel_path = LOOP if loop else SCAN

    def _run(self, x: Tensor) -> tuple[Tensor, Tensor]:
        outputs = self._scan(x) if self.kernel_path == SCAN else self._step_loop(x)
        return outputs, outputs[:, -1]

    def _scan(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def _step_loop(self, x: Tensor) -> Tensor:
        raise NotImplementedError


def linear_loop(keep: Tensor, add: Tensor) -> Tensor:
    """h_t = keep_t * h_{t-1} + add_t from h_0 = 0, step by step over axis 1."""
    h = torch.zeros_like(add[:, 0])
    outputs = []
    for keep_t, add_t in zip(keep.unbind(1), add.unbind(1), strict=True):
        h = keep_t * h + add_t
        outputs.append(h)
    return torch.stack(outputs, 1)


def parallel_scan(keep: Tensor, add: Tensor) -> Tensor:
    """The same recurrence in parallel over axis 1 (Hillis & Steele): after the pass of
    offset d, ``add[t]`` holds the sum over the last 2d steps and ``keep[t]`` their product;
    log2(T) passes of whole-sequence elementwise operations. In linear space, with
    products of the gates only, so it is as accurate as the loop (docs/cells.md: the
    paper's log-space scan was measured less accurate in float32)."""
    offset = 1
    while offset < add.shape[1]:
        add = add + keep * torch.cat([torch.zeros_like(add[:, :offset]), add[:, :-offset]], 1)
        keep = keep * torch.cat([torch.ones_like(keep[:, :offset]), keep[:, :-offset]], 1)
        offset *= 2
    return add


def positive_activation(v: Tensor) -> Tensor:
    """g(v) = v + 0.5 for v >= 0, sigmoid(v) otherwise."""
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


class GatedScanCell(ScanCell):
    """A cell whose ``keep`` and ``add`` come from the input alone (:meth:`_gates`)."""

    def _gates(self, x: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _step_loop(self, x: Tensor) -> Tensor:
        return linear_loop(*self._gates(x))

    def _scan(self, x: Tensor) -> Tensor:
        return parallel_scan(*self._gates(x))


class MinGRU(GatedScanCell):
    """z_t = sigmoid(x_t W_z + b_z), h_t = (1 - z_t) * h_{t-1} + z_t * g(x_t W_h + b_h)."""

    name = "mingru"

    def _gates(self, x: Tensor) -> tuple[Tensor, Tensor]:
        k_z, k_h = (x @ self.W + self.b).chunk(2, -1)
        z = torch.sigmoid(k_z)
        return 1.0 - z, z * positive_activation(k_h)


class MinLSTM(GatedScanCell):
    """f, i = sigmoid(x_t W_f + b_f), sigmoid(x_t W_i + b_i), normalised by their sum;
    h_t = f'_t * h_{t-1} + i'_t * g(x_t W_h + b_h)."""

    name = "minlstm"

    def _gates(self, x: Tensor) -> tuple[Tensor, Tensor]:
        k_f, k_i, k_h = (x @ self.W + self.b).chunk(3, -1)
        f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
        return f / (f + i), i / (f + i) * positive_activation(k_h)


class LRU(GatedScanCell):
    """s_t = lambda * s_{t-1} + gamma * (x_t B) (complex, diagonal), y_t = Re(s_t C) + x_t D,
    lambda = exp(-exp(nu_log) + i exp(theta_log)), gamma = exp(gamma_log)."""

    name = "lru"

    def _gates(self, x: Tensor) -> tuple[Tensor, Tensor]:
        b_re, b_im = (x @ self.W).chunk(2, -1)
        drive = torch.exp(self.gamma_log) * torch.complex(b_re, b_im)
        angle = torch.exp(self.theta_log)
        radius = torch.exp(-torch.exp(self.nu_log))
        decay = torch.complex(radius * torch.cos(angle), radius * torch.sin(angle))
        return decay.expand_as(drive), drive

    def _read(self, states: Tensor, x: Tensor) -> Tensor:
        c_re, c_im = self.C.chunk(2, 0)
        return states.real @ c_re - states.imag @ c_im + x @ self.D

    def _step_loop(self, x: Tensor) -> Tensor:
        return self._read(super()._step_loop(x), x)

    def _scan(self, x: Tensor) -> Tensor:
        return self._read(super()._scan(x), x)


CELLS: dict[str, type[LongMemoryCell]] = {
    cell.name: cell for cell in (IndRNN, ExpRNN, MinGRU, MinLSTM, LRU)}


def build_cell(name: str, input_size: int, hidden: int, options: Mapping[str, Any]
               ) -> LongMemoryCell:
    """The long-memory cell ``name`` (the factory the plugin registers, bound to the name)."""
    return CELLS[name](input_size, hidden, options)
