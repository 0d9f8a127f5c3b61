"""The summary table of run records, for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from harness.display import fmt
from harness.records import RunRecord

STATUS_STYLE = {"ok": "green", "diverged": "yellow", "failed": "red"}


def summary_table(records: Sequence[RunRecord], title: str = "") -> Table:
    first = next((r.accuracy for r in records if r.accuracy), None)
    headline = first.headline_name if first else "headline"
    caption = (
        f"{headline}: chance {first.chance:.3g}; loss/baseline below 1 means the cell "
        f"remembers more than the best memoryless predictor; solved: {first.solved_criterion}"
        if first else None
    )
    table = Table(title=title or None, caption=caption, caption_justify="left")
    for column, justify in [
        ("cell", "left"), ("seed", "right"), (headline, "right"), ("loss/baseline", "right"),
        ("solved", "center"), ("steps to solve", "right"), ("ms/step", "right"),
        ("tokens/s", "right"), ("grad-norm p99", "right"), ("kernel path", "left"),
        ("status", "left"),
    ]:
        table.add_column(column, justify=justify)
    for record in records:
        acc, speed, stab = record.accuracy, record.speed, record.stability
        status = record.status
        table.add_row(
            record.spec.cell,
            str(record.spec.seed),
            fmt(acc.headline if acc else None),
            fmt(acc.loss_ratio if acc else None),
            ("yes" if acc.solved else "no") if acc else "-",
            str(acc.steps_to_solve) if acc and acc.steps_to_solve is not None else "-",
            fmt(speed.step_ms_median if speed else None),
            fmt(speed.tokens_per_second if speed else None),
            fmt(stab.grad_norm_p99 if stab else None),
            speed.kernel_path if speed else "-",
            f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]",
        )
    return table
