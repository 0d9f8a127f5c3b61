"""bench compare's tables and bench run's across-seeds table, piped at 80 columns (a CI log)
and wide: every number and header word whole on one line, every column there, no escape
code. Built from synthetic records whose numbers are long (0.000781) and distinct."""

import io

import pytest
from rich.console import Console

from harness.compare import Rules, compare
from harness.compare.text import tables
from harness.render.terminal import to_rich
from harness.sweep import summarise_cells
from harness.table_model import Column, Table
from harness.tables import seeds_table
from tests.compare.records import make_record, step_times
from tests.helpers import assert_tables_whole

SHORT = ("torch:rnn", "torch:gru")
LONG = ("my_plugin:peephole_lstm", "my_plugin:leaky_ln_gru")


def records(cells: tuple[str, ...], headlines: tuple[float, float], step_ms: float) -> list:
    return [make_record(cell, seed, headline=headline, loss_ratio=0.4317 + seed / 7,
                        steps_to_solve=1200 + 37 * seed,
                        step_ms=step_times(step_ms * (1 + seed / 50), seed=seed))
            for cell in cells for seed, headline in enumerate(headlines)]


def printed(width: int, *shown: Table) -> str:
    """``shown`` as bench prints them to a pipe or file with ``COLUMNS=width``."""
    out = io.StringIO()
    console = Console(file=out, width=width, highlight=False)
    for table in shown:
        console.print(to_rich(table))
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize("cells", [SHORT, LONG])
def test_compare_tables_keep_every_number_and_header_word_whole(cells, width):
    baseline = records(cells, (0.000781, 0.0191), 10.0)
    current = records(cells, (0.000313, 0.0207), 21.3)
    compared = tables(compare(baseline, current, Rules()))
    assert_tables_whole(printed(width, *compared), compared, width)


@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize("cells", [SHORT, LONG])
def test_the_across_seeds_table_keeps_every_number_and_header_word_whole(cells, width):
    runs = records(cells, (0.000781, 0.0191), 10.0)
    table = seeds_table(summarise_cells(runs), runs)
    assert_tables_whole(printed(width, table), [table], width)


def test_a_table_too_wide_is_printed_in_parts_each_naming_its_rows():
    """Six of its seven metric columns fit beside the names: two parts of four and three."""
    columns = [Column("cell", fold=False), Column("seed", "right"),
               *(Column(f"metric {i}", "right") for i in range(7))]
    table = Table("adding length=10", columns, caption="a caption", key_columns=2, rows=[
        [cell, str(seed), *(f"{seed}.{i:05}" for i in range(7))]
        for cell in LONG for seed in (0, 1)])
    text = printed(80, table)
    assert_tables_whole(text, [table], 80)
    lines = text.splitlines()
    titles = [n for n, line in enumerate(lines) if line.startswith("adding length=10 (part")]
    assert [lines[n].rstrip() for n in titles] == ["adding length=10 (part 1 of 2)",
                                                   "adding length=10 (part 2 of 2)"]
    first, second = "\n".join(lines[:titles[1]]), "\n".join(lines[titles[1]:])
    assert "metric" in first and "3" in first.splitlines()[1] and "4" not in first
    assert "0.00004" in second and "0.00003" not in second
    for cell in LONG:  # each row named in each part
        assert first.count(f"{cell} ") == 2 and second.count(f"{cell} ") == 2
    assert lines[-1].strip() == "a caption" and text.count("a caption") == 1
    assert "part" not in printed(250, table)


def test_a_narrow_tables_caption_wraps_at_the_consoles_width_not_the_tables():
    caption = ("headline at each length T (median of 3 seeds); remembers: above chance at "
               "p < 0.01 by at least 0.02")  # 96 characters under a table of 19
    table = Table("memory length", [Column("cell", fold=False), Column("T=5", "right")],
                  caption=caption, rows=[["torch:rnn", "0.9"]])
    wide = printed(200, table).splitlines()
    assert wide[-1] == caption and max(map(len, wide[:-1])) < 20
    narrow = printed(80, table).splitlines()
    caption_lines = narrow[narrow.index(next(x for x in narrow if x.startswith("headline"))):]
    assert len(caption_lines) == 2 and all(len(line) <= 80 for line in caption_lines)
    assert " ".join(line.strip() for line in caption_lines) == caption


def test_piped_lines_end_without_the_spaces_rich_pads_them_with_and_the_terminal_keeps_them():
    """Off a terminal no line ends in a space (a log, a diff, a test's expected text); on a
    terminal the table is rich's own rendering, padding and all."""
    columns = [Column("cell", fold=False), Column("a long header over its column", "right"),
               Column("note")]
    table = Table("copy length=5", columns, caption="a caption long enough to wrap at the "
                  "console's width, which rich wraps leaving a space at each break " * 2,
                  notes=["1. torch:rnn failed"], rows=[["torch:rnn", "0.5", "-"],
                                                       ["my_plugin:peephole_lstm", "0.25", "x"]])
    piped = printed(60, table)
    terminal = io.StringIO()
    Console(file=terminal, width=60, force_terminal=True, color_system=None).print(
        to_rich(table))
    assert [line.rstrip() for line in terminal.getvalue().splitlines()] == piped.splitlines()
    assert any(line != line.rstrip() for line in terminal.getvalue().splitlines())
    assert not [line for line in piped.splitlines() if line != line.rstrip()]
    assert_tables_whole(piped, [table], 60)
