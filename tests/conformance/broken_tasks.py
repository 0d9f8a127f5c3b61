"""Toy tasks, each breaking the task contract in one way the task kit must catch.

Every task is the echo task of :mod:`tests.toyplugins` (output the symbol seen at this
step) with one fault planted; :data:`FAULTS` names the check that must report it.
"""

from __future__ import annotations

import math

import numpy as np

from harness import hookimpl
from harness.tasks import Batch, Parameter, TaskDefinition
from tests.toyplugins import LENGTH, EchoTask


class Float64Inputs(EchoTask):
    def sample(self, rng, batch_size, split="train"):
        batch = super().sample(rng, batch_size, split)
        return Batch(batch.inputs.astype(np.float64), batch.targets)


class GlobalRandom(EchoTask):
    """Draws from numpy's global generator, not from the rng it is given."""

    def sample(self, rng, batch_size, split="train"):
        symbols = np.random.randint(0, 4, size=(batch_size, self.length))
        return Batch(np.eye(4, dtype=np.float32)[symbols], symbols.astype(np.int64))


class WrongBaseline(EchoTask):
    """Declares ln 5 where four equally likely symbols give ln 4."""

    def __init__(self, length: int):
        super().__init__(length)
        self.baseline_loss = math.log(5)


class WrongChance(EchoTask):
    chance = 0.5


class PerfectScoresZero(EchoTask):
    """Reports the error rate: lower is better, the wrong way round (its chance, 3/4, is
    that of this metric)."""

    chance = 0.75

    def headline_scores(self, outputs, targets):
        return 1.0 - super().headline_scores(outputs, targets)

    def is_solved(self, loss, headline):
        return loss < 0.01


class BestExampleMetric(EchoTask):
    """A headline metric that is not the mean of the per-example scores."""

    def headline_metric(self, outputs, targets):
        return float(np.max(self.headline_scores(outputs, targets)))


class FixedLength(EchoTask):
    """Takes a ``length`` but always samples eight steps."""

    def __init__(self, length: int):
        super().__init__(8)


SYMBOLS = Parameter("symbols", int, default=4, help="alphabet size (no minimum declared)")


class UnboundedSymbols(EchoTask):
    """Accepts ``symbols`` 0 or -1, then fails when it samples."""

    def __init__(self, length: int, symbols: int = SYMBOLS.default):
        super().__init__(length)
        self.symbols = symbols

    def sample(self, rng, batch_size, split="train"):
        rng.integers(0, self.symbols)
        return super().sample(rng, batch_size, split)


FAULTS = {
    "float64_inputs": (Float64Inputs, "batch"),
    "global_random": (GlobalRandom, "deterministic"),
    "wrong_baseline": (WrongBaseline, "baseline"),
    "wrong_chance": (WrongChance, "chance"),
    "perfect_scores_zero": (PerfectScoresZero, "headline"),
    "best_example_metric": (BestExampleMetric, "headline"),
    "fixed_length": (FixedLength, "length"),
    "unbounded_symbols": (UnboundedSymbols, "parameters"),
}
"""Task name -> (task class, the one check that must fail)."""


class BrokenTasks:
    @hookimpl
    def bench_register_tasks(self, register):
        for name, (factory, _) in FAULTS.items():
            parameters = (LENGTH, SYMBOLS) if factory is UnboundedSymbols else (LENGTH,)
            register(TaskDefinition(name, factory.__doc__ or name, parameters, factory))
