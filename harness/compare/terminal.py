"""A comparison on the terminal: tables of runs and cells, then findings and notes."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.compare.model import Comparison
from harness.compare.text import (
    NOT_GATING,
    TextTable,
    cell_table,
    findings,
    headline,
    notes,
    run_table,
    spec_label,
)

STYLES = {"regression": "bold red", "improvement": "green", "advisory": "yellow", None: ""}


def print_comparison(comparison: Comparison, console: Console) -> None:
    console.print(_table(run_table(comparison), "matched runs"))
    console.print(_table(cell_table(comparison), "cells, over the seeds matched on both sides"))
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


def _table(table: TextTable, title: str) -> Table:
    rich_table = Table(title=title, title_justify="left",
                       caption=f"{NOT_GATING} reported, does not fail", caption_justify="left")
    for column in table.columns:
        rich_table.add_column(column)
    for row in table.rows:
        rich_table.add_row(*(f"[{STYLES[e.tone]}]{escape(e.text)}[/]" if e.tone else
                             escape(e.text) for e in row))
    return rich_table
