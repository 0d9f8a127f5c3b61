"""The report as Markdown for CI step summaries: the tables only, no images."""

from __future__ import annotations

from harness.render.markdown import cell, markdown_table, text

from .page import Report


def render_markdown(report: Report) -> str:
    lines = ["# bench report", "",
             f"Results from {text(str(report.source))}, generated {report.generated}. "
             f"{text(report.overview)}",
             "", "Figures: see `report.html` next to this file.", ""]
    if report.answers:
        lines += ["## What each cell remembers", "",
                  *(f"- {cell(line)}" for line in report.answers), ""]
    if report.published:
        lines += markdown_table(report.published, "##", marks=False)
    for section in report.sections:
        lines += [f"## Task: {text(section.task)}", "", text(section.overview), ""]
        for table in section.tables:
            lines += markdown_table(table, marks=False)
    lines += (markdown_table(report.environment, "##", marks=False)
              + markdown_table(report.skipped, "##", marks=False))
    return "\n".join(lines)
