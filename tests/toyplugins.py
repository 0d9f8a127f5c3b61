"""Small real plugins used by tests: registered and unregistered in fixtures."""

from __future__ import annotations

import numpy as np

from harness import hookimpl
from harness.registry import Cell
from harness.tasks import Batch, Parameter, Task, TaskDefinition


class EchoTask(Task):
    """Output the symbol seen at this very step: no memory needed, so a cell solves it fast."""

    input_size = output_size = 4
    readout = "every_step"
    loss = "xent"
    headline = "accuracy"
    chance = 0.25
    solved_criterion = "accuracy >= 0.99"

    def __init__(self, length: int):
        self.length = length
        self.baseline_loss = float(np.log(4))

    def sample(self, rng, batch_size, split="train"):
        symbols = rng.integers(0, 4, size=(batch_size, self.length))
        return Batch(np.eye(4, dtype=np.float32)[symbols], symbols.astype(np.int64))

    def headline_scores(self, outputs, targets):
        return (outputs.argmax(-1) == targets).mean(axis=1)

    def is_solved(self, loss, headline):
        return headline >= 0.99


class ExplodingTask(EchoTask):
    """Inputs that are infinite: every loss is non-finite, so a run must end as diverged."""

    def sample(self, rng, batch_size, split="train"):
        batch = super().sample(rng, batch_size)
        return Batch(np.full_like(batch.inputs, np.inf), batch.targets)


class RecordingTask(EchoTask):
    """Echo that keeps every batch it draws, by split, so tests can see what a run saw."""

    drawn: list[tuple[str, np.ndarray]] = []

    def sample(self, rng, batch_size, split="train"):
        batch = super().sample(rng, batch_size, split)
        RecordingTask.drawn.append((split, batch.inputs.copy()))
        return batch


LENGTH = Parameter("length", int, default=5, help="sequence length", minimum=1)


class ToyTasks:
    @hookimpl
    def bench_register_tasks(self, register):
        register(TaskDefinition("echo", "repeat the current symbol", (LENGTH,), EchoTask))
        register(TaskDefinition("exploding", "infinite inputs", (LENGTH,), ExplodingTask))
        register(TaskDefinition("recording", "echo, keeping what it draws", (LENGTH,),
                                RecordingTask))


def _broken_factory(input_size, hidden, options):
    raise RuntimeError("this cell cannot be built")


class BrokenCell:
    @hookimpl
    def bench_register_cells(self, register):
        register(Cell("broken", "torch", factory=_broken_factory,
                      initializer=lambda i, h, rng: {}, description="always fails"))


FAILING_STEP = 4
"""The training step at which the flaky cell's forward raises."""


def _flaky_factory(input_size, hidden, options):
    from bench_torch.plugin import build_cell

    cell = build_cell("rnn", input_size, hidden, options)
    forward, steps = cell.forward, [0]

    def flaky(x):
        if cell.training:
            steps[0] += 1
            if steps[0] == FAILING_STEP:
                raise RuntimeError(f"forward failed at training step {FAILING_STEP}")
        return forward(x)

    cell.forward = flaky
    return cell


def _hanging_factory(input_size, hidden, options):
    import time

    time.sleep(3600)


class FaultyCells:
    """A cell that fails mid-training and one that blocks (until a time limit stops it)."""

    @hookimpl
    def bench_register_cells(self, register):
        from harness.canonical import init_rnn

        register(Cell("flaky", "torch", factory=_flaky_factory, initializer=init_rnn))
        register(Cell("hang", "torch", factory=_hanging_factory, initializer=init_rnn))
