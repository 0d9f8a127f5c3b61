"""``bench report`` on a small real sweep, and on every kind of bad input."""

import base64
import dataclasses
import json
import re
import shutil
import sys

import pytest
import torch

from harness.answer import answer_line, verdict_text
from harness.cli import main
from harness.formatting import fmt
from harness.records import load_results, write_record
from harness.sweep import memory_lengths, summarise_cells
from tests.helpers import TINY_RUN
from tests.report.helpers import html_tables, real_sweep, section

matplotlib = pytest.importorskip("matplotlib")

FIGURES = ["Learning curves", "Memory length", "Gradient reach", "Speed", "Gradient norms"]


@pytest.fixture
def sweep(host, tmp_path_factory):
    return real_sweep(tmp_path_factory.getbasetemp())


@pytest.fixture
def sweep_copy(sweep, tmp_path):
    """A copy of the sweep that a test may add files to."""
    return shutil.copytree(sweep, tmp_path / "results")


def images(page: str) -> list[tuple[str, bytes]]:
    """(alt text, PNG bytes) of each embedded image."""
    return [(alt, base64.b64decode(data)) for data, alt in
            re.findall(r'<img src="data:image/png;base64,([^"]+)" width="\d+" alt="([^"]*)"', page)]


def test_report_is_one_self_contained_page_and_a_markdown_summary(sweep, tmp_path, capsys):
    out = tmp_path / "out"
    backend, settings = matplotlib.get_backend(), dict(matplotlib.rcParams)
    assert main(["report", str(sweep), "-o", str(out)]) == 0
    assert matplotlib.get_backend() == backend and dict(matplotlib.rcParams) == settings
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "summary.md"]
    wrote, *answers = capsys.readouterr().out.splitlines()
    assert wrote == (f"wrote {out / 'report.html'}, {out / 'summary.md'} "
                     "(8 runs)")
    assert answers == [answer_line(m) for m in memory_lengths(load_results(sweep).records)]
    assert sorted(a.split(":")[1] for a in answers) == ["lstm", "rnn"]  # its last words
    page = (out / "report.html").read_text()
    assert not re.search(r"<script|<link|src=\"(?!data:)|url\(", page)  # opens from disk alone

    embedded = images(page)
    assert [alt.split(".")[0] for alt, _ in embedded] == [f"{f} — adding" for f in FIGURES]
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for _, png in embedded)
    for title in FIGURES:
        assert f"<figcaption><strong>{title} — adding.</strong>" in page
    for heading in ("<h3>Across seeds</h3>", "<h3>Memory length</h3>",
                    "<summary>Per run (8 runs)</summary>", "<h2>Environment</h2>",
                    "<h2>Skipped files</h2>"):
        assert heading in page

    results = load_results(sweep)
    seeds, memory, runs = html_tables(section(page, "adding"))
    for record in results.records:
        (row,) = [r for r in runs if (r["cell"], r["params"], r["seed"]) == (
            record.spec.cell, f"length={record.spec.task_params['length']}", str(record.spec.seed))]
        assert row["accuracy"] == fmt(record.accuracy.headline)
        assert row["loss/baseline"] == fmt(record.accuracy.loss_ratio)
        assert row["ms/step"] == fmt(record.speed.step_ms_median)
        assert row["tokens/s"] == fmt(record.speed.tokens_per_second)
        assert row["grad-norm p99"] == fmt(record.stability.grad_norm_p99)
        assert row["weights"] == str(record.speed.parameter_count)
        assert row["status"] == "ok" and row["solved"] == "no"
    for summary in summarise_cells(results.records):
        (row,) = [r for r in seeds if (r["cell"], r["params"]) == (
            summary.cell, f"length={summary.task_params['length']}")]
        assert row["seeds"] == "2"
        assert row["accuracy median [min, max]"].startswith(fmt(summary.values["headline"]))
        assert row["loss/baseline median"] == fmt(summary.values["loss_ratio"])
    assert {(r["cell"], r["T=4"], r["T=8"], r["solves up to"]) for r in memory} == {
        (m.cell, verdict_text(m.verdicts[4]), verdict_text(m.verdicts[8]), "none")
        for m in memory_lengths(results.records)}
    (environment,) = html_tables(page[page.index('<section id="environment">'):])
    facts = {row["item"]: row["value"] for row in environment}
    assert facts["framework"] == f"PyTorch {torch.__version__}"
    commit = results.records[0].environment["git_commit"]
    assert facts["git commit"].startswith(commit[:12]) if commit else (
        facts["git commit"] == "not recorded")
    assert "No files were skipped." in page

    summary = (out / "summary.md").read_text()
    assert "data:image" not in summary and "<img" not in summary
    for heading in ("### Across seeds", "### Memory length", "### Per run", "## Environment",
                    "## Skipped files"):
        assert heading in summary
    lstm = next(r for r in results.records if r.spec.cell == "torch:lstm")
    assert (f"| torch:lstm | length={lstm.spec.task_params['length']} | {lstm.spec.seed} | "
            f"{fmt(lstm.accuracy.headline)} | {fmt(lstm.accuracy.loss_ratio)} | no |") in summary


def test_runs_differing_in_an_option_are_reported_apart(sweep_copy, tmp_path):
    """The sweep's rnn runs again at hidden = 12: the tables, the answers and the memory-length
    figure show two rnn settings, never one with twice the seeds."""
    records = load_results(sweep_copy).records
    for record in records:
        if record.spec.cell == "torch:rnn":
            spec = dataclasses.replace(record.spec, hidden=12)
            write_record(sweep_copy, dataclasses.replace(record, spec=spec, run_id=spec.run_id))
    assert main(["report", str(sweep_copy), "-o", str(tmp_path / "out")]) == 0
    page = (tmp_path / "out" / "report.html").read_text()
    seeds, memory, runs = html_tables(section(page, "adding"))
    apart = ["torch:lstm", "torch:rnn (hidden=12)", "torch:rnn (hidden=8)"]
    assert sorted((r["cell"], r["seeds"]) for r in seeds) == sorted(
        (cell, "2") for cell in apart for _ in (4, 8))
    assert sorted(r["cell"] for r in memory) == apart
    assert sorted(r["cell"] for r in runs) == sorted(cell for cell in apart for _ in range(4))
    answers = (tmp_path / "out" / "summary.md").read_text().split("## Task")[0]
    assert sorted(re.findall(r"^- (.+?)(?:: no | remembers )", answers, re.M)) == apart
    assert [alt.split(".")[0] for alt, _ in images(page)] == [f"{f} — adding" for f in FIGURES]


def test_mixed_tasks_get_a_section_each_and_corrupt_files_are_named_and_skipped(
        sweep_copy, capsys):
    assert main(["run", "--task", "copy", "--cells", "torch:rnn", "--length", "3", "--steps", "5",
                 "--out", str(sweep_copy), *TINY_RUN]) == 0
    truncated = sorted(sweep_copy.glob("adding-*.json"))[0]
    truncated.write_text(truncated.read_text()[:200])
    (sweep_copy / "garbage.json").write_text("{not json")
    newer = json.loads(sorted(sweep_copy.glob("adding-*.json"))[1].read_text())
    (sweep_copy / "from-the-future.json").write_text(json.dumps({**newer, "schema_version": 99}))
    capsys.readouterr()

    assert main(["report", str(sweep_copy)]) == 0  # default output: RESULTS_DIR/report
    warnings = capsys.readouterr().err.splitlines()
    assert len(warnings) == 3
    for name in (truncated.name, "garbage.json", "from-the-future.json"):
        assert sum(w.startswith("bench: warning: skipped ") and name in w for w in warnings) == 1
    assert any("schema_version 99 is newer" in w for w in warnings)

    page = (sweep_copy / "report" / "report.html").read_text()
    skipped = html_tables(page[page.index('<section id="skipped">'):])[0]
    assert {row["file"] for row in skipped} == {truncated.name, "garbage.json",
                                                "from-the-future.json"}
    assert all(row["reason"] for row in skipped)

    adding, copy = section(page, "adding"), section(page, "copy")
    assert len(html_tables(adding)[-1]) == 7  # per run: the truncated record is left out
    assert len(images(adding)) == 5
    assert [alt.split(" — ")[0] for alt, _ in images(copy)] == [
        "Learning curves", "Gradient reach", "Speed", "Gradient norms"]  # a single length
    _, copy_runs = html_tables(copy)
    assert [r["cell"] for r in copy_runs] == ["torch:rnn"] and "recall accuracy" in copy_runs[0]
    summary = (sweep_copy / "report" / "summary.md").read_text()
    assert "## Task: adding" in summary and "## Task: copy" in summary
    assert "garbage.json" in summary


def test_installed_script_reports_bad_input_in_one_line(bench, tmp_path):
    result = bench("report", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert result.stderr == f"bench: error: no such results directory or file: " \
                            f"'{tmp_path / 'missing'}'\n"


def _missing(tmp_path, sweep):
    return tmp_path / "missing"


def _empty(tmp_path, sweep):
    return tmp_path


def _truncated_only(tmp_path, sweep):
    record = next(sweep.glob("*.json")).read_text()
    (tmp_path / "only.json").write_text(record[:len(record) // 2])
    return tmp_path


def _newer_schema_only(tmp_path, sweep):
    record = json.loads(next(sweep.glob("*.json")).read_text())
    (tmp_path / "only.json").write_text(json.dumps({**record, "schema_version": 2}))
    return tmp_path


@pytest.mark.parametrize("prepare, message", [
    (_missing, "no such results directory or file: "),
    (_empty, "no run records in "),
    (_truncated_only, "only.json: not a readable JSON record"),
    (_newer_schema_only, "schema_version 2 is newer than this bench understands (1); "
     "upgrade bench-harness"),
], ids=["missing", "empty", "truncated", "newer-schema"])
def test_unusable_results_are_one_line_and_exit_2(prepare, message, sweep, tmp_path, capsys):
    assert main(["report", str(prepare(tmp_path, sweep))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bench: error: ") and message in err
    assert not list(tmp_path.rglob("report*")) and not list(tmp_path.rglob("summary.md"))


def test_unwritable_output_is_one_line_exit_2_and_leaves_nothing(sweep, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["report", str(sweep), "-o", str(blocker / "report")]) == 2
    err = capsys.readouterr().err
    assert err == f"bench: error: cannot write the report to '{blocker / 'report'}': Not a " \
                  "directory\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]
    assert not (sweep / "report").exists()
    assert main(["report", str(sweep), "-o", str(blocker)]) == 2  # a file where a directory goes
    assert capsys.readouterr().err == (f"bench: error: --out '{blocker}' is a file; --out names "
                                       "the directory the report is written into\n")
    assert blocker.read_text() == ""


def test_without_matplotlib_the_message_says_how_to_get_it(sweep, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for name in ("figures", "page", "html", "markdown", "build"):
        monkeypatch.delitem(sys.modules, f"harness.report.{name}", raising=False)
    assert main(["report", str(sweep), "-o", str(sweep / "never")]) == 2
    assert capsys.readouterr().err == ("bench report: error: matplotlib is not installed: "
                                       "pip install matplotlib\n")
    assert not (sweep / "never").exists()
