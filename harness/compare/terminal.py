"""A comparison on the terminal: tables of runs and cells, then findings and notes."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.compare.model import Comparison
from harness.compare.text import (
    NOT_GATING,
    TextTable,
    findings,
    headline,
    notes,
    spec_label,
    tables,
)

STYLES = {"regression": "bold red", "improvement": "green", "advisory": "yellow", None: ""}


def print_comparison(comparison: Comparison, console: Console) -> None:
    for table in tables(comparison):
        console.print(_table(table))
    for label, specs in (("missing from the current results (fails)", comparison.only_baseline),
                         ("only in the current results (new)", comparison.only_current)):
        if specs:
            console.print(f"runs {label}:")
            for spec in specs:
                console.print(f"  {escape(spec_label(spec))}")
    for line in notes(comparison):
        console.print(escape(line))
    for line in findings(comparison):
        style = STYLES["regression" if line.startswith("regression") else "improvement"]
        console.print(f"[{style}]{escape(line)}[/]")
    style = "bold red" if comparison.failed else "bold green"
    console.print(f"[{style}]{escape(headline(comparison))}[/]")


def _table(table: TextTable) -> Table:
    advisory = any(e.tone == "advisory" for row in table.rows for e in row.entries)
    rich_table = Table(title=table.title, title_justify="left", caption_justify="left",
                       caption=f"{NOT_GATING} reported, does not fail" if advisory else None)
    for column in table.columns:
        rich_table.add_column(column)
    for row in table.rows:
        rich_table.add_row(*(f"[{STYLES[e.tone]}]{escape(e.text)}[/]" if e.tone else
                             escape(e.text) for e in row.entries),
                           style="bold" if row.summary else None, end_section=row.summary)
    return rich_table
