"""The summary tables of run records on the terminal, their metric columns from
:data:`harness.metrics.METRICS` (those shown in the ``terminal`` and ``seeds`` views).

What is the same for all of a cell's runs (its kernel path) moves under the table, and so
does why a run failed (numbered in its row). :mod:`harness.render.terminal` fits them into
80 columns.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.answer import memory_rows
from harness.formatting import plural
from harness.metrics import Metric, View, measured, shown_in
from harness.records import RunRecord
from harness.sweep import CellSummary, MemoryLength, setting_labels
from harness.table_model import Column, Table, Tone, Toned

STATUS_TONE: dict[str, Tone] = {"ok": "good", "diverged": "warning", "failed": "bad"}


def metric_columns(metrics: Sequence[Metric], headline: str) -> list[Column]:
    return [Column(m.header(headline), "right", narrow=m.header(headline, narrow=True))
            for m in metrics]


def seeds_columns(metrics: Sequence[Metric], headline: str) -> list[Column]:
    """Headers of the metrics over seeds: a median says so, the headline adds its spread."""
    columns = []
    for m in metrics:
        column = metric_columns([m], headline)[0]
        if m.key == "headline":
            columns += [Column(f"{column.name} median [min, max]", "right", fold=False,
                               narrow=f"{column.narrow}\nmedian\n[min, max]"),
                        Column(f"{column.name} std", "right", narrow="head-\nline\nstd")]
        elif m.over_seeds == "median":
            columns.append(Column(f"{column.name} median", "right",
                                  narrow=f"{column.narrow}\nmed."))
        else:
            columns.append(column)
    return columns


def seeds_cells(summary: CellSummary, metrics: Sequence[Metric]) -> list[str]:
    cells = []
    for m in metrics:
        value = m.text(summary.values[m.key], summarised=True)
        if m.key == "headline":
            cells += [f"{value} [{m.text(summary.headline_min)}, {m.text(summary.headline_max)}]",
                      m.text(summary.headline_std)]
        else:
            cells.append(value)
    return cells


def record_metrics(view: View, records: Sequence[RunRecord]) -> list[Metric]:
    return measured(shown_in(view), records)


def status_cell(status: str, text: str) -> Toned:
    return Toned(text, STATUS_TONE.get(status))


def headline_label(records: Sequence[RunRecord]) -> str:
    """The task's headline metric as a reader should see it, e.g. ``recall accuracy``."""
    first = next((r.accuracy for r in records if r.accuracy), None)
    return first.headline_name.replace("_", " ") if first else "headline"


def _param_names(params: dict) -> str:
    """The header of the task-parameter column: one table has one task, so one set of names."""
    return "\n".join(params)


def _param_values(params: dict) -> str:
    return " ".join(str(value) for value in params.values())


def _setting_order(value: object) -> tuple[int, float | str]:
    """A task parameter's value as a sort key: numbers by size, before anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value))
    return (1, str(value))


def _in_table_order(records: Sequence[RunRecord], label: dict[str, str]) -> list[RunRecord]:
    """``records`` by cell as ``label`` names it (in the order the cells first appear), then
    task parameters (a length search runs 5, 10, 20, 14; its table reads 5, 10, 14, 20), then
    seed."""
    cells = {cell: n for n, cell in enumerate(dict.fromkeys(label[r.spec.run_id] for r in records))}
    return sorted(records, key=lambda r: (
        cells[label[r.spec.run_id]],
        [(name, _setting_order(value)) for name, value in sorted(r.spec.task_params.items())],
        r.spec.seed))


def summary_table(records: Sequence[RunRecord], title: str = "") -> Table:
    label = setting_labels(records)
    records = _in_table_order(records, label)
    first = next((r.accuracy for r in records if r.accuracy), None)
    caption = (
        f"{first.headline_name}: chance {first.chance:.3g}; loss/baseline below 1 means the "
        f"cell remembers more than the best memoryless predictor; solved: "
        f"{first.solved_criterion}" if first else "")
    paths = dict.fromkeys(f"{r.spec.cell} {r.speed.kernel_path}" for r in records if r.speed)
    if caption and paths:
        caption += "\nkernel path: " + ", ".join(paths)
    # Why a run failed goes in a numbered note under the table, not in its narrow column.
    note_of = {id(r): n for n, r in enumerate((r for r in records if r.status_line != r.status),
                                              1)}
    varying = len({tuple(sorted(r.spec.task_params.items())) for r in records}) > 1
    metrics = record_metrics("terminal", records)
    headline = first.headline_name.replace("_", "\n") if first else "headline"
    table = Table(title, [
        Column("cell", fold=False),
        *([Column(_param_names(records[0].spec.task_params))] if varying else []),
        Column("seed", "right"), *metric_columns(metrics, headline), Column("status"),
    ], caption=caption, notes=[f"({note_of[id(r)]}) {r.status_line}" for r in records
                               if id(r) in note_of], key_columns=2 + varying)
    for record in records:
        note = f" ({note_of[id(record)]})" if id(record) in note_of else ""
        table.rows.append([
            label[record.spec.run_id],
            *([_param_values(record.spec.task_params)] if varying else []),
            str(record.spec.seed), *(m.text(m.value(record)) for m in metrics),
            status_cell(record.status, record.status + note),
        ])
    return table


def memory_table(memories: Sequence[MemoryLength], seeds: int) -> Table:
    lengths, rows, legend = memory_rows(memories)
    table = Table("memory length", [
        Column("cell", fold=False), *(Column(f"T={length}", "right") for length in lengths),
        Column("remembers up to", "right", narrow="remembers\nup to"),
        Column("solves up to", "right", narrow="solves\nup to"),
    ], caption=f"headline at each length T (median of {plural(seeds, 'seed')}); {legend}")
    table.rows = rows
    return table


def seeds_table(summaries: Sequence[CellSummary], records: Sequence[RunRecord]) -> Table:
    varying = len({tuple(sorted(s.task_params.items())) for s in summaries}) > 1
    metrics = record_metrics("seeds", records)
    table = Table("across seeds", [
        Column("cell", fold=False),
        *([Column(_param_names(summaries[0].task_params))] if varying else []),
        Column("seeds", "right"), *seeds_columns(metrics, headline_label(records)),
        Column("diverged", "right", narrow="div-\nerged")], key_columns=1 + varying)
    for s in summaries:
        table.rows.append([
            s.label, *([_param_values(s.task_params)] if varying else []), str(s.seeds),
            *seeds_cells(s, metrics), str(s.diverged),
        ])
    return table
