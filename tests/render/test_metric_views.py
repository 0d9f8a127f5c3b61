"""The metric declarations drive every view: the terminal tables of ``bench run``, the
report (HTML and Markdown) and ``bench compare``; peak memory shows in all of them."""

import dataclasses
import re
from pathlib import Path

import pytest
from rich.console import Console

from harness import metrics
from harness.compare import Rules, compare
from harness.compare.markdown import render_markdown as compare_markdown
from harness.compare.terminal import print_comparison
from harness.formatting import fmt
from harness.metrics import Metric
from harness.records import ResultSet, load_results
from harness.render.terminal import to_rich
from harness.report.html import render_html
from harness.report.markdown import render_markdown
from harness.report.page import assemble
from harness.sweep import summarise_cells
from harness.tables import seeds_table, summary_table
from tests.report.helpers import real_sweep

WARMUP = Metric("speed", "warmup_seconds", "speed", "warm-up seconds", "warm-\nup s")


@pytest.fixture
def records(host, tmp_path_factory):
    return load_results(real_sweep(tmp_path_factory.getbasetemp())).records


def terminal(records) -> str:
    console = Console(width=80, record=True)
    console.print(to_rich(summary_table(records)))
    console.print(to_rich(seeds_table(summarise_cells(records), records)))
    return console.export_text()


def report(records) -> tuple[str, str]:
    page = assemble(ResultSet(records, []), Path("results"))
    html = re.sub(r"data:image/png;base64,[^\"]*", "", render_html(page))  # letters by chance
    return html, render_markdown(page)


def comparison(records) -> tuple[str, str]:
    """``bench compare`` of the records with themselves: terminal text and Markdown."""
    result = compare(records, records, Rules())
    console = Console(width=160, record=True)
    print_comparison(result, console)
    return console.export_text(), compare_markdown(result)


def header_line(markdown: str, title: str) -> str:
    lines = markdown.splitlines()
    return next(line for line in lines[lines.index(f"### {title}"):] if line.startswith("| "))


def test_a_declared_metric_shows_in_every_view_without_other_edits(records, monkeypatch):
    monkeypatch.setattr(metrics, "METRICS", (*metrics.METRICS, WARMUP))
    text = terminal(records)
    assert text.count("warm-") == 2 and text.count("up s") == 2  # runs and seeds tables
    assert fmt(records[0].speed.warmup_seconds) in text
    html, markdown = report(records)
    assert "<th class=\"num\">warm-up seconds</th>" in html
    assert "| warm-up seconds |" in header_line(markdown, "Per run")
    assert "| warm-up seconds median |" in header_line(markdown, "Across seeds")
    text, markdown = comparison(records)
    assert "warm-" in text and "up s" in text
    assert "| warm-up seconds |" in header_line(markdown, "adding length=4")
    assert ("reported, never judged: grad-norm p99, peak RSS MB, device peak MB, "
            "warm-up seconds") in markdown


def test_peak_memory_shows_in_the_terminal_and_the_report(records):
    text = terminal(records)
    assert max(map(len, text.splitlines())) <= 80 and "…" not in text
    assert text.count("RSS") == 2
    for record in records:
        assert fmt(record.speed.peak_rss_mb) in text
    html, markdown = report(records)
    assert "<th class=\"num\">peak RSS MB</th>" in html
    assert "peak RSS MB: peak resident memory of the process that ran it" in html
    assert "| peak RSS MB |" in header_line(markdown, "Per run")
    assert "| peak RSS MB median |" in header_line(markdown, "Across seeds")
    # measured on no CPU run: the device's peak is left out rather than a column of dashes
    assert "device peak" not in markdown and "dev." not in text
    text, markdown = comparison(records)
    assert "RSS" in text and "| peak RSS MB |" in header_line(markdown, "adding length=4")
    lstm = [r for r in records if r.spec.cell == "torch:lstm" and r.spec.seed == 0
            and r.spec.task_params["length"] == 4][0]
    assert f"| {fmt(lstm.speed.peak_rss_mb)} | ok | unchanged |" in markdown


def test_a_device_peak_shows_where_a_run_measured_it(records):
    measured = [dataclasses.replace(records[0], speed=dataclasses.replace(
        records[0].speed, device_peak_mb=123.4)), *records[1:]]
    assert "dev." in terminal(measured)
    assert "| device peak MB |" in header_line(report(measured)[1], "Per run")


def test_a_metric_shown_nowhere_is_in_no_view(records, monkeypatch):
    hidden = tuple(dataclasses.replace(m, shown_in=frozenset()) if m.key == "peak_rss_mb"
                   else m for m in metrics.METRICS)
    monkeypatch.setattr(metrics, "METRICS", hidden)
    html, markdown = report(records)
    assert "RSS" not in terminal(records) and "RSS" not in markdown and "RSS" not in html
    assert not any("RSS" in text for text in comparison(records))



def test_the_runs_table_lists_each_cell_by_length_then_seed_whatever_order_they_ran(records):
    """A length search runs T=5, 10, 20 and then 14 between them; the table sorts them."""
    def length(record, value):
        return dataclasses.replace(record, spec=dataclasses.replace(
            record.spec, task_params={**record.spec.task_params, "length": value}))

    lstm = [r for r in records if r.spec.cell == "torch:lstm" and r.spec.seed == 0][0]
    rnn = [r for r in records if r.spec.cell == "torch:rnn" and r.spec.seed == 1][0]
    ran = [length(rnn, 20), length(lstm, 5), length(rnn, 5), length(lstm, 20),
           length(lstm, 14), length(rnn, 14)]
    rows = [(row[0], row[1]) for row in summary_table(ran).rows]
    assert rows == [("torch:rnn", "5"), ("torch:rnn", "14"), ("torch:rnn", "20"),
                    ("torch:lstm", "5"), ("torch:lstm", "14"), ("torch:lstm", "20")]
