"""Every registered task's data generator: one training batch at the task's default size.

Data are generated fresh at every training step, so a slow generator slows every run.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.runner import train_stream
from tests.helpers import make_host

BATCH = 64
ROUNDS = 50
WARMUP_ROUNDS = 3


@pytest.mark.parametrize("task_name", sorted(make_host("tasks").registry.tasks))
def test_training_batch(benchmark, task_name):
    definition = make_host("tasks").registry.task(task_name)
    task = definition.build(definition.defaults())
    rng: np.random.Generator = train_stream(0)
    benchmark.group = f"data generator: one batch of {BATCH} at the default size"
    benchmark.extra_info["params"] = definition.defaults()
    benchmark.pedantic(task.sample, args=(rng, BATCH), rounds=ROUNDS,
                       warmup_rounds=WARMUP_ROUNDS, iterations=1)
