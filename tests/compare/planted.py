"""Planted faults for the comparison tests, as a real plugin registered in fixtures.

``torch:planted`` is torch:lstm, optionally made to forget (its state reset at every step)
or slow (a sleep in every forward); ``previous`` is a toy task that needs one step of
memory, so a cell that forgets stays at chance. (Zeroing the recurrent kernel is not enough
to make an LSTM forget: its cell state still carries memory through the forget gate.)
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np
from torch import nn

from harness import hookimpl
from harness.registry import Cell
from harness.tasks import IGNORE_TARGET, Batch, TaskDefinition
from tests.toyplugins import LENGTH, EchoTask


class PreviousSymbolTask(EchoTask):
    """Output the symbol of the previous step."""

    def sample(self, rng, batch_size, split="train"):
        batch = super().sample(rng, batch_size)
        targets = np.roll(batch.targets, 1, axis=1)
        targets[:, 0] = IGNORE_TARGET
        return Batch(batch.inputs, targets)

    def headline_scores(self, outputs, targets):
        return (outputs.argmax(-1) == targets)[:, 1:].mean(axis=1)


class PlantedModule(nn.Module):
    def __init__(self, inner: nn.Module, forget: bool, delay_s: float):
        super().__init__()
        self.inner = inner
        self.forget = forget
        self.delay_s = delay_s
        self.kernel_path = inner.kernel_path

    def forward(self, x):
        if self.delay_s:
            time.sleep(self.delay_s)
        if not self.forget:
            return self.inner(x)
        batch, steps, _ = x.shape
        outputs, (h, c) = self.inner(x.reshape(batch * steps, 1, -1))  # every step from zero
        last = [state.reshape(batch, steps, -1)[:, -1] for state in (h, c)]
        return outputs.reshape(batch, steps, -1), tuple(last)

    def load_canonical(self, weights):
        self.inner.load_canonical(weights)

    def export_canonical(self):
        return self.inner.export_canonical()

    def canonical_parameters(self):
        return self.inner.canonical_parameters()


def _planted(lstm_factory, forget: bool, delay_s: float, input_size, hidden, options):
    return PlantedModule(lstm_factory(input_size, hidden, options), forget, delay_s)


class Planted:
    """Register as plugin ``planted``; make a new one to change the fault."""

    def __init__(self, lstm: Cell, forget: bool = False, delay_s: float = 0.0):
        self.lstm = lstm
        self.forget = forget
        self.delay_s = delay_s

    @hookimpl
    def bench_register_cells(self, register):
        register(Cell("planted", "torch", partial(_planted, self.lstm.factory, self.forget,
                                                  self.delay_s),
                      initializer=self.lstm.initializer, fused=True,
                      description="torch:lstm with a planted fault"))

    @hookimpl
    def bench_register_tasks(self, register):
        register(TaskDefinition("previous", "output the previous symbol", (LENGTH,),
                                PreviousSymbolTask))
