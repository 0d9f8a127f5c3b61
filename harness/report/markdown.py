"""The report as Markdown for CI step summaries: the tables only, no images."""

from __future__ import annotations

import html

from .page import Report
from .tables import Table


def _text(text: str) -> str:
    """Text from records as Markdown shows it: HTML in it (a ``<script>`` in an error message,
    say) is escaped, as the HTML report escapes it."""
    return html.escape(text, quote=False)


def _cell(text: str) -> str:
    return _text(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(table: Table, level: str = "###") -> list[str]:
    lines = [f"{level} {_text(table.title)}", ""]
    if table.caption:
        lines += [f"_{_cell(table.caption)}_", ""]
    if table.rows:
        lines += [
            "| " + " | ".join(_cell(c.name) for c in table.columns) + " |",
            "|" + "|".join("---:" if c.numeric else ":---" for c in table.columns) + "|",
            *("| " + " | ".join(_cell(value) for value in row) + " |" for row in table.rows),
            "",
        ]
    return lines


def render_markdown(report: Report) -> str:
    lines = ["# bench report", "",
             f"Results from {_text(str(report.source))}, generated {report.generated}. "
             f"{_text(report.overview)}",
             "", "Figures: see `report.html` next to this file.", ""]
    if report.answers:
        lines += ["## How far back each cell remembers", "",
                  *(f"- {_cell(line)}" for line in report.answers), ""]
    if report.published:
        lines += _table(report.published, "##")
    for section in report.sections:
        lines += [f"## Task: {_text(section.task)}", "", _text(section.overview), ""]
        for table in section.tables:
            lines += _table(table)
    lines += _table(report.environment, "##") + _table(report.skipped, "##")
    return "\n".join(lines)
