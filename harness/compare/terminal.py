"""A comparison on the terminal: tables of runs and cells, then findings and notes."""

from __future__ import annotations

import textwrap

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
        _paragraph(console, line)
    for line in findings(comparison):
        _paragraph(console, line, STYLES["bad" if line.startswith("regression") else "good"])
    style = "bold red" if comparison.failed else "bold green"
    # one line however narrow the terminal: a CI log's last line is the whole verdict
    console.print(f"[{style}]{escape(headline(comparison))}[/]", soft_wrap=True)


def _paragraph(console: Console, line: str, style: str | None = None) -> None:
    """A line folded at the console's width, its folds indented as it is, without the space
    rich leaves at the end of each fold (invisible on a terminal, noise in a log or a diff)."""
    indent = line[:len(line) - len(line.lstrip())]
    for part in textwrap.wrap(line, console.width, subsequent_indent=indent,
                              break_on_hyphens=False) or [""]:
        console.print(f"[{style}]{escape(part)}[/]" if style else escape(part), soft_wrap=True)
