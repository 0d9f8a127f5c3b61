"""What one task's checks share: the registered definition, its instances and the measured
input-free predictor, each built once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.conformance.memoryless import Measurement, measure
from harness.errors import UsageError
from harness.tasks import LENGTH_PARAMETER, Task, TaskDefinition

SEED = 0
ELEMENTS = 4_000_000
"""Input numbers per sample of the baseline measurement: sizes it for any task's shape."""
EXAMPLES = (500, 8_000)
"""Fewest and most examples the baseline is fitted on (and scored on)."""


class TaskFixture:
    """One registered task family (see :mod:`harness.conformance.task_checks`)."""

    def __init__(self, definition: TaskDefinition):
        self.definition = definition
        self._tasks: dict[tuple, Task] = {}
        self._measurements: dict[tuple, Measurement] = {}

    @property
    def subject(self) -> str:
        return f"task:{self.definition.name}"

    def task(self, params: Mapping[str, Any] | None = None) -> Task:
        """The task built from ``params`` over the defaults, as ``bench run`` builds it."""
        key = tuple(sorted((params or {}).items()))
        if key not in self._tasks:
            self._tasks[key] = self.definition.build(dict(params or {}))
        return self._tasks[key]

    def length_parameter(self):
        """The declared ``length`` parameter, or None."""
        return next((p for p in self.definition.parameters if p.name == LENGTH_PARAMETER),
                    None)

    def settings(self) -> list[dict[str, Any]]:
        """The defaults and, for a task with a length, half the default length where the
        other defaults allow it: the baseline of a delay task depends on the length."""
        length = self.length_parameter()
        if length is None or not isinstance(length.default, int) or length.default < 2:
            return [{}]
        half = {LENGTH_PARAMETER: length.default // 2}
        try:
            self.task(half)
        except UsageError:
            return [{}]
        return [{}, half]

    def measurement(self, params: Mapping[str, Any]) -> Measurement:
        """The input-free predictor of the task at ``params``, fitted and scored once."""
        key = tuple(sorted(params.items()))
        if key not in self._measurements:
            task = self.task(params)
            size = ELEMENTS // max(1, task.length * task.input_size)
            examples = int(np.clip(size, *EXAMPLES))
            train = task.sample(np.random.default_rng(SEED), examples, split="train")
            held_out = task.held_out(np.random.default_rng(SEED + 1), examples)
            self._measurements[key] = measure(task, train, held_out)
        return self._measurements[key]
