"""The report's tables (:mod:`harness.table_model`), rendered alike to HTML and Markdown; their
metric columns are those :data:`harness.metrics.METRICS` shows in the ``report`` view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.answer import memory_rows
from harness.formatting import plural
from harness.records import RunRecord
from harness.sweep import CellSummary, MemoryLength, setting_labels
from harness.table_model import Column, Table
from harness.tables import (
    headline_label,
    metric_columns,
    record_metrics,
    seeds_cells,
    seeds_columns,
    status_cell,
)

from .groups import params_label


def run_table(records: Sequence[RunRecord]) -> Table:
    headline = headline_label(records)
    first = next((r.accuracy for r in records if r.accuracy), None)
    metrics = record_metrics("report", records)
    descriptions = "; ".join(m.description for m in metrics if m.description)
    caption = (f"{headline}: chance level {first.chance:.3g}. loss/baseline below 1 means the "
               f"cell remembers more than the best memoryless predictor. Solved: "
               f"{first.solved_criterion}. {descriptions}."
               if first else "")
    table = Table("Per run", [Column("cell"), Column("params"), Column("seed", "right"),
                              *metric_columns(metrics, headline), Column("status")],
                  caption=caption)
    label = setting_labels(records)
    for r in records:
        table.rows.append([
            label[r.spec.run_id], params_label(r.spec.task_params), str(r.spec.seed),
            *(m.text(m.value(r)) for m in metrics), status_cell(r.status, r.status_line),
        ])
    return table


def seeds_table(summaries: Sequence[CellSummary], records: Sequence[RunRecord]) -> Table:
    metrics = record_metrics("report", records)
    table = Table("Across seeds", [
        Column("cell"), Column("params"), Column("seeds", "right"),
        *seeds_columns(metrics, headline_label(records)),
        Column("diverged", "right"), Column("failed", "right")],
        caption="solved: share of the seeds that solved the task; the other columns summarise "
        "the seeds' final evaluations.")
    for s in summaries:
        table.rows.append([
            s.label, params_label(s.task_params), str(s.seeds), *seeds_cells(s, metrics),
            str(s.diverged), str(s.failed),
        ])
    return table


def memory_table(memories: Sequence[MemoryLength]) -> Table:
    lengths, rows, legend = memory_rows(memories)
    table = Table("Memory length", [
        Column("cell"), *(Column(f"T={length}", "right") for length in lengths),
        Column("remembers up to", "right"), Column("solves up to", "right")],
        caption=f"The headline at each length T (median over seeds); {legend}.")
    table.rows = rows
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
    return Table("Environment", [Column("item"), Column("value")], rows=[
        *([name, _distinct(records, value)] for name, value in ENVIRONMENT),
        ["runs dated", dates],
    ], caption="Where the runs were measured, as recorded in each run's record.")


def skipped_table(skipped: Sequence[tuple[Path, str]], root: Path) -> Table:
    table = Table("Skipped files", [Column("file"), Column("reason")],
                  caption="Files under the results directory that are not readable run records."
                  if skipped else "No files were skipped.")
    for path, reason in skipped:
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        table.rows.append([str(shown), reason.removeprefix(f"{path}: ")])
    return table
