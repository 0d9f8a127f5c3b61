"""Compare two sets of run records: every matched run, and every cell over its seeds."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness.compare.environment import check_environment
from harness.compare.load import load_reason
from harness.compare.matching import MatchedRun, match, pair_rounds
from harness.compare.memory import memory_changes
from harness.compare.model import CellComparison, Change, Comparison, RunComparison
from harness.compare.rules import STATUS_RANK, Rules, by_count, by_speed, judge
from harness.compare.speed import Block, SpeedChange, compare_speed
from harness.compare.text import difference_text
from harness.errors import UsageError
from harness.metrics import Metric, Value, measured, metric, shown_in
from harness.records import RunRecord
from harness.sweep import setting_labels


@dataclass(frozen=True)
class Side:
    """One side of a comparison, summarised over its records (repeats, rounds or seeds)."""

    values: dict[str, Value]
    """Each compared metric's value over the records, by its key
    (:meth:`harness.metrics.Metric.summarise`)."""
    status_rank: int
    """Summed over the records: ok 0, diverged 1, failed 2."""
    status: str


def summarise(records: Sequence[RunRecord], metrics: Sequence[Metric]) -> Side:
    statuses = sorted({r.status for r in records}, key=STATUS_RANK.__getitem__)
    counts = {s: sum(r.status == s for r in records) for s in statuses}
    return Side(
        values={m.key: m.summarise(records, measured_only=True) for m in metrics},
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
    metrics = measured(shown_in("compare"), [*baseline, *current])
    blocks = {run.spec.run_id: _blocks(run, interleaved) for run in matching.runs}

    def changes(runs: list[MatchedRun]) -> list[Change]:
        old = [r for run in runs for r in run.baseline]
        new = [r for run in runs for r in run.current]
        load = ("" if rules.strict_speed
                else load_reason(old, new, interleaved, rules.speed_factor))
        return _changes(summarise(old, metrics), summarise(new, metrics),
                        compare_speed([b for run in runs for b in blocks[run.spec.run_id]]),
                        rules, speed_gates, early_stop=runs[0].spec.stop_when_solved,
                        load=load, over_seeds=len(runs) > 1)

    cells = [CellComparison([RunComparison(run.spec, changes([run]),
                                           (len(run.baseline), len(run.current)))
                             for run in group], changes(group))
             for group in _by_cell(matching.runs)]
    return Comparison(rules, interleaved, environment, speed_gates, cells,
                      matching.only_baseline, matching.only_current,
                      memory_changes(baseline, current), setting_labels([*baseline, *current]))


def _blocks(run: MatchedRun, interleaved: bool) -> list[Block]:
    """One block per round when interleaved, else one block of all records of each side."""
    if interleaved:
        return [(_step_ms([a]), _step_ms([b])) for a, b in pair_rounds(run)]
    return [(_step_ms(run.baseline), _step_ms(run.current))]


def _step_ms(records: Iterable[RunRecord]) -> list[float]:
    return [ms for r in records if r.speed for ms in r.speed.step_ms]


def _by_cell(runs: Iterable[MatchedRun]) -> list[list[MatchedRun]]:
    """Runs that differ in their seed only."""
    groups: dict[str, list[MatchedRun]] = {}
    for run in runs:
        key = json.dumps({**run.spec.to_dict(), "seed": None}, sort_keys=True)
        groups.setdefault(key, []).append(run)
    return list(groups.values())


def _changes(old: Side, new: Side, speed: SpeedChange | None, rules: Rules, speed_gates: bool,
             early_stop: bool, load: str, over_seeds: bool) -> list[Change]:
    # A run stopped as soon as it solved ends with the metrics of the evaluation at which it
    # crossed the criterion, wherever in that step it landed: judge it by when it solved.
    final = not (early_stop and old.values.get("solved") == new.values.get("solved") == 1.0)
    changes = []
    for key in old.values:
        declared = metric(key)
        name, aspect = declared.header(), declared.aspect
        if declared.rule.kind == "speed":
            changes.append(Change(name, aspect, None, None, None, key=key) if speed is None
                           else Change(name, aspect, speed.baseline_ms, speed.current_ms,
                                       by_speed(speed.ratio, speed.p_value, rules),
                                       gating=speed_gates and not load, ratio=speed.ratio,
                                       p_value=speed.p_value, note=load if speed_gates else "",
                                       key=key))
            continue
        a, b = old.values[key], new.values[key]
        judged = final or not declared.rule.final_only
        changes.append(Change(name, aspect, a, b, judge(declared, a, b, rules) if judged
                              else None, key=key, over_seeds=over_seeds))
    return [*changes, Change("status", "stability", old.status, new.status,
                             by_count(old.status_rank, new.status_rank))]
