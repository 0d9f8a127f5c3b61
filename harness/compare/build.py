"""Compare two sets of run records: every matched run, and every cell over its seeds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from harness.compare.environment import check_environment
from harness.compare.matching import MatchedRun, match, pair_rounds
from harness.compare.model import CellComparison, Change, Comparison, RunComparison
from harness.compare.rules import STATUS_RANK, Rules, by_count, by_ratio, by_speed, by_tolerance
from harness.compare.speed import Block, compare_speed
from harness.compare.text import difference_text
from harness.errors import UsageError
from harness.records import RunRecord
from harness.stats import percentile


@dataclass(frozen=True)
class Side:
    """One side of a comparison, summarised over its records (repeats, rounds or seeds)."""

    headline: float | None
    """Median over the records."""
    loss_ratio: float | None
    solved: float | None
    """Share of the records that solved the task."""
    steps_to_solve: float | None
    """Median over the records that solved it."""
    grad_norm_p99: float | None
    nonfinite_events: int
    status_rank: int
    """Summed over the records: ok 0, diverged 1, failed 2."""
    status: str


def summarise(records: Sequence[RunRecord]) -> Side:
    accuracies = [r.accuracy for r in records if r.accuracy is not None]
    statuses = sorted({r.status for r in records}, key=STATUS_RANK.__getitem__)
    counts = {s: sum(r.status == s for r in records) for s in statuses}
    return Side(
        headline=_median(a.headline for a in accuracies),
        loss_ratio=_median(a.loss_ratio for a in accuracies),
        solved=float(np.mean([a.solved for a in accuracies])) if accuracies else None,
        steps_to_solve=_median(a.steps_to_solve for a in accuracies if a.solved),
        grad_norm_p99=_median(r.stability.grad_norm_p99 for r in records if r.stability),
        nonfinite_events=sum(r.stability.nonfinite_events for r in records if r.stability),
        status_rank=sum(STATUS_RANK[r.status] for r in records),
        status=statuses[0] if len(records) == 1 else ", ".join(
            f"{counts[s]} {s}" for s in statuses),
    )


def compare(baseline: Sequence[RunRecord], current: Sequence[RunRecord], rules: Rules,
            interleaved: bool = False) -> Comparison:
    """UsageError when the sides cannot be compared (see :func:`matching.match`)."""
    matching = match(baseline, current)
    environment = check_environment(baseline, current)
    if interleaved and environment.machine:
        raise UsageError("--interleaved needs both sides measured on one machine; they differ "
                         "in " + "; ".join(map(difference_text, environment.machine)))
    speed_gates = environment.same or rules.strict_speed
    blocks: dict[str, list[Block]] = {
        run.spec.run_id: _blocks(run, interleaved) for run in matching.runs}

    def changes(old: Side, new: Side, speed_blocks: list[Block]) -> list[Change]:
        return _changes(old, new, speed_blocks, rules, speed_gates)

    runs = [RunComparison(run.spec, changes(summarise(run.baseline), summarise(run.current),
                                            blocks[run.spec.run_id]),
                          (len(run.baseline), len(run.current)))
            for run in matching.runs]
    cells = []
    for group in _by_cell(matching.runs):
        spec = group[0].spec
        cells.append(CellComparison(
            spec.cell, spec.task, spec.task_params, seeds=len(group),
            changes=changes(summarise([r for run in group for r in run.baseline]),
                            summarise([r for run in group for r in run.current]),
                            [b for run in group for b in blocks[run.spec.run_id]])))
    return Comparison(rules, interleaved, environment, runs, cells,
                      matching.only_baseline, matching.only_current)


def _blocks(run: MatchedRun, interleaved: bool) -> list[Block]:
    """One block per round when interleaved, else one block of all records of each side."""
    if interleaved:
        return [(_step_ms([a]), _step_ms([b])) for a, b in pair_rounds(run)]
    return [(_step_ms(run.baseline), _step_ms(run.current))]


def _step_ms(records: Iterable[RunRecord]) -> list[float]:
    return [ms for r in records if r.speed for ms in r.speed.step_ms]


def _by_cell(runs: Iterable[MatchedRun]) -> list[list[MatchedRun]]:
    groups: dict[tuple, list[MatchedRun]] = {}
    for run in runs:
        key = run.spec.task, tuple(sorted(run.spec.task_params.items())), run.spec.cell
        groups.setdefault(key, []).append(run)
    return list(groups.values())


def _changes(old: Side, new: Side, blocks: list[Block], rules: Rules,
             speed_gates: bool) -> list[Change]:
    def change(metric: str, aspect: str, attribute: str,
               judge: Callable[[float | None, float | None], str | None] | None) -> Change:
        a, b = getattr(old, attribute), getattr(new, attribute)
        return Change(metric, aspect, a, b, judge(a, b) if judge else None)

    speed = compare_speed(blocks)
    return [
        change("headline", "accuracy", "headline",
               lambda a, b: by_tolerance(a, b, rules.headline_tolerance, higher_is_better=True)),
        change("loss/baseline", "accuracy", "loss_ratio",
               lambda a, b: by_tolerance(a, b, rules.loss_tolerance, higher_is_better=False)),
        change("solved", "accuracy", "solved",
               lambda a, b: by_tolerance(a, b, 0.0, higher_is_better=True)),
        change("steps to solve", "accuracy", "steps_to_solve",
               lambda a, b: by_ratio(a, b, rules.steps_tolerance)),
        Change("ms/step", "speed", None, None, None) if speed is None else Change(
            "ms/step", "speed", speed.baseline_ms, speed.current_ms,
            by_speed(speed.ratio, speed.p_value, rules), gating=speed_gates,
            ratio=speed.ratio, p_value=speed.p_value),
        change("grad-norm p99", "stability", "grad_norm_p99", None),
        change("non-finite", "stability", "nonfinite_events", by_count),
        Change("status", "stability", old.status, new.status,
               by_count(old.status_rank, new.status_rank)),
    ]


def _median(values: Iterable[float | None]) -> float | None:
    """Median of the finite values (None counts as missing)."""
    return percentile(list(values), 50)
