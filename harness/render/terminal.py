"""Tables on the terminal: they fit the console's width (80 columns in a CI log) without
cutting a name, a number or a header word.

Columns are one space apart and headers wrap onto several lines. bench sets every column's
width itself rather than leaving it to rich, whose shrinking of a too-wide table ignores
minimum widths (a number then folds mid-word, or the last column is cropped): a column never
gets narrower than its longest word, and the first columns (the names) never wrap. Where
even the longest words cannot all fit side by side, the table is printed in parts, each
with the leading name columns and as many of the others as fit, titled ``(part 1 of 2)``
and so on. The caption (and the notes) follow the last part as text of their own, wrapped
at the console's width: as rich's caption they were wrapped to the table's, a narrow table's
into four lines padded with spaces. Off a terminal (a pipe, a file) no line ends in a space:
rich pads every cell, title and wrapped line to its width.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions
from rich.markup import escape
from rich.segment import Segment
from rich.table import Table as RichTable
from rich.text import Text

from harness.table_model import Column, Table, Tone, tone_of

STYLES: dict[Tone, str] = {"good": "green", "warning": "yellow", "bad": "bold red"}

LONGEST_KEPT_WORD = 30
"""A longer word (a path in a message) may be folded, so that no column outgrows 80."""

GAP = 1
"""Spaces between two columns."""


@dataclass(frozen=True)
class _Extent:
    """How wide a column wants to be (its longest line) and the least it takes without
    cutting a word (its longest word; its longest line where it may not wrap)."""

    natural: int
    least: int


class TerminalTable:
    """A table that lays itself out for the width it is printed at."""

    def __init__(self, table: Table):
        self.table = table

    def __rich_console__(self, console: Console,
                         options: ConsoleOptions) -> Iterator[RichTable | Text | Segment]:
        if console.is_terminal:
            yield from self._renderables(options.max_width)
            return
        for renderable in self._renderables(options.max_width):
            for line in console.render_lines(renderable, options, pad=False):
                yield from _without_trailing_spaces(line)
                yield Segment.line()

    def _renderables(self, room: int) -> Iterator[RichTable | Text]:
        table = self.table
        extents = [_extent(column, [row[i] for row in table.rows])
                   for i, column in enumerate(table.columns)]
        parts = _parts(extents, table.key_columns, room)
        for number, shown in enumerate(parts, 1):
            title = table.title if len(parts) == 1 else (
                f"{table.title} (part {number} of {len(parts)})".strip())
            widths = _widths([extents[i] for i in shown], room)
            yield _rich_part(table, shown, widths, title)
        caption = "\n".join(filter(None, [table.caption, *table.notes]))
        if caption:
            yield Text(caption)


def to_rich(table: Table) -> TerminalTable:
    return TerminalTable(table)


def _extent(column: Column, cells: Sequence[str]) -> _Extent:
    lines = [line for text in (column.narrow or column.name, *cells)
             for line in text.splitlines()]
    natural = max(map(cell_len, lines), default=1)
    if not column.fold:
        return _Extent(natural, natural)
    words = [word for line in lines for word in line.split()]
    return _Extent(natural, min(max(map(cell_len, words), default=1), LONGEST_KEPT_WORD))


def _parts(extents: Sequence[_Extent], keys: int, room: int) -> list[list[int]]:
    """The columns of each part: all of them where their least widths fit ``room``, else
    the ``keys`` leading columns and, after them, the others in as few parts as fit; where
    that many parts can show every column at its natural width (nothing wraps), they do,
    and columns spread evenly over the parts rather than one full and a last one alone."""
    keys = min(keys, len(extents) - 1)
    others = range(keys, len(extents))

    def grouped(natural: bool, limit: int) -> list[list[int]]:
        def width(index: int) -> int:
            return extents[index].natural if natural else extents[index].least

        free = room - sum(width(i) + GAP for i in range(keys))
        groups: list[list[int]] = [[]]
        for index in others:
            used = sum(width(i) + GAP for i in groups[-1])
            if groups[-1] and (len(groups[-1]) == limit or used + width(index) > free):
                groups.append([])
            groups[-1].append(index)
        return groups

    fewest = len(grouped(False, len(others)))
    even = math.ceil(len(others) / fewest)
    groups = next(g for g in (grouped(natural, limit) for natural in (True, False)
                              for limit in (even, len(others))) if len(g) == fewest)
    return [[*range(keys), *group] for group in groups]


def _widths(extents: Sequence[_Extent], room: int) -> list[int]:
    """Natural widths, narrowed one cell at a time to fit ``room``: first the column with
    the most to spare above its longest word, and only if that is not enough (a part of one
    column too wide for the console) the widest, whose words then fold."""
    widths = [e.natural for e in extents]
    excess = sum(widths) + GAP * (len(widths) - 1) - room
    while excess > 0:
        spare = [w - e.least for w, e in zip(widths, extents, strict=True)]
        index = (max(range(len(widths)), key=spare.__getitem__) if max(spare) > 0
                 else max(range(len(widths)), key=widths.__getitem__))
        if widths[index] == 1:
            break
        widths[index] -= 1
        excess -= 1
    return widths


def _rich_part(table: Table, shown: Sequence[int], widths: Sequence[int],
               title: str) -> RichTable:
    rich = RichTable(box=box.SIMPLE_HEAD, padding=0, show_edge=False, title_justify="left",
                     title=escape(title) or None)
    for index, width in zip(shown, widths, strict=True):
        column = table.columns[index]
        rich.add_column(escape(column.narrow or column.name), justify=column.align,
                        width=width, overflow="fold")
    for index, row in enumerate(table.rows):
        rich.add_row(*(_cell(row[i]) for i in shown),
                     style="bold" if index in table.summary_rows else None,
                     end_section=index in table.summary_rows | table.group_ends)
    return rich


def _without_trailing_spaces(line: list[Segment]) -> list[Segment]:
    """A rendered line less the spaces rich pads its cells, title and wrapped caption with
    up to the table's width: invisible on a terminal, noise in a log or a diff."""
    line = list(line)
    while line and not line[-1].control and not line[-1].text.rstrip():
        line.pop()
    if line and not line[-1].control:
        last = line.pop()
        line.append(Segment(last.text.rstrip(), last.style))
    return line


def _cell(text: str) -> str:
    tone = tone_of(text)
    return f"[{STYLES[tone]}]{escape(text)}[/]" if tone else escape(text)
