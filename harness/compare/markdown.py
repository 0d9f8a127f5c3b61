"""A comparison as Markdown, for a CI step summary (e.g. $GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

from harness.compare.model import Comparison
from harness.compare.text import findings, headline, notes, spec_label, tables
from harness.render.markdown import cell, markdown_table


def render_markdown(comparison: Comparison) -> str:
    lines = ["## bench compare", "", f"**{headline(comparison)}**", ""]
    lines += [f"- {cell(line)}" for line in findings(comparison)]
    for label, specs in (("Missing from the current results (fails)", comparison.only_baseline),
                         ("Only in the current results (new)", comparison.only_current)):
        if specs:
            lines += ["", f"{label}:", "",
                      *(f"- {cell(spec_label(s, comparison.labels))}" for s in specs)]
    for table in tables(comparison):
        lines += ["", *markdown_table(table)]
    if lines[-1]:
        lines.append("")
    lines += ["```", *notes(comparison), *comparison.rules.describe(), "```", ""]
    return "\n".join(lines)
