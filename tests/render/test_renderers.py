"""Each renderer of the table model: rich for the terminal, Markdown, HTML."""

from rich.console import Console

from harness.render.html import html_table
from harness.render.markdown import markdown_table
from harness.render.terminal import to_rich
from harness.table_model import Column, Table, Toned

NAME = "my_plugin:peephole_lstm"


def sample() -> Table:
    columns = [Column("cell", fold=False), Column("seed", "right"),
               *(Column(f"metric number {i}", "right", narrow=f"met-\nric\n{i}")
                 for i in range(5)), Column("status")]
    return Table("a <title> | with marks", columns, rows=[
        [NAME, "0", *(f"{1234.5 * i:,.1f}" for i in range(5)), Toned("failed (1)", "bad")],
        ["torch:lstm", "1", *("0.25" for _ in range(5)), Toned("ok", "good")],
    ], caption="a caption", notes=["(1) failed: <script>|*_x_*"], summary_rows={1})


def terminal(table: Table, **options) -> str:
    console = Console(width=80, record=True, **options)
    console.print(to_rich(table))
    return console.export_text(styles=bool(options))


def test_terminal_fits_80_columns_without_cutting_a_name_or_a_number():
    text = terminal(sample())
    assert max(map(len, text.splitlines())) <= 80 and "…" not in text
    assert NAME in text and "4,938.0" in text and "3,703.5" in text
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines.index("a caption") > lines.index(next(x for x in lines if NAME in x))
    assert "(1) failed: <script>|*_x_*" in text  # markup in notes is printed, not applied


def test_terminal_colours_cells_by_tone():
    styled = terminal(sample(), force_terminal=True, color_system="standard")
    assert "\x1b[1;31mfailed (1)" in styled and "32mok\x1b" in styled


def test_markdown_escapes_and_marks_tones():
    lines = markdown_table(sample())
    text = "\n".join(lines)
    assert lines[0] == "### a &lt;title&gt; | with marks"
    assert "_(1) failed: &lt;script&gt;\\|\\*\\_x\\_\\*_" in text
    assert "|:---|---:|" in text  # text left, numbers right
    assert f"| {NAME.replace('_', chr(92) + '_')} | 0 |" in text
    assert text.count("**failed (1)**") == 1 and "| _ok_ |" in text


def test_markdown_of_an_empty_table_has_no_table():
    lines = markdown_table(Table("Skipped files", [Column("file")], caption="none"), "##")
    assert lines == ["## Skipped files", "", "_none_", ""]


def test_html_escapes_aligns_and_classes_tones():
    page = html_table(sample())
    assert page.startswith("<h3>a &lt;title&gt; | with marks</h3>")
    assert "<script>" not in page and "(1) failed: &lt;script&gt;|*_x_*" in page
    assert '<th class="num">metric number 0</th>' in page
    assert '<td class="text tone-bad">failed (1)</td>' in page
    assert '<tr class="summary">' in page and '<td class="text tone-good">ok</td>' in page


def test_a_table_too_wide_for_80_columns_folds_rather_than_loses_a_column():
    columns = [Column("cell", fold=False), *(Column(f"c{i:02}", "right") for i in range(14))]
    wide = Table("wide", columns, rows=[[NAME, *(f"{i}{i:02}.5" for i in range(14))]])
    text = terminal(wide)
    assert max(map(len, text.splitlines())) <= 80 and NAME in text
    assert all(f"c{i:02}" in text for i in range(14))


def test_markdown_without_marks_writes_tones_as_plain_text():
    text = "\n".join(markdown_table(sample(), marks=False))
    assert "| failed (1) |" in text and "| ok |" in text and "**" not in text
