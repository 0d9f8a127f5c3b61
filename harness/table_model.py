"""A table as every view sees it, independent of the output format: columns, rows of cells
already written as text, and the notes that explain them. :mod:`harness.render` writes it
for the terminal (rich), HTML and Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Align = Literal["left", "right", "center"]
Tone = Literal["good", "warning", "bad"] | None
"""How a cell stands out: green, yellow or bold red on the terminal, a class in HTML,
emphasis in Markdown."""


class Toned(str):
    """A cell's text with its tone; equal to its plain text everywhere else."""

    tone: Tone

    def __new__(cls, text: str, tone: Tone) -> Toned:
        cell = super().__new__(cls, text)
        cell.tone = tone
        return cell


def tone_of(cell: str) -> Tone:
    return getattr(cell, "tone", None)


@dataclass(frozen=True)
class Column:
    name: str
    align: Align = "left"
    fold: bool = True
    """Whether it may wrap (at spaces) to fit 80 columns; a column of names never does."""
    narrow: str = ""
    """Its header in the narrow terminal tables (short lines), if not ``name``."""


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    """Lines under the caption (e.g. why each failed run failed, numbered in its row)."""
    summary_rows: set[int] = field(default_factory=set)
    """Rows that sum up the rows above them: bold, with a rule below."""
    group_ends: set[int] = field(default_factory=set)
    """Rows that end a group: a rule below."""
    key_columns: int = 1
    """How many leading columns name a row (e.g. cell and seed): a terminal table too wide
    for the console is printed in parts, each repeating them."""
