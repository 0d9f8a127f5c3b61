"""The report's tables as plain rows of text, rendered alike to HTML and Markdown."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.answer import MEMORY_RULE, verdict_text
from harness.formatting import fmt
from harness.records import RunRecord
from harness.sweep import CellSummary, MemoryLength

from .groups import headline_name, params_label


@dataclass(frozen=True)
class Column:
    name: str
    numeric: bool = False
    """Right-aligned."""


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    caption: str = ""


def _columns(*names: str, text: Iterable[str] = ()) -> list[Column]:
    text = set(text)
    return [Column(name, numeric=name not in text) for name in names]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _solved(record: RunRecord) -> str:
    return ("yes" if record.accuracy.solved else "no") if record.accuracy else "-"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def run_table(records: Sequence[RunRecord]) -> Table:
    headline = headline_name(records)
    first = next((r.accuracy for r in records if r.accuracy), None)
    caption = (f"{headline}: chance level {first.chance:.3g}. loss/baseline below 1 means the "
               f"cell remembers more than the best memoryless predictor. Solved: "
               f"{first.solved_criterion}. weights: trainable parameters; ms/step: median "
               f"training step; clipped: share of steps whose gradient norm was clipped."
               if first else "")
    table = Table("Per run", _columns(
        "cell", "params", "seed", headline, "loss/baseline", "solved", "steps to solve",
        "weights", "ms/step", "tokens/s", "grad-norm p99", "clipped", "non-finite",
        "loss spikes", "status", text=("cell", "params", "solved", "status")), caption=caption)
    for r in records:
        acc, speed, stab = r.accuracy, r.speed, r.stability
        table.rows.append([
            r.spec.cell, params_label(r.spec.task_params), str(r.spec.seed),
            fmt(acc.headline if acc else None), fmt(acc.loss_ratio if acc else None),
            _solved(r), _count(acc.steps_to_solve if acc else None),
            fmt(speed.parameter_count if speed else None),
            fmt(speed.step_ms_median if speed else None),
            fmt(speed.tokens_per_second if speed else None),
            fmt(stab.grad_norm_p99 if stab else None),
            _share(stab.clipped_fraction if stab else None),
            _count(stab.nonfinite_events if stab else None),
            _count(stab.loss_spikes if stab else None),
            r.status_line,
        ])
    return table


def seeds_table(summaries: Sequence[CellSummary], headline: str) -> Table:
    table = Table("Across seeds", _columns(
        "cell", "params", "seeds", "solved", f"{headline} median [min, max]", f"{headline} std",
        "loss/baseline median", "ms/step median", "grad-norm p99 median", "non-finite",
        "loss spikes", "diverged", "failed", text=("cell", "params")),
        caption="solved: share of the seeds that solved the task; the other columns summarise "
        "the seeds' final evaluations.")
    for s in summaries:
        table.rows.append([
            s.cell, params_label(s.task_params), str(s.seeds), _share(s.success_rate),
            f"{fmt(s.headline_median)} [{fmt(s.headline_min)}, {fmt(s.headline_max)}]",
            fmt(s.headline_std), fmt(s.loss_ratio_median), fmt(s.step_ms_median),
            fmt(s.grad_norm_p99_median), str(s.nonfinite_events), str(s.loss_spikes),
            str(s.diverged), str(s.failed),
        ])
    return table


def memory_table(memories: Sequence[MemoryLength]) -> Table:
    lengths = sorted({length for m in memories for length in m.verdicts})
    table = Table("Memory length", _columns(
        "cell", *(f"T={length}" for length in lengths), "remembers up to", "solves up to",
        text=("cell",)),
        caption=f"The headline at each length T (median over seeds); {MEMORY_RULE}.")
    for m in memories:
        table.rows.append([m.cell, *("-" if (v := m.verdicts.get(length)) is None
                                     else verdict_text(v) for length in lengths),
                           *(str(v.length) if v else "none"
                             for v in (m.remembers_up_to, m.solves_up_to))])
    return table


def _distinct(records: Sequence[RunRecord], value: Callable[[dict[str, Any]], str | None]) -> str:
    """Each distinct value over the records' environments, with its run count when they differ."""
    counts: dict[str, int] = {}
    for record in records:
        shown = value(record.environment) or "not recorded"
        counts[shown] = counts.get(shown, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return "; ".join(f"{shown} ({plural(n, 'run')})" for shown, n in counts.items())


def _commit(env: dict[str, Any]) -> str | None:
    commit = env.get("git_commit")
    return commit and commit[:12] + (" (uncommitted changes)" if env.get("git_dirty") else "")


def _cpu(env: dict[str, Any]) -> str | None:
    model = env.get("cpu_model")
    return model and f"{model} ({env.get('cpu_count', '?')} cores)"


ENVIRONMENT: list[tuple[str, Callable[[dict[str, Any]], str | None]]] = [
    ("framework", lambda env: env.get("framework") and
     f"{env['framework']} {env.get('framework_version', '')}".strip()),
    ("device", lambda env: env.get("device_name") or env.get("device")),
    ("CPU", _cpu),
    ("OS", lambda env: env.get("os") and f"{env['os']} {env.get('machine', '')}".strip()),
    ("Python", lambda env: env.get("python")),
    ("bench-harness", lambda env: env.get("harness_version")),
    ("git commit", _commit),
    ("host", lambda env: env.get("hostname")),
]


def environment_table(records: Sequence[RunRecord]) -> Table:
    started = sorted(r.started_at for r in records if r.started_at)
    finished = sorted(r.finished_at for r in records if r.finished_at)
    dates = f"{started[0]} to {finished[-1]}" if started and finished else "not recorded"
    return Table("Environment", _columns("item", "value", text=("item", "value")), rows=[
        *([name, _distinct(records, value)] for name, value in ENVIRONMENT),
        ["runs dated", dates],
    ], caption="Where the runs were measured, as recorded in each run's record.")


def skipped_table(skipped: Sequence[tuple[Path, str]], root: Path) -> Table:
    table = Table("Skipped files", _columns("file", "reason", text=("file", "reason")),
                  caption="Files under the results directory that are not readable run records."
                  if skipped else "No files were skipped.")
    for path, reason in skipped:
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        table.rows.append([str(shown), reason.removeprefix(f"{path}: ")])
    return table
