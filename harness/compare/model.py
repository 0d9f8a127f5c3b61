"""The result of a comparison: one typed change per metric, per matched run and per cell."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.compare.environment import EnvironmentCheck
from harness.compare.memory import MemoryChange
from harness.compare.rules import Rules, Verdict
from harness.spec import RunSpec

Value = float | int | str | None


@dataclass(frozen=True)
class Change:
    metric: str
    aspect: str
    """accuracy, speed, stability or memory."""
    baseline: Value
    current: Value
    verdict: Verdict | None
    """None: reported, never judged (gradient-norm p99), or not measured on both sides."""
    gating: bool = True
    """False for a speed change between different machines or framework versions."""
    ratio: float | None = None
    p_value: float | None = None
    note: str = ""
    """Why a speed change is not judged although machine and software agree: the load, or the
    machine itself running slower (harness.compare.load)."""
    key: str = ""
    """The metric's key in :data:`harness.metrics.METRICS`; empty for the status."""
    over_seeds: bool = False
    """A value over several seeds (a cell's): written as ``bench run``'s across-seeds table
    writes it (solved as a share, 50%), not as one run's (yes/no)."""

    @property
    def fails(self) -> bool:
        return self.gating and self.verdict == "regression"


def overall(changes: list[Change]) -> Verdict:
    """A regression if any gating change is one, else an improvement if any is one."""
    judged = {c.verdict for c in changes if c.gating}
    return ("regression" if "regression" in judged
            else "improvement" if "improvement" in judged else "unchanged")


@dataclass
class RunComparison:
    spec: RunSpec
    changes: list[Change]
    repeats: tuple[int, int]
    """Records of this run on each side (several when repeated or interleaved)."""

    @property
    def verdict(self) -> Verdict:
        return overall(self.changes)


@dataclass
class CellComparison:
    """One cell at one task setting, over the seeds matched on both sides."""

    runs: list[RunComparison]
    """The matched runs, which differ in their seed only."""
    changes: list[Change]

    @property
    def spec(self) -> RunSpec:
        """The spec of its first run: everything but the seed holds for all of them."""
        return self.runs[0].spec

    @property
    def verdict(self) -> Verdict:
        return overall(self.changes)


@dataclass
class Comparison:
    rules: Rules
    interleaved: bool
    environment: EnvironmentCheck
    speed_gates: bool
    """Whether speed changes can fail: same machine and software, or --strict-speed."""
    cells: list[CellComparison]
    only_baseline: list[RunSpec] = field(default_factory=list)
    """Runs missing from the current results: a lost measurement fails the comparison."""
    only_current: list[RunSpec] = field(default_factory=list)
    memory: list[MemoryChange] = field(default_factory=list)
    """Each cell's memory lengths on both sides: a fall in either fails."""
    labels: dict[str, str] = field(default_factory=dict)
    """Each run's cell as the texts name it, by run id: with the options that tell apart
    settings of one cell, task and parameters (:func:`harness.sweep.setting_labels`)."""

    @property
    def runs(self) -> list[RunComparison]:
        return [run for cell in self.cells for run in cell.runs]

    @property
    def failed(self) -> bool:
        return bool(self.only_baseline) or any(
            item.verdict == "regression" for item in [*self.runs, *self.cells, *self.memory])

    def to_dict(self) -> dict[str, Any]:
        def item(comparison: RunComparison | CellComparison, **identity) -> dict[str, Any]:
            return {**identity, "verdict": comparison.verdict,
                    "changes": [{**asdict(c), "fails": c.fails} for c in comparison.changes]}

        return {
            "failed": self.failed,
            "speed_gates": self.speed_gates,
            "interleaved": self.interleaved,
            "rules": asdict(self.rules),
            "environment": asdict(self.environment),
            "runs": [item(r, run_id=r.spec.run_id, spec=r.spec.to_dict(),
                          repeats=list(r.repeats)) for r in self.runs],
            "cells": [item(c, cell=c.spec.cell, label=self.labels.get(c.spec.run_id, c.spec.cell),
                           task=c.spec.task,
                           task_params=c.spec.task_params,
                           run_ids=[r.spec.run_id for r in c.runs]) for c in self.cells],
            "only_baseline": [s.to_dict() for s in self.only_baseline],
            "only_current": [s.to_dict() for s in self.only_current],
            "memory": [{**asdict(m), "verdict": m.verdict} for m in self.memory],
        }
