"""``bench reproduce`` on a tiny real suite, its bad input, and the report's section."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli import main
from harness.formatting import plural
from harness.reproduce import SUITE_FILE
from tests.reproduce.suite import TINY_SUITE, write_suite

NO_CLAIMS = '[[runs]]\ntask = "echo"\ncells = ["torch:rnn"]\n'
UNRUN_CELL = NO_CLAIMS + ('[[claims]]\ntext = "GRU"\nsource = "a test"\ntask = "echo"\n'
                         'length = 3\nchecks = [{cell = "torch:gru", is = "solves"}]\n')


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory with the tiny suite and a plain one in results/suites/."""
    suites = tmp_path / "results" / "suites"
    write_suite(suites)
    write_suite(suites, "plain", NO_CLAIMS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_reproduce_runs_the_suite_and_prints_each_claim_with_the_answer(
        project, toy_tasks_host, capsys):
    assert main(["reproduce", "tiny", "--threads", "1"]) == 0
    output = capsys.readouterr()
    lines = output.out.splitlines()
    assert lines[0] == "1. reproduced: The tanh RNN solves echo at T=3"
    assert lines[1] == "   source: a test"
    assert lines[2].startswith("   ✓ torch:rnn solves (echo T=3): loss/baseline 0.")
    assert "2. NOT reproduced: The LSTM solves echo at T=4" in lines
    assert any(line.startswith("   ✗ torch:lstm solves (echo T=4): loss/baseline")
               for line in lines)
    assert lines[-1] == ("bench reproduced 1 of 2 published claims of tiny; NOT reproduced: "
                         "claim 2.")
    out = project / "bench-results" / "reproduce-tiny"
    assert f"records in {out.relative_to(project)}/ (3 runs; took " in output.err
    assert len(list(out.glob("*.json"))) == 3
    assert (out / SUITE_FILE).read_text() == TINY_SUITE

    # again: every run is resumed from its record; --strict makes a claim not reproduced exit 1
    assert main(["reproduce", "tiny", "--strict", "--json"]) == 1
    output = capsys.readouterr()
    assert output.err.count("already recorded, skipped") == 3
    outcome = json.loads(output.out)
    assert [c["reproduced"] for c in outcome["claims"]] == [True, False]
    assert outcome["claims"][1]["checks"][0]["measured"].startswith("loss/baseline ")

    # a record that is not JSON is set aside, named in one warning line, and run again
    unreadable = min(out.glob("*.json"))
    unreadable.write_text("{not json")
    assert main(["reproduce", "tiny", "--threads", "1"]) == 0
    (warning,) = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warning == (f"bench: warning: {unreadable.relative_to(project)}: not a readable "
                       f"JSON record (Expecting property name enclosed in double quotes: "
                       f"line 1 column 2 (char 1)); kept it as {unreadable.name}.unreadable "
                       f"and will run it again")


def test_list_names_the_suites_with_claims_and_their_expected_time(project, capsys):
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tiny (~0.5 min on a shared 2-core CPU): tiny echo suite\n"
                          "  1. The tanh RNN solves echo at T=3 [a test]\n")
    assert "full size: none: it is a test" in out and "plain" not in out
    assert out.splitlines()[-1] == "1 reproduce suite with 2 claims; bench reproduce NAME runs one."
    listed = json.loads(main(["reproduce", "--list", "--json"]) == 0 and
                        capsys.readouterr().out)
    assert [s["name"] for s in listed] == ["tiny"] and len(listed[0]["claims"]) == 2


def test_list_with_a_name_lists_that_suite_only(project, capsys):
    write_suite(project / "results" / "suites", "other")
    assert main(["reproduce", "--list", "tiny"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("tiny (") and not any(x.startswith("other") for x in lines)
    assert lines[-1] == "1 reproduce suite with 2 claims; bench reproduce tiny runs it."
    assert main(["reproduce", "--list", "--json", "other"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)] == ["other"]


def test_the_projects_list_fits_80_columns_each_entry_keeping_its_indent(bench):
    """Piped with COLUMNS=80 (a CI log): the project's own suites, whose descriptions,
    claims and full-size commands run to hundreds of characters, in lines that fit, each
    claim and "full size" line's continuation indented under it, no word broken."""
    root = Path(__file__).parents[2]
    listed = bench("reproduce", "--list", env={"COLUMNS": "80"}, cwd=root)
    suites = json.loads(bench("reproduce", "--list", "--json", cwd=root).stdout)
    assert listed.returncode == 0 and suites, listed.stderr
    lines = listed.stdout.splitlines()
    assert max(map(len, lines)) <= 80 and not any(line.endswith(" ") for line in lines)
    claims = sum(len(s["claims"]) for s in suites)
    assert lines[-1] == (f"{plural(len(suites), 'reproduce suite')} with "
                         f"{plural(claims, 'claim')}; bench reproduce NAME runs one.")
    entries: list[list[str]] = []  # a suite's heading, a claim or its full size, with its lines
    for line in lines[:-1]:
        if not line.startswith("    "):  # a continuation is indented deeper than an entry
            entries.append([])
        entries[-1].append(line)
    expected = []
    for s in suites:
        minutes = (f"~{s['expected_minutes']:g} min on a shared 2-core CPU"
                   if s["expected_minutes"] else "time not measured")
        expected.append(f"{s['name']} ({minutes}): {s['description']}")
        expected += [f"  {n}. {c['text']} [{c['source']}]" for n, c in enumerate(s["claims"], 1)]
        expected += [f"  full size: {s['full_size']}"] if s["full_size"] else []
    assert [" ".join(line.strip() for line in entry) for entry in entries] == [
        " ".join(text.split()) for text in expected]
    assert any(len(entry) > 2 for entry in entries)  # it did wrap
    assert bench("reproduce", "--list", "nosuch", cwd=root).returncode == 2


@pytest.mark.parametrize(("argv", "message"), [
    (["reproduce", "--list", "nosuch"], "bench: error: unknown reproduce suite 'nosuch' in "
     "results/suites/ (available: tiny)"),
    (["reproduce", "tinyy"], "bench: error: unknown reproduce suite 'tinyy' in results/suites/; "
     "did you mean 'tiny'? (available: tiny)"),
    (["reproduce"], "bench reproduce: error: give a suite NAME or --list "
     "(available: tiny)"),
    (["reproduce", "plain"], "no [[claims]] to reproduce (bench run --suite runs it)"),
])
def test_bad_input_is_one_line_and_exit_2(project, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and message in err
    assert not (project / "bench-results").exists()


def test_a_claim_on_a_run_the_suite_does_not_do_is_refused_before_any_run(project,
                                                                          toy_tasks_host,
                                                                          capsys):
    write_suite(project / "results" / "suites", "unrun", UNRUN_CELL)
    assert main(["reproduce", "unrun"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "unrun.toml: claim 1 checks torch:gru at echo T=3, " \
        "which the suite's runs do not include (they run torch:rnn on echo)" in err
    assert not (project / "bench-results").exists()


def test_a_bad_value_in_a_run_entry_names_the_entry_before_any_run(project, toy_tasks_host,
                                                                  capsys):
    write_suite(project / "results" / "suites", "badlr", TINY_SUITE.replace("lr = 1e-9",
                                                                            "lr = -1"))
    assert main(["reproduce", "badlr"]) == 2
    assert capsys.readouterr().err == ("bench: error: results/suites/badlr.toml: [[runs]] entry "
                                       "3: lr must be a finite positive number, got -1\n")
    assert not (project / "bench-results").exists()


def test_the_report_shows_published_against_measured(tiny_results, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    results = shutil.copytree(tiny_results[0], tmp_path / "results")
    (results / SUITE_FILE).write_text(TINY_SUITE)
    assert main(["report", str(results)]) == 0
    summary = (results / "report" / "summary.md").read_text()
    table = summary.split("## Published against measured")[1].split("\n## ")[0]
    rows = [line for line in table.splitlines() if line.startswith("| The")]
    assert rows[0].startswith("| The tanh RNN solves echo at T=3 | a test | torch:rnn solves "
                              "(echo T=3); torch:rnn loss/baseline below 0.5 (echo T=3) | "
                              "torch:rnn: loss/baseline 0.")
    assert rows[0].endswith("| reproduced |") and rows[1].endswith("| NOT reproduced |")
    page = (results / "report" / "report.html").read_text()
    assert '<section id="published"><h2>Published against measured</h2>' in page

    (results / SUITE_FILE).write_text("[[claims]]\n")  # unreadable: named and skipped
    assert main(["report", str(results)]) == 0
    summary = (results / "report" / "summary.md").read_text()
    assert "Published against measured" not in summary
    assert f"| {SUITE_FILE} | " in summary and "no [[runs]] entries" in summary


@pytest.mark.parametrize("argv", [["reproduce"], ["reproduce", "tiny"], ["reproduce", "--list"]])
def test_outside_the_project_it_says_where_the_suites_are(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    code, out, err = main(argv), *capsys.readouterr()
    said = (out if argv[-1] == "--list" else err).strip()
    assert (code, said.count("\n")) == ((0, 0) if argv[-1] == "--list" else (2, 0))
    assert said.endswith("there is no results/suites/ here (run from the project's root)"
                         + ("." if argv[-1] == "--list" else ")" if argv == ["reproduce"] else ""))
