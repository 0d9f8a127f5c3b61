"""The summary table of run records, for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from harness.answer import MEMORY_RULE, verdict_text
from harness.formatting import fmt
from harness.records import RunRecord
from harness.sweep import CellSummary, LengthVerdict, MemoryLength

STATUS_STYLE = {"ok": "green", "diverged": "yellow", "failed": "red"}


def summary_table(records: Sequence[RunRecord], title: str = "") -> Table:
    first = next((r.accuracy for r in records if r.accuracy), None)
    headline = first.headline_name if first else "headline"
    caption = (
        f"{headline}: chance {first.chance:.3g}; loss/baseline below 1 means the cell "
        f"remembers more than the best memoryless predictor; solved: {first.solved_criterion}"
        if first else None
    )
    # Why a run failed goes in a numbered note under the table, not in its narrow column.
    note_of = {id(r): n for n, r in enumerate((r for r in records if r.status_line != r.status),
                                              1)}
    notes = [f"({note_of[id(r)]}) {escape(r.status_line)}" for r in records if id(r) in note_of]
    table = Table(title=title or None, caption="\n".join(filter(None, [caption, *notes])) or None,
                  caption_justify="left")
    varying = len({tuple(sorted(r.spec.task_params.items())) for r in records}) > 1
    for column, justify in [
        ("cell", "left"), *([("params", "left")] if varying else []), ("seed", "right"),
        (headline, "right"), ("loss/baseline", "right"),
        ("solved", "center"), ("steps to solve", "right"), ("ms/step", "right"),
        ("tokens/s", "right"), ("grad-norm p99", "right"), ("kernel path", "left"),
        ("status", "left"),
    ]:
        table.add_column(column, justify=justify)
    for record in records:
        acc, speed, stab = record.accuracy, record.speed, record.stability
        status = record.status
        params = [" ".join(f"{k}={v}" for k, v in record.spec.task_params.items())]
        table.add_row(
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
            speed.kernel_path if speed else "-",
            f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"
            + (f" ({note_of[id(record)]})" if id(record) in note_of else ""),
        )
    return table


def memory_table(memories: Sequence[MemoryLength], seeds: int) -> Table:
    lengths = sorted({length for m in memories for length in m.verdicts})
    table = Table(
        title="memory length", title_justify="left", caption_justify="left",
        caption=f"headline at each length T (median of {seeds} seed(s)); {MEMORY_RULE}",
    )
    table.add_column("cell")
    for length in lengths:
        table.add_column(f"T={length}", justify="right")
    table.add_column("remembers up to", justify="right")
    table.add_column("solves up to", justify="right")
    for memory in memories:
        verdicts = [memory.verdicts.get(length) for length in lengths]
        table.add_row(memory.cell, *("-" if v is None else verdict_text(v) for v in verdicts),
                      *(_length(v) for v in (memory.remembers_up_to, memory.solves_up_to)))
    return table


def _length(verdict: LengthVerdict | None) -> str:
    return str(verdict.length) if verdict else "none"


def seeds_table(summaries: Sequence[CellSummary]) -> Table:
    table = Table(title="across seeds", title_justify="left")
    for column in ("cell", "params", "seeds", "solved", "headline median [min, max]",
                   "headline std", "loss/baseline median", "grad-norm p99 median",
                   "non-finite", "loss spikes", "diverged"):
        table.add_column(column)
    for s in summaries:
        params = " ".join(f"{k}={v}" for k, v in s.task_params.items())
        table.add_row(
            s.cell, params, str(s.seeds), f"{s.success_rate:.0%}",
            f"{fmt(s.headline_median)} [{fmt(s.headline_min)}, {fmt(s.headline_max)}]",
            fmt(s.headline_std), fmt(s.loss_ratio_median), fmt(s.grad_norm_p99_median),
            str(s.nonfinite_events), str(s.loss_spikes), str(s.diverged),
        )
    return table
