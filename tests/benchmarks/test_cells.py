"""One training step and one evaluation batch of every available backend × cell, at one
fixed small size, so that `tox -e bench -- --benchmark-compare` shows which cell got slower
(results/README.md gives the --benchmark-compare-fail threshold and why).

``benchmark.pedantic`` with explicit rounds: the warm-up rounds (graph tracing, allocator
growth, oneDNN kernel selection) run first and are not timed.
"""

from __future__ import annotations

import pytest

from tests.helpers import make_host

from .conftest import harness_trainer, training_step

SMALL = dict(task="copy", task_params={"length": 20}, hidden=64, batch=32)
"""Copy, T=20 (40 steps per sequence), 64 units, batch 32, on the CPU."""
ROUNDS = 30
WARMUP_ROUNDS = 5


def available_cells() -> list[str]:
    """Known at collection time: registering plugins imports no framework."""
    registry = make_host().registry
    return sorted(cell.qualified_name for cell in registry.cells.values()
                  if registry.backends[cell.backend].available)


CELLS = available_cells()


@pytest.mark.parametrize("cell", CELLS)
def test_training_step(benchmark, full_registry, cell):
    _, trainer, batches = harness_trainer(full_registry, cell, **SMALL)
    benchmark.group = "training step: copy T=20, hidden 64, batch 32"
    benchmark.extra_info["kernel_path"] = trainer.kernel_path
    benchmark.pedantic(training_step(trainer, batches), rounds=ROUNDS,
                       warmup_rounds=WARMUP_ROUNDS, iterations=1)


@pytest.mark.parametrize("cell", CELLS)
def test_training_step_at_standard_size(benchmark, full_registry, cell):
    """The size the README's backend table quotes: T=100, batch 128, 128 units."""
    _, trainer, batches = harness_trainer(full_registry, cell)
    benchmark.group = "training step: copy T=100, hidden 128, batch 128"
    benchmark.extra_info["kernel_path"] = trainer.kernel_path
    benchmark.pedantic(training_step(trainer, batches), rounds=10, warmup_rounds=3, iterations=1)


@pytest.mark.parametrize("cell", CELLS)
def test_evaluation_batch(benchmark, full_registry, cell):
    _, trainer, batches = harness_trainer(full_registry, cell, **SMALL)
    batch = batches[0]
    benchmark.group = "evaluation batch: copy T=20, hidden 64, batch 32"
    benchmark.pedantic(trainer.evaluate, args=(batch.inputs, batch.targets), rounds=ROUNDS,
                       warmup_rounds=WARMUP_ROUNDS, iterations=1)
