"""The peephole LSTM as a torch module of bench's PyTorch backend.

It follows that backend's cell protocol (:mod:`bench_torch.cells`): ``RecurrentCell``
brings the options, Keras-style dropout masks and the canonical ``load_canonical`` /
``export_canonical``; this class brings the parameters and the recurrence. No fused torch
kernel has peepholes, so it always runs the step loop (``kernel_path`` ``"loop"``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bench_peephole.layout import PEEPHOLES
from bench_torch.cells import RecurrentCell
from bench_torch.weights import ParameterTable


class PeepholeLSTM(RecurrentCell):
    """LSTM whose gates also read the cell state: i and f read c_{t-1}, o reads c_t."""

    def __init__(self, input_size: int, hidden: int, options: dict):
        super().__init__(input_size, hidden, options)
        self.W = nn.Parameter(torch.zeros(input_size, 4 * hidden))
        self.U = nn.Parameter(torch.zeros(hidden, 4 * hidden))
        self.b = nn.Parameter(torch.zeros(4 * hidden))
        self.p = nn.Parameter(torch.zeros(len(PEEPHOLES) * hidden))

    def canonical_parameters(self) -> ParameterTable:
        """Kept in the canonical orientation, so nothing is transposed."""
        return {name: (getattr(self, name), False) for name in ("W", "U", "b", "p")}

    def _loop(self, x: Tensor, state_mask: Tensor | None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        p_i, p_f, p_o = self.p.chunk(len(PEEPHOLES))
        h = x.new_zeros(x.shape[0], self.hidden)
        c = torch.zeros_like(h)
        outputs = []
        for xw in torch.unbind(x @ self.W + self.b, 1):
            z = xw + (h if state_mask is None else h * state_mask) @ self.U
            z_i, z_f, z_g, z_o = z.chunk(4, 1)
            i = torch.sigmoid(z_i + p_i * c)
            f = torch.sigmoid(z_f + p_f * c)
            c = f * c + i * torch.tanh(z_g)
            h = torch.sigmoid(z_o + p_o * c) * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, 1), (h, c)
