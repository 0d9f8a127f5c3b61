"""Speed benchmarks (pytest-benchmark). Skipped by the test command (``--benchmark-skip``
in pyproject); ``tox -e bench`` or ``pytest tests/benchmarks --benchmark-only`` runs them.

Every timing follows a warm-up and reads values back from the device, so the clock stops
only when the work is done.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable

import pytest

from harness.runner import build_trainer, plan, train_stream
from harness.spec import RunSpec
from tests.helpers import make_host

STANDARD = dict(task="copy", task_params={"length": 100}, hidden=128, batch=128, device="cpu")
"""The standard size the README quotes: copy T=100, batch 128, 128 units."""


@pytest.fixture(scope="session")
def full_registry():
    return make_host().registry


def harness_trainer(registry, cell: str, **changes):
    """The harness's own trainer for ``cell``, and a list of batches to feed it."""
    run = plan(RunSpec(cell=cell, **{**STANDARD, **changes}), registry)
    rng = train_stream(0)
    batches = [run.task.sample(rng, run.spec.batch) for _ in range(4)]
    return run, build_trainer(run), batches


def training_step(trainer, batches) -> Callable[[], object]:
    """One training step of ``trainer`` per call, cycling through ``batches``."""
    cycle = itertools.cycle(batches)

    def step():
        batch = next(cycle)
        return trainer.train_step(batch.inputs, batch.targets)

    return step


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages, for the condition of a measurement."""
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def interleaved_medians(steps: dict[str, Callable[[], object]], rounds: int,
                        warmup: int = 5) -> dict[str, float]:
    """Median seconds of each callable, timed A B A B ... so that drift hits all alike."""
    for _ in range(warmup):
        for step in steps.values():
            step()
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}
