"""Adaptive length search: per cell, how far back it remembers, found within a step budget.

For each cell (its seeds together) the search tries :data:`START_LENGTH`, multiplies the
length by :data:`GROWTH` while the cell remembers, then bisects (geometrically) between the
longest length it remembers and the shortest it does not, until the two are within
:data:`PRECISION` of each other. It stops early when the next run would take the cell past
its budget of training steps, before a length whose runs cannot fit in the memory available
(:mod:`harness.footprint`: arithmetic, no framework import), or at the task's longest
length. The next length depends only on the verdicts so far, never on time, so an
interrupted search that is run again finds its runs recorded in ``--out``, skips them and
continues exactly where it stopped.

The cells' searches advance in rounds, one run (per seed) of every unfinished cell per
round, so a process pool runs the cells side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from harness.errors import UsageError
from harness.footprint import Footprint, shortfall, size_text
from harness.records import RunRecord
from harness.registry import Registry
from harness.spec import RunSpec
from harness.sweep import LengthVerdict, length_verdict
from harness.tasks import LENGTH_PARAMETER

START_LENGTH = 5
GROWTH = 2
PRECISION = 0.25
"""The boundary is found when the shortest length not remembered is at most this much
longer than the longest remembered (or the next length up)."""
MAX_LENGTH = 4096
"""The longest length tried when the task sets no maximum."""
BUDGET_RUNS = 4
"""The default budget: this many runs' training steps (``--steps``) per cell and seed."""

RunRound = Callable[[list[RunSpec]], list[RunRecord]]
"""Run specs (skipping those already recorded) and return their records, in order."""
MemoryCheck = Callable[[RunSpec], "tuple[Footprint, int] | None"]
"""A run's least memory and the memory available where it cannot fit, else None."""


@dataclass
class CellSearch:
    """The search of one cell: the lengths tried, their verdicts, and why it stopped."""

    templates: list[RunSpec]
    """One spec per seed; the search sets their ``length``."""
    budget: int
    """Training steps per seed."""
    start: int
    maximum: int
    memory: MemoryCheck
    verdicts: dict[int, LengthVerdict] = field(default_factory=dict)
    records: list[RunRecord] = field(default_factory=list)
    stopped: str = ""

    @property
    def cell(self) -> str:
        return self.templates[0].cell

    @property
    def spent(self) -> int:
        """Training steps taken so far, per seed."""
        return sum(v.steps for v in self.verdicts.values()) // len(self.templates)

    def specs_at(self, length: int) -> list[RunSpec]:
        return [at_length(t, length) for t in self.templates]

    def add(self, length: int, records: Sequence[RunRecord]) -> None:
        self.records.extend(records)
        self.verdicts[length] = length_verdict(length, records)

    def next_length(self) -> int | None:
        """The next length to try, or None (with :attr:`stopped` saying why)."""
        if self.stopped:
            return None
        length, why = self._candidate()
        if length is not None and self.spent + self.templates[0].steps > self.budget:
            length, why = None, (f"the next length would exceed the budget of {self.budget} "
                                 f"steps ({self.spent} used)")
        elif length is not None and (short := self.memory(self.specs_at(length)[0])):
            least, available = short
            length, why = None, (f"the next length, T={length}, would not fit in memory (needs "
                                 f"{size_text(least.total)}, {size_text(available)} available)")
        self.stopped = why
        return length

    def _candidate(self) -> tuple[int | None, str]:
        if not self.verdicts:
            return self.start, ""
        forgotten = [n for n, v in self.verdicts.items() if not v.remembered]
        if not forgotten:
            longest = max(self.verdicts)
            if longest >= self.maximum:
                return None, f"remembers up to the longest length searched, {self.maximum}"
            return min(longest * GROWTH, self.maximum), ""
        shortest_forgotten = min(forgotten)
        remembered = [n for n, v in self.verdicts.items()
                      if v.remembered and n < shortest_forgotten]
        if not remembered:
            return None, f"no memory at the shortest length, {shortest_forgotten}"
        low, high = max(remembered), shortest_forgotten
        if high - low <= max(1, low * PRECISION):
            return None, f"boundary found between {low} and {high}"
        return min(high - 1, max(low + 1, round(math.sqrt(low * high)))), ""


def search_lengths(searches: Sequence[CellSearch], run_round: RunRound) -> None:
    """Advance every search until each has stopped."""
    while wanted := [(s, n) for s in searches if (n := s.next_length()) is not None]:
        records = {r.run_id: r for r in run_round(
            [spec for s, n in wanted for spec in s.specs_at(n)])}
        for search, length in wanted:
            search.add(length, [records[spec.run_id] for spec in search.specs_at(length)])


def plan_searches(specs: Sequence[RunSpec], registry: Registry, budget: int | None,
                  max_length: int | None = None) -> list[CellSearch]:
    """One search per cell over ``specs`` (cells × seeds at any one length), trying no
    length above ``max_length`` (default: the task's maximum, else :data:`MAX_LENGTH`)."""
    first = specs[0]
    definition = registry.task(first.task)
    (parameter,) = [p for p in definition.parameters if p.name == LENGTH_PARAMETER]
    maximum = int(parameter.maximum) if parameter.maximum is not None else MAX_LENGTH
    if max_length is not None:
        if not START_LENGTH <= max_length <= maximum:
            raise UsageError(f"--max-length must be in [{START_LENGTH}, {maximum}] for "
                             f"{first.task}, got {max_length}")
        maximum = max_length
    start = first_length(first, registry, maximum)
    steps = budget if budget is not None else BUDGET_RUNS * first.steps
    if steps < first.steps:
        raise UsageError(f"--budget must be at least --steps ({first.steps}) to try one "
                         f"length, got {steps}")
    by_cell: dict[str, list[RunSpec]] = {}
    for spec in specs:
        by_cell.setdefault(spec.cell, []).append(spec)
    return [CellSearch(templates, steps, start, maximum, _memory_check(registry))
            for templates in by_cell.values()]


def _memory_check(registry: Registry) -> MemoryCheck:
    def check(spec: RunSpec) -> tuple[Footprint, int] | None:
        (cell,) = registry.resolve_cells([spec.cell])
        return shortfall(spec, registry.task(spec.task).build(spec.task_params), cell)
    return check


def at_length(spec: RunSpec, length: int) -> RunSpec:
    """``spec`` with its task's length set to ``length``."""
    return replace(spec, task_params={**spec.task_params, LENGTH_PARAMETER: length})


def first_length(spec: RunSpec, registry: Registry, maximum: int = MAX_LENGTH) -> int:
    """The search's first length: START_LENGTH, or the first of its doublings that the task
    accepts with the other parameters (selective copy needs a length of at least its
    tokens)."""
    definition = registry.task(spec.task)
    length = START_LENGTH
    while True:
        try:
            definition.build({**spec.task_params, LENGTH_PARAMETER: length})
            return length
        except UsageError:
            if length >= maximum:
                raise
            length = min(length * GROWTH, maximum)
