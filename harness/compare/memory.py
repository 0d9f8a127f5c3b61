"""Memory lengths of both sides: a cell that remembers or solves a shorter length than
before has regressed, whatever its single runs say."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.compare.rules import Verdict
from harness.records import RunRecord
from harness.sweep import LengthVerdict, MemoryLength, memory_lengths

MEASURES = ("remembers up to", "solves up to")


@dataclass(frozen=True)
class MemoryChange:
    cell: str
    task: str
    measure: str
    """One of MEASURES."""
    baseline: int | None
    """The length, or None for no length at all."""
    current: int | None

    @property
    def verdict(self) -> Verdict:
        old, new = self.baseline or 0, self.current or 0
        return "regression" if new < old else "improvement" if new > old else "unchanged"

    def text(self) -> str:
        return (f"{self.cell} {self.task}: {self.measure} "
                f"{_length(self.baseline)} → {_length(self.current)}")


def memory_changes(baseline: Sequence[RunRecord], current: Sequence[RunRecord]
                   ) -> list[MemoryChange]:
    """Both memory lengths of every cell and task that the two sides have in common.

    "remembers up to" is compared only when both sides' records carry the memory test
    (records written before it existed do not)."""
    both = [*baseline, *current]
    old = {(m.label, m.task): m for m in memory_lengths(baseline, among=both)}
    new = {(m.label, m.task): m for m in memory_lengths(current, among=both)}
    tested = all(any(r.accuracy and r.accuracy.memory for r in side)
                 for side in (baseline, current))
    changes = []
    for key in sorted(old.keys() & new.keys()):
        for measure in MEASURES[0 if tested else 1:]:
            changes.append(MemoryChange(*key, measure, _measure(old[key], measure),
                                        _measure(new[key], measure)))
    return changes


def _measure(memory: MemoryLength, measure: str) -> int | None:
    verdict: LengthVerdict | None = (memory.remembers_up_to if measure == MEASURES[0]
                                     else memory.solves_up_to)
    return verdict.length if verdict else None


def _length(length: int | None) -> str:
    return "none" if length is None else f"T={length}"
