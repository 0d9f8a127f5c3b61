"""The summary tables of run records, for the terminal.

They fit 80 columns without cutting a name or a number: headers wrap onto several lines,
columns are one space apart, every column folds rather than truncates, the cell column never
wraps, and what is the same for all of a cell's runs (its kernel path) moves under the table.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from harness.answer import MEMORY_RULE, verdict_text
from harness.formatting import fmt
from harness.records import RunRecord
from harness.sweep import CellSummary, LengthVerdict, MemoryLength

STATUS_STYLE = {"ok": "green", "diverged": "yellow", "failed": "red"}


def _table(columns: Sequence[tuple[str, str]], **options) -> Table:
    """A compact table; the first column (the cell) never wraps, others fold if they must."""
    table = Table(box=box.SIMPLE_HEAD, padding=0, show_edge=False,
                  caption_justify="left", title_justify="left", **options)
    for index, (header, justify) in enumerate(columns):
        table.add_column(header, justify=justify, no_wrap=index == 0,
                         overflow="ellipsis" if index == 0 else "fold")
    return table


def _add_rows(table: Table, rows: Sequence[Sequence[str]]) -> None:
    """Add ``rows``, and keep every column at least as wide as its longest word (its
    header's or a value's), so that rich wraps at spaces instead of cutting numbers."""
    for row in rows:
        table.add_row(*row)
    for index, column in enumerate(table.columns):
        words = [w for line in str(column.header).splitlines() for w in line.split()]
        words += [w for row in rows for w in Text.from_markup(row[index]).plain.split()]
        column.min_width = max(map(len, words), default=1)


def _param_names(params: dict) -> str:
    """The header of the task-parameter column: one table has one task, so one set of names."""
    return "\n".join(params)


def _param_values(params: dict) -> str:
    return " ".join(str(value) for value in params.values())


def summary_table(records: Sequence[RunRecord], title: str = "") -> Table:
    first = next((r.accuracy for r in records if r.accuracy), None)
    headline = first.headline_name if first else "headline"
    caption = (
        f"{headline}: chance {first.chance:.3g}; loss/baseline below 1 means the cell "
        f"remembers more than the best memoryless predictor; solved: {first.solved_criterion}"
        if first else None
    )
    paths = dict.fromkeys(f"{r.spec.cell} {r.speed.kernel_path}" for r in records if r.speed)
    if caption and paths:
        caption += "\nkernel path: " + ", ".join(paths)
    # Why a run failed goes in a numbered note under the table, not in its narrow column.
    note_of = {id(r): n for n, r in enumerate((r for r in records if r.status_line != r.status),
                                              1)}
    notes = [f"({note_of[id(r)]}) {escape(r.status_line)}" for r in records if id(r) in note_of]
    varying = len({tuple(sorted(r.spec.task_params.items())) for r in records}) > 1
    table = _table([
        ("cell", "left"), *([(_param_names(records[0].spec.task_params), "left")]
                            if varying else []), ("seed", "right"),
        (headline.replace("_", "\n"), "right"), ("loss/\nbase-\nline", "right"),
        ("sol-\nved", "center"), ("steps\nto\nsolve", "right"), ("ms/\nstep", "right"),
        ("tokens\n/s", "right"), ("grad\nnorm\np99", "right"), ("status", "left"),
    ], title=title or None, caption="\n".join(filter(None, [caption, *notes])) or None)
    rows = []
    for record in records:
        acc, speed, stab = record.accuracy, record.speed, record.stability
        status = record.status
        params = [_param_values(record.spec.task_params)]
        rows.append([
            record.spec.cell,
            *(params if varying else []),
            str(record.spec.seed),
            fmt(acc.headline if acc else None),
            fmt(acc.loss_ratio if acc else None),
            ("yes" if acc.solved else "no") if acc else "-",
            str(acc.steps_to_solve) if acc and acc.steps_to_solve is not None else "-",
            fmt(speed.step_ms_median if speed else None),
            fmt(speed.tokens_per_second if speed else None),
            fmt(stab.grad_norm_p99 if stab else None),
            f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"
            + (f" ({note_of[id(record)]})" if id(record) in note_of else ""),
        ])
    _add_rows(table, rows)
    return table


def memory_table(memories: Sequence[MemoryLength], seeds: int) -> Table:
    lengths = sorted({length for m in memories for length in m.verdicts})
    table = _table(
        [("cell", "left"), *((f"T={length}", "right") for length in lengths),
         ("remembers\nup to", "right"), ("solves\nup to", "right")],
        title="memory length",
        caption=f"headline at each length T (median of {seeds} seed(s)); {MEMORY_RULE}",
    )
    _add_rows(table, [
        [memory.cell, *("-" if v is None else verdict_text(v) for v in
                        (memory.verdicts.get(length) for length in lengths)),
         *(_length(v) for v in (memory.remembers_up_to, memory.solves_up_to))]
        for memory in memories])
    return table


def _length(verdict: LengthVerdict | None) -> str:
    return str(verdict.length) if verdict else "none"


def seeds_table(summaries: Sequence[CellSummary]) -> Table:
    varying = len({tuple(sorted(s.task_params.items())) for s in summaries}) > 1
    table = _table([(column, "left") for column in (
        "cell", *([_param_names(summaries[0].task_params)] if varying else []), "seeds",
        "sol-\nved",
        "headline\nmedian\n[min, max]", "head-\nline\nstd", "loss/\nbase-\nline\nmed.",
        "grad\nnorm\np99\nmed.", "non-\nfin.", "loss\nspikes", "div-\nerged")],
        title="across seeds")
    rows = []
    for s in summaries:
        params = [_param_values(s.task_params)]
        rows.append([
            s.cell, *(params if varying else []), str(s.seeds), f"{s.success_rate:.0%}",
            f"{fmt(s.headline_median)} [{fmt(s.headline_min)}, {fmt(s.headline_max)}]",
            fmt(s.headline_std), fmt(s.loss_ratio_median), fmt(s.grad_norm_p99_median),
            str(s.nonfinite_events), str(s.loss_spikes), str(s.diverged),
        ])
    _add_rows(table, rows)
    return table
