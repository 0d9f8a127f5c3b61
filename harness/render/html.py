"""Tables in HTML: everything escaped, numbers right-aligned, tones as classes."""

from __future__ import annotations

from html import escape

from harness.table_model import Table, tone_of

CSS = """
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: left;
         vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; border-bottom: 2px solid #d0d7de; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
th { min-width: 3em; }
tbody tr:nth-child(even) { background: #fafbfc; }
tr.summary td { font-weight: 600; border-bottom: 2px solid #d0d7de; }
td.tone-good { color: #1a7f37; } td.tone-warning { color: #9a6700; }
td.tone-bad { color: #cf222e; font-weight: 600; }
"""


def html_table(table: Table, heading: str = "h3") -> str:
    return f"<{heading}>{escape(table.title)}</{heading}>{html_table_body(table)}"


def html_table_body(table: Table) -> str:
    """The caption and notes, then the table in a box that scrolls sideways rather than
    widen the page."""
    head = "".join(f'<th class="{_kind(c.align)}">{escape(c.name)}</th>' for c in table.columns)
    body = []
    for index, row in enumerate(table.rows):
        cells = "".join(
            f'<td class="{_kind(column.align)}{_tone(value)}">{escape(value)}</td>'
            for column, value in zip(table.columns, row, strict=True))
        summary = ' class="summary"' if index in table.summary_rows else ""
        body.append(f"<tr{summary}>{cells}</tr>")
    captions = "".join(f'<p class="caption">{escape(line)}</p>'
                       for line in filter(None, [table.caption, *table.notes]))
    rows = (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>' if table.rows else "")
    return captions + rows


def _kind(align: str) -> str:
    return "num" if align == "right" else "text"


def _tone(value: str) -> str:
    tone = tone_of(value)
    return f" tone-{tone}" if tone else ""
