"""Loading both sides, checking they can be compared, and matching their runs by spec."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from harness.compare.text import join_values, spec_label
from harness.errors import UsageError
from harness.records import RunRecord, load_results
from harness.spec import RunSpec

SHOWN_VALUES = 3
"""Values listed per side when naming how the specs of the two sides differ."""


@dataclass
class MatchedRun:
    spec: RunSpec
    baseline: list[RunRecord]
    """Every record of this spec on the baseline side: one, or one per repeat or round."""
    current: list[RunRecord]


@dataclass
class Matching:
    runs: list[MatchedRun]
    only_baseline: list[RunSpec]
    only_current: list[RunSpec]


def load_side(path: Path, side: str) -> list[RunRecord]:
    """Every record under ``path``; any unreadable file is an error, not a skipped run."""
    results = load_results(path)
    if results.skipped:
        _, reason = results.skipped[0]
        more = f" (and {len(results.skipped) - 1} more)" if len(results.skipped) > 1 else ""
        raise UsageError(f"{side} {str(path)!r} has unreadable records: {reason}{more}")
    return results.records


def match(baseline: Sequence[RunRecord], current: Sequence[RunRecord]) -> Matching:
    """Runs with equal specs are the same run; UsageError when the sides cannot be compared."""
    _check_schema_versions(baseline, current)
    old, new = _by_run(baseline), _by_run(current)
    common = old.keys() & new.keys()
    if not common:
        raise UsageError("nothing to compare: no run of the baseline has the spec of a run of "
                         "the current results; " + _spec_differences(baseline, current))
    runs = [MatchedRun(old[key][0].spec, old[key], new[key]) for key in common]
    return Matching(
        runs=sorted(runs, key=lambda run: _order(run.spec)),
        only_baseline=sorted((old[key][0].spec for key in old.keys() - common), key=_order),
        only_current=sorted((new[key][0].spec for key in new.keys() - common), key=_order),
    )


def pair_rounds(run: MatchedRun) -> list[tuple[RunRecord, RunRecord]]:
    """The rounds of a run measured alternately (A B A B ...), paired in time order.

    Each round of both sides must start before the next round of either side starts.
    """
    title = spec_label(run.spec, {})
    old, new = (sorted(side, key=lambda r: r.started_at) for side in (run.baseline, run.current))
    if len(old) != len(new) or len(old) < 2:
        raise UsageError(f"--interleaved needs the same number (at least 2) of rounds of each "
                         f"run on both sides; {title}: {len(old)} in the baseline, "
                         f"{len(new)} in the current results")
    rounds = list(zip(old, new, strict=True))
    for (a, b), (next_a, next_b) in zip(rounds, rounds[1:], strict=False):
        if max(a.started_at, b.started_at) > min(next_a.started_at, next_b.started_at):
            raise UsageError(f"--interleaved: the rounds of {title} were not run alternately "
                             f"(a round started at {min(next_a.started_at, next_b.started_at)} "
                             f"before the previous round of the other side, at "
                             f"{max(a.started_at, b.started_at)})")
    return rounds


def _check_schema_versions(baseline: Sequence[RunRecord], current: Sequence[RunRecord]) -> None:
    old = {r.schema_version for r in baseline}
    new = {r.schema_version for r in current}
    if len(old | new) > 1:
        raise UsageError(f"the records have different schema versions (baseline: "
                         f"{_join(old)}; current: {_join(new)}); rerun the older side with "
                         f"this bench to compare them")


def _by_run(records: Sequence[RunRecord]) -> dict[str, list[RunRecord]]:
    runs: dict[str, list[RunRecord]] = {}
    for record in records:
        runs.setdefault(record.spec.run_id, []).append(record)
    return runs


def _order(spec: RunSpec) -> tuple:
    params = json.dumps(spec.task_params, sort_keys=True)
    return spec.task, params, spec.cell, spec.seed, spec.run_id


def _spec_differences(baseline: Sequence[RunRecord], current: Sequence[RunRecord]) -> str:
    """Which spec fields take different values on the two sides, e.g. the task."""
    parts = []
    for field in fields(RunSpec):
        old = {_value(getattr(r.spec, field.name)) for r in baseline}
        new = {_value(getattr(r.spec, field.name)) for r in current}
        if old != new:
            parts.append(f"{field.name} (baseline: {_join(old)}; current: {_join(new)})")
    return "they differ in " + ", ".join(parts) if parts else "they share no spec"


def _value(value) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)


def _join(values: set) -> str:
    return join_values(values, limit=SHOWN_VALUES)
