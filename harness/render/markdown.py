"""Tables in Markdown (CI step summaries): text from records is escaped, HTML in it too."""

from __future__ import annotations

import html

from harness.table_model import Table, Tone, tone_of

MARKS: dict[Tone, str] = {"bad": "**", "good": "_", "warning": "", None: ""}


def text(value: str) -> str:
    """Text as Markdown shows it: HTML in it (a ``<script>`` in an error message, say) is
    escaped, as the HTML report escapes it."""
    return html.escape(value, quote=False)


def cell(value: str) -> str:
    """Text in a table cell or a list item: also its pipes, emphasis marks and line breaks."""
    escaped = text(value).replace("\\", "\\\\").replace("|", "\\|")
    return escaped.replace("*", "\\*").replace("_", "\\_").replace("\n", " ")


def markdown_table(table: Table, level: str = "###", marks: bool = True) -> list[str]:
    """The title as a heading, the caption and notes in italics, then the table (if it has
    rows); ``marks``: tones as emphasis (bold for bad, italics for good)."""
    lines = [f"{level} {text(table.title)}", ""]
    for line in filter(None, [table.caption, *table.notes]):
        lines += [f"_{cell(line)}_", ""]
    if table.rows:
        lines += [
            "| " + " | ".join(cell(c.name) for c in table.columns) + " |",
            "|" + "|".join(_rule(c.align) for c in table.columns) + "|",
            *("| " + " | ".join(_marked(value) if marks else cell(value) for value in row)
              + " |" for row in table.rows),
            "",
        ]
    return lines


def _rule(align: str) -> str:
    return {"left": ":---", "right": "---:", "center": ":---:"}[align]


def _marked(value: str) -> str:
    mark = MARKS[tone_of(value)]
    return f"{mark}{cell(value)}{mark}" if value else ""
