"""A comparison on the terminal: tables of runs and cells, then findings and notes."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from harness.compare.model import Comparison
from harness.compare.text import findings, headline, notes, spec_label, tables
from harness.render.terminal import STYLES, to_rich


def print_comparison(comparison: Comparison, console: Console) -> None:
    for table in tables(comparison):
        console.print(to_rich(table))
    for label, specs in (("missing from the current results (fails)", comparison.only_baseline),
                         ("only in the current results (new)", comparison.only_current)):
        if specs:
            console.print(f"runs {label}:")
            for spec in specs:
                console.print(f"  {escape(spec_label(spec, comparison.labels))}")
    for line in notes(comparison):
        console.print(escape(line))
    for line in findings(comparison):
        style = STYLES["bad" if line.startswith("regression") else "good"]
        console.print(f"[{style}]{escape(line)}[/]")
    style = "bold red" if comparison.failed else "bold green"
    # one line however narrow the terminal: a CI log's last line is the whole verdict
    console.print(f"[{style}]{escape(headline(comparison))}[/]", soft_wrap=True)
