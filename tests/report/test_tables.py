import dataclasses
from pathlib import Path

import pytest

from harness.formatting import fmt
from harness.records import load_results
from harness.report.html import render_html
from harness.report.markdown import render_markdown
from harness.report.page import Report
from harness.report.tables import Column, Table, environment_table, run_table, skipped_table
from tests.report.helpers import real_sweep


@pytest.fixture
def records(host, tmp_path_factory):
    return load_results(real_sweep(tmp_path_factory.getbasetemp())).records


def test_run_table_holds_the_record_numbers(records):
    record = records[0]
    table = run_table([record])
    row = dict(zip([c.name for c in table.columns], table.rows[0], strict=True))
    assert row["cell"] == record.spec.cell and row["seed"] == str(record.spec.seed)
    assert row["accuracy"] == fmt(record.accuracy.headline)
    assert row["clipped"] == f"{record.stability.clipped_fraction:.0%}"
    assert row["non-finite"] == "0" and row["status"] == "ok"
    assert "chance level 0.0784" in table.caption


def test_a_failed_run_without_measurements_shows_dashes(records):
    failed = dataclasses.replace(records[0], status="failed", accuracy=None, speed=None,
                                 stability=None)
    (row,) = run_table([failed]).rows
    assert row[3:] == ["-"] * 13 + ["failed"]  # the metrics, the memory ones last


def test_environment_lists_each_distinct_value_with_its_run_count(records):
    older = dataclasses.replace(records[1], environment={
        **records[1].environment, "framework_version": "2.0.0", "git_commit": None})
    facts = dict(environment_table([records[0], older]).rows)
    version = records[0].environment["framework_version"]
    assert facts["framework"] == f"PyTorch {version} (1 run); PyTorch 2.0.0 (1 run)"
    assert facts["CPU"] == (f"{records[0].environment['cpu_model']} "
                            f"({records[0].environment['cpu_count']} cores)")


def test_special_characters_are_escaped_in_both_formats(tmp_path):
    root = Path("results")
    bad = root / "odd <b>|name.json"
    skipped = skipped_table([(bad, f"{bad}: not a readable JSON record (<eof> | 1)")], root)
    assert skipped.rows == [["odd <b>|name.json", "not a readable JSON record (<eof> | 1)"]]
    report = Report(source=root, generated="now", overview="", sections=[],
                    environment=Table("Environment", [Column("item"), Column("value")]),
                    skipped=skipped)
    page = render_html(report)
    assert "odd &lt;b&gt;|name.json" in page and "<b>" not in page
    markdown = render_markdown(report)
    assert "| odd &lt;b&gt;\\|name.json | not a readable JSON record (&lt;eof&gt; \\| 1) |" \
        in markdown
    assert "<b>" not in markdown and "<eof>" not in markdown


def test_html_in_a_failed_runs_error_is_escaped_in_the_summary(records):
    failed = dataclasses.replace(records[0], status="failed", accuracy=None, speed=None,
                                 stability=None, error="<script>alert(1)</script>\ntraceback")
    table = run_table([failed])
    assert table.rows[0][-1] == (f"failed after {failed.steps_done} steps: "
                                 "<script>alert(1)</script>")
    report = Report(source=Path("results"), generated="now", overview="", sections=[],
                    environment=table, skipped=skipped_table([], Path("results")))
    markdown = render_markdown(report)
    assert " steps: &lt;script&gt;alert(1)&lt;/script&gt;" in markdown
    assert "<script>" not in markdown and "<script>" not in render_html(report)
