"""A toy backend of PyTorch cells, each breaking the contract in one way the kit must catch.

The backend ``faulty`` reuses the torch backend's trainer and probe; every cell is a torch
cell of :mod:`bench_torch.cells` with one fault planted.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor

from bench_torch import plugin as torch_plugin
from bench_torch.cells import LNRNN
from harness import hookimpl
from harness.canonical import init_lnrnn
from harness.reference import LAYER_NORM_EPSILON
from harness.registry import Backend, Cell


class Rewired(LNRNN):
    """The LN-RNN's step loop with the state's carry and the activation replaceable."""

    def carry(self, h: Tensor) -> Tensor:
        return h

    def activate(self, z: Tensor) -> Tensor:
        return torch.tanh(z)

    def _loop(self, x: Tensor, state_mask: Tensor | None):
        h = x.new_zeros(x.shape[0], self.hidden)
        outputs = []
        for t in range(x.shape[1]):
            carried = self.carry(h if state_mask is None else h * state_mask)
            z = x[:, t] @ self.W + self.b + carried @ self.U
            h = self.activate(F.layer_norm(z, (self.hidden,), self.gamma, self.beta,
                                           LAYER_NORM_EPSILON))
            outputs.append(h)
        return torch.stack(outputs, 1), h


class Detached(Rewired):
    """Cuts the carried state out of autograd at every step."""

    def carry(self, h: Tensor) -> Tensor:
        return h.detach()


class StraightThrough(Rewired):
    """Computes tanh forward, but backpropagates as if it were the identity."""

    def activate(self, z: Tensor) -> Tensor:
        return torch.tanh(z).detach() + z - z.detach()


class SwappedExport(LNRNN):
    """Exports LayerNorm's scale under the offset's name and the other way round."""

    def export_canonical(self):
        weights = super().export_canonical()
        weights["gamma"], weights["beta"] = weights["beta"], weights["gamma"]
        return weights


class IgnoresRecurrentDropout(LNRNN):
    """Declares recurrent_dropout but never draws its mask."""

    def _run(self, x: Tensor):
        return self._loop(x, None)


class DropsTheCarriedState(Rewired):
    """Applies recurrent dropout to the state each step outputs and carries on, where it
    should mask the previous state only as it enters the recurrent product."""

    def _loop(self, x: Tensor, state_mask: Tensor | None):
        h = x.new_zeros(x.shape[0], self.hidden)
        outputs = []
        for t in range(x.shape[1]):
            z = x[:, t] @ self.W + self.b + h @ self.U
            h = self.activate(F.layer_norm(z, (self.hidden,), self.gamma, self.beta,
                                           LAYER_NORM_EPSILON))
            h = h if state_mask is None else h * state_mask
            outputs.append(h)
        return torch.stack(outputs, 1), h


class UnseededMasks(LNRNN):
    """Draws its input-dropout mask from a generator no seed reaches."""

    generator = torch.Generator().manual_seed(12345)

    def forward(self, x: Tensor):
        if self.training and self.options.dropout:
            keep = 1.0 - self.options.dropout
            mask = torch.bernoulli(torch.full((x.shape[0], 1, x.shape[2]), keep),
                                   generator=self.generator) / keep
            x = x * mask
        return self._run(x)


class UnseededInit(LNRNN):
    """Declares a framework initialisation but draws it from a generator no seed reaches."""

    generator = torch.Generator().manual_seed(54321)

    def __init__(self, input_size: int, hidden: int, options: dict):
        super().__init__(input_size, hidden, options)
        with torch.no_grad():
            self.U.uniform_(-0.5, 0.5, generator=self.generator)


class LayerNormedRNN(LNRNN):
    """Registered as ``rnn``: runs the LN-RNN's equations under the plain RNN's name."""


FAULTS = {
    "detached": (Detached, init_lnrnn, "gradients"),
    "straight": (StraightThrough, init_lnrnn, "gradients"),
    "swapped": (SwappedExport, init_lnrnn, "roundtrip"),
    "nodrop": (IgnoresRecurrentDropout, init_lnrnn, "options"),
    "carrieddrop": (DropsTheCarriedState, init_lnrnn, "options"),
    "unseeded": (UnseededMasks, init_lnrnn, "deterministic"),
    "rnn": (LayerNormedRNN, init_lnrnn, "reference"),
    "freshinit": (UnseededInit, init_lnrnn, "protocol"),
}
"""Cell name -> (module class, initializer, the check it must fail)."""


def build(name: str, input_size: int, hidden: int, options: dict):
    return FAULTS[name][0](input_size, hidden, options)


class FaultyPlugin:
    @hookimpl
    def bench_register_backends(self, register):
        register(Backend(name="faulty", framework="PyTorch", version=None, available=True,
                         build_trainer=torch_plugin.build_trainer,
                         list_devices=torch_plugin.list_devices,
                         probe_cell=torch_plugin.probe_cell))

    @hookimpl
    def bench_register_cells(self, register):
        for name, (_, initializer, _) in FAULTS.items():
            register(Cell(name, "faulty", factory=partial(build, name), initializer=initializer,
                          framework_init=name == "freshinit"))
