"""Summaries across runs: per-cell spread over seeds, and memory length over a length sweep."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from harness import metrics
from harness.metrics import Value
from harness.records import RunRecord
from harness.spec import RunSpec
from harness.tasks import LENGTH_PARAMETER

SOLVED_SHARE = 0.5
"""A length counts as solved (remembered) when at least this share of its seeds solved it
(remembered it, by the memory test of :mod:`harness.memory`)."""


@dataclass(frozen=True)
class Setting:
    """One cell at one whole setting of a task: every option of its runs but the seed."""

    cell: str
    task: str
    task_params: dict
    distinction: str
    """The options that tell it from other settings of the same cell, task and parameters
    (a suite's entries), e.g. ``hidden=64``; empty when there are none."""

    @property
    def label(self) -> str:
        """The cell's name, with its distinction if it has one: ``torch:rnn (hidden=64)``."""
        return f"{self.cell} ({self.distinction})" if self.distinction else self.cell


@dataclass(frozen=True)
class CellSummary(Setting):
    """One cell at one setting of the task, across seeds."""

    seeds: int
    values: dict[str, Value]
    """Each metric's value over the seeds, by its key (:meth:`harness.metrics.Metric.summarise`)."""
    headline_min: float | None
    headline_max: float | None
    headline_std: float | None
    diverged: int
    failed: int


@dataclass(frozen=True)
class SeedsVerdict:
    """One cell at one setting of a task, over its seeds."""

    seeds: int
    solved_share: float
    remembered_share: float
    headline: float | None
    """Median over the seeds."""
    p_value: float | None
    """The largest over the seeds that carry the verdict, those that remember when the cell
    remembers and all of them when it does not: the weakest evidence for what is said."""
    steps: int
    """Training steps the seeds took together."""

    @property
    def solved(self) -> bool:
        return self.solved_share >= SOLVED_SHARE

    @property
    def remembered(self) -> bool:
        return self.remembered_share >= SOLVED_SHARE


@dataclass(frozen=True)
class LengthVerdict(SeedsVerdict):
    """One cell at one length, over its seeds."""

    length: int


@dataclass(frozen=True)
class SettingVerdict(Setting):
    """What the runs of one cell at one setting of a task found."""

    headline_name: str
    chance: float | None
    verdict: SeedsVerdict


@dataclass(frozen=True)
class MemoryLength(Setting):
    """A cell's memory length on one task at one setting (``task_params``: those but the
    length): the longest length it remembers and the longest it solves, with the verdict at
    every length tried."""

    headline_name: str
    chance: float | None
    verdicts: dict[int, LengthVerdict] = field(default_factory=dict)

    @property
    def success_rate(self) -> dict[int, float]:
        """Share of seeds that solved the task, per length."""
        return {length: v.solved_share for length, v in self.verdicts.items()}

    @property
    def remembers_up_to(self) -> LengthVerdict | None:
        """The longest length remembered by at least SOLVED_SHARE of its seeds, if any."""
        return _longest(v for v in self.verdicts.values() if v.remembered)

    @property
    def solves_up_to(self) -> LengthVerdict | None:
        """The longest length solved by at least SOLVED_SHARE of its seeds, if any."""
        return _longest(v for v in self.verdicts.values() if v.solved)


def _longest(verdicts: Iterable[LengthVerdict]) -> LengthVerdict | None:
    return max(verdicts, key=lambda v: v.length, default=None)


def _median(values: Sequence[float | None]) -> float | None:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.median(finite)) if finite else None


def _settings(specs: Sequence[RunSpec]) -> list[tuple[Setting, list[int]]]:
    """The specs grouped by cell and whole setting, every option but the seed, as indices into
    ``specs``. A group's distinction names the options in which it differs from the other
    groups of its cell, task and task parameters (a suite's entries)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, spec in enumerate(specs):
        setting = {k: v for k, v in spec.to_dict().items() if k != "seed"}
        groups[json.dumps(setting, sort_keys=True, default=str)].append(index)
    options = [json.loads(key) for key in groups]
    found = []
    for setting, group in zip(options, groups.values(), strict=True):
        alike = [other for other in options
                 if all(other[k] == setting[k] for k in ("cell", "task", "task_params"))]
        distinction = ", ".join(f"{k}={v}" for k, v in setting.items()
                                if any(other[k] != v for other in alike))
        spec = specs[group[0]]
        found.append((Setting(spec.cell, spec.task, spec.task_params, distinction), group))
    return found


def _by_setting(records: Iterable[RunRecord]) -> list[tuple[Setting, list[RunRecord]]]:
    """The records grouped by cell and whole setting (:func:`_settings`): one group's records
    are the seeds of one setting."""
    records = list(records)
    return [(setting, [records[i] for i in group])
            for setting, group in _settings([r.spec for r in records])]


def setting_labels(records: Iterable[RunRecord]) -> dict[str, str]:
    """Each run's cell as tables name it (:attr:`Setting.label`), by its spec's run id."""
    return {record.spec.run_id: setting.label
            for setting, group in _by_setting(records) for record in group}


def run_titles(specs: Sequence[RunSpec]) -> dict[str, str]:
    """Each run's :attr:`~harness.spec.RunSpec.title` with its cell as tables name it, by run
    id: what progress lines call the runs of a suite's entries of one cell."""
    return {specs[i].run_id: specs[i].title_naming(setting.label)
            for setting, group in _settings(specs) for i in group}


def summarise_cells(records: Iterable[RunRecord]) -> list[CellSummary]:
    summaries = []
    for setting, group in _by_setting(records):
        headlines = [r.accuracy.headline for r in group
                     if r.accuracy and r.accuracy.headline is not None]
        summaries.append(CellSummary(
            **asdict(setting), seeds=len(group),
            values={m.key: m.summarise(group) for m in metrics.METRICS},
            headline_min=min(headlines) if headlines else None,
            headline_max=max(headlines) if headlines else None,
            headline_std=float(np.std(headlines)) if headlines else None,
            diverged=sum(r.status == "diverged" for r in group),
            failed=sum(r.status == "failed" for r in group),
        ))
    return summaries


def seeds_verdict(records: Sequence[RunRecord]) -> SeedsVerdict:
    """The verdict of one cell at one setting from the records of its seeds."""
    accuracies = [r.accuracy for r in records if r.accuracy is not None]
    tests = [a.memory for a in accuracies if a.memory is not None]
    remembered_share = sum(t.remembers for t in tests) / len(records)
    carrying = ([t for t in tests if t.remembers] if remembered_share >= SOLVED_SHARE
                else tests)
    return SeedsVerdict(
        seeds=len(records),
        solved_share=sum(a.solved for a in accuracies) / len(records),
        remembered_share=remembered_share,
        headline=_median([a.headline for a in accuracies]),
        p_value=max((t.p_value for t in carrying), default=None),
        steps=sum(r.steps_done for r in records),
    )


def _headline(records: Iterable[RunRecord]) -> tuple[str, float | None]:
    """The headline metric's name and chance level, from the first record that has them."""
    first = next((r.accuracy for r in records if r.accuracy), None)
    return (first.headline_name, first.chance) if first else ("headline", None)


def length_verdict(length: int, records: Sequence[RunRecord]) -> LengthVerdict:
    """The verdict of one cell at one length from the records of its seeds."""
    return LengthVerdict(length=length, **asdict(seeds_verdict(records)))


def setting_verdicts(records: Iterable[RunRecord]) -> list[SettingVerdict]:
    """Per cell and whole setting of its runs (:func:`_by_setting`), its seeds' verdict."""
    verdicts = []
    for setting, group in _by_setting(records):
        headline_name, chance = _headline(group)
        verdicts.append(SettingVerdict(**asdict(setting), headline_name=headline_name,
                                       chance=chance, verdict=seeds_verdict(group)))
    return verdicts


def _sweeps(records: Iterable[RunRecord]) -> dict[str, Setting]:
    """Each run's length sweep, by its spec's run id (``task_params``: those but the length).

    A sweep is the settings (:func:`_by_setting`) of one cell and task at each length that
    share the other task parameters and the distinction: a protocol giving longer lengths
    more steps is one sweep, while entries told apart at one length stay apart. Sweeps of one
    cell and task that differ in other task parameters are named by them too."""
    sweep_of: dict[str, str] = {}
    sweeps: dict[str, Setting] = {}
    for setting, group in _by_setting(
            r for r in records if r.spec.task_params.get(LENGTH_PARAMETER) is not None):
        params = {k: v for k, v in setting.task_params.items() if k != LENGTH_PARAMETER}
        key = json.dumps([setting.cell, setting.task, params, setting.distinction],
                         sort_keys=True, default=str)
        sweeps.setdefault(key, replace(setting, task_params=params))
        sweep_of.update((record.spec.run_id, key) for record in group)
    settings = list(sweeps.values())
    for key, setting in sweeps.items():
        alike = [other for other in settings if (other.cell, other.task, other.distinction)
                 == (setting.cell, setting.task, setting.distinction)]
        named = [f"{k}={v}" for k, v in setting.task_params.items()
                 if any(other.task_params.get(k) != v for other in alike)]
        sweeps[key] = replace(setting, distinction=", ".join(
            filter(None, [setting.distinction, *named])))
    return {run_id: sweeps[key] for run_id, key in sweep_of.items()}


def memory_sweeps(records: Iterable[RunRecord], among: Iterable[RunRecord] | None = None
                  ) -> list[tuple[MemoryLength, list[RunRecord]]]:
    """Per length sweep (:func:`_sweeps`) of ``records``, its memory length and its records.
    The sweeps are told apart among ``among``, a superset of ``records`` (both sides of a
    comparison, so that a sweep is named alike on both); by default ``records`` alone."""
    records = [r for r in records if r.spec.task_params.get(LENGTH_PARAMETER) is not None]
    sweep_of = _sweeps(records if among is None else among)
    groups: dict[tuple[str, str], tuple[Setting, list[RunRecord]]] = {}
    for record in records:
        sweep = sweep_of[record.spec.run_id]
        groups.setdefault((sweep.task, sweep.label), (sweep, []))[1].append(record)
    found = []
    for sweep, group in groups.values():
        lengths: dict[int, list[RunRecord]] = defaultdict(list)
        for record in group:
            lengths[int(record.spec.task_params[LENGTH_PARAMETER])].append(record)
        headline_name, chance = _headline(group)
        found.append((MemoryLength(**asdict(sweep), headline_name=headline_name, chance=chance,
                                   verdicts={length: length_verdict(length, rs)
                                             for length, rs in sorted(lengths.items())}),
                      group))
    return found


def memory_lengths(records: Iterable[RunRecord], among: Iterable[RunRecord] | None = None
                   ) -> list[MemoryLength]:
    """Per length sweep (:func:`memory_sweeps`), the verdict at each ``length`` and the memory
    lengths they imply."""
    return [memory for memory, _ in memory_sweeps(records, among)]
