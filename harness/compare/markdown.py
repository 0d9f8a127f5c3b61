"""A comparison as Markdown, for a CI step summary (e.g. $GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from harness.compare.model import Comparison
from harness.compare.text import TextTable, findings, headline, notes, spec_label, tables

MARKS = {"regression": "**", "improvement": "_", "advisory": "", None: ""}


def render_markdown(comparison: Comparison) -> str:
    lines = ["## bench compare", "", f"**{headline(comparison)}**", ""]
    lines += [f"- {_escape(line)}" for line in findings(comparison)]
    for label, specs in (("Missing from the current results (fails)", comparison.only_baseline),
                         ("Only in the current results (new)", comparison.only_current)):
        if specs:
            lines += ["", f"{label}:", "", *(f"- {_escape(spec_label(s))}" for s in specs)]
    for table in tables(comparison):
        lines += ["", f"### {_escape(table.title)}", "", *_table(table)]
    lines.append("")
    lines += ["```", *notes(comparison), *comparison.rules.describe(), "```", ""]
    return "\n".join(lines)


def _table(table: TextTable) -> list[str]:
    return [
        "| " + " | ".join(table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
        *("| " + " | ".join(_mark(e.text, e.tone) for e in row.entries) + " |"
          for row in table.rows),
    ]


def _mark(text: str, tone: str | None) -> str:
    mark = MARKS[tone]
    return f"{mark}{_escape(text)}{mark}"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")
