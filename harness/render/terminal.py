"""Tables on the terminal: they fit 80 columns without cutting a name or a number.

Headers wrap onto several lines, columns are one space apart, every column folds rather
than truncates, the first column (the names) never wraps, and every column is at least as
wide as its longest word, so that rich wraps at spaces instead of cutting numbers.
"""

from __future__ import annotations

from rich import box
from rich.markup import escape
from rich.table import Table as RichTable

from harness.table_model import Table, Tone, tone_of

STYLES: dict[Tone, str] = {"good": "green", "warning": "yellow", "bad": "bold red"}

LONGEST_KEPT_WORD = 30
"""A longer word (a path in a message) may be folded, so that no column outgrows 80."""


class _FittingTable(RichTable):
    """Where even the longest words cannot all fit, every column may fold: a number split
    over two lines rather than a column that rich leaves out."""

    def __rich_console__(self, console, options):
        if sum(c.min_width or 1 for c in self.columns) + len(self.columns) > options.max_width:
            for column in self.columns:
                column.min_width = None
        yield from super().__rich_console__(console, options)


def to_rich(table: Table) -> RichTable:
    caption = "\n".join(filter(None, [table.caption, *table.notes]))
    rich = _FittingTable(box=box.SIMPLE_HEAD, padding=0, show_edge=False, caption_justify="left",
                     title_justify="left", title=escape(table.title) or None,
                     caption=escape(caption) or None)
    for column in table.columns:
        header = column.narrow or column.name
        words = [w for line in header.splitlines() for w in line.split()]
        words += [w for row in table.rows for w in row[len(rich.columns)].split()]
        rich.add_column(escape(header), justify=column.align, no_wrap=not column.fold,
                        overflow="fold" if column.fold else "ellipsis",
                        min_width=min(max(map(len, words), default=1), LONGEST_KEPT_WORD))
    for index, row in enumerate(table.rows):
        rich.add_row(*map(_cell, row), style="bold" if index in table.summary_rows else None,
                     end_section=index in table.summary_rows | table.group_ends)
    return rich


def _cell(text: str) -> str:
    tone = tone_of(text)
    return f"[{STYLES[tone]}]{escape(text)}[/]" if tone else escape(text)
