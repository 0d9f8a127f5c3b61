"""Summaries across runs: per-cell spread over seeds, and memory length over a length sweep."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from harness.records import RunRecord

SOLVED_SHARE = 0.5
"""A length counts as remembered when at least this share of its seeds solved it."""


@dataclass
class CellSummary:
    """One cell at one setting of the task, across seeds."""

    cell: str
    task: str
    task_params: dict
    seeds: int
    success_rate: float
    headline_median: float | None
    headline_min: float | None
    headline_max: float | None
    headline_std: float | None
    loss_ratio_median: float | None
    step_ms_median: float | None
    grad_norm_p99_median: float | None
    nonfinite_events: int
    loss_spikes: int
    diverged: int
    failed: int


@dataclass
class MemoryLength:
    cell: str
    success_rate: dict[int, float] = field(default_factory=dict)
    """Share of seeds that solved the task, per length."""

    @property
    def memory_length(self) -> int | None:
        """The longest length solved by at least SOLVED_SHARE of its seeds, if any."""
        solved = [length for length, rate in self.success_rate.items() if rate >= SOLVED_SHARE]
        return max(solved) if solved else None


def _median(values: Sequence[float | None]) -> float | None:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.median(finite)) if finite else None


def _setting(record: RunRecord) -> tuple:
    return record.spec.cell, record.spec.task, tuple(sorted(record.spec.task_params.items()))


def summarise_cells(records: Iterable[RunRecord]) -> list[CellSummary]:
    groups: dict[tuple, list[RunRecord]] = defaultdict(list)
    for record in records:
        groups[_setting(record)].append(record)
    summaries = []
    for (cell, task, params), group in groups.items():
        headlines = [r.accuracy.headline for r in group
                     if r.accuracy and r.accuracy.headline is not None]
        summaries.append(CellSummary(
            cell=cell, task=task, task_params=dict(params), seeds=len(group),
            success_rate=sum(bool(r.accuracy and r.accuracy.solved) for r in group) / len(group),
            headline_median=_median(headlines),
            headline_min=min(headlines) if headlines else None,
            headline_max=max(headlines) if headlines else None,
            headline_std=float(np.std(headlines)) if headlines else None,
            loss_ratio_median=_median([r.accuracy.loss_ratio for r in group if r.accuracy]),
            step_ms_median=_median([r.speed.step_ms_median for r in group if r.speed]),
            grad_norm_p99_median=_median([r.stability.grad_norm_p99 for r in group
                                          if r.stability]),
            nonfinite_events=sum(r.stability.nonfinite_events for r in group if r.stability),
            loss_spikes=sum(r.stability.loss_spikes for r in group if r.stability),
            diverged=sum(r.status == "diverged" for r in group),
            failed=sum(r.status == "failed" for r in group),
        ))
    return summaries


def memory_lengths(records: Iterable[RunRecord]) -> list[MemoryLength]:
    """Per cell, the success rate at each swept ``length`` and the memory length it implies."""
    by_cell: dict[str, dict[int, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        length = record.spec.task_params.get("length")
        if length is None:
            continue
        by_cell[record.spec.cell][int(length)].append(
            bool(record.accuracy and record.accuracy.solved))
    return [
        MemoryLength(cell, {length: sum(v) / len(v) for length, v in sorted(lengths.items())})
        for cell, lengths in by_cell.items()
    ]
