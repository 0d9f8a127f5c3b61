import re
from pathlib import Path

import pytest

from harness.cli import build_parser
from harness.commands.run import requested_specs
from harness.errors import UsageError
from harness.repeats import given_once
from harness.suites import load_suite

ROOT = Path(__file__).resolve().parents[2]

SUITE = """
description = "two tasks"
[defaults]
cells = ["torch:lstm", "torch:gru"]
seeds = [0, 1]
no_early_stop = true
[[runs]]
task = "adding"
length = 6
[[runs]]
task = "recall"
param = {pairs = 2, keys = 4}
no_early_stop = false
"""


def write(directory: Path, text: str, name: str = "mine") -> Path:
    path = directory / "results" / "suites" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run_args(*argv: str):
    return build_parser().parse_args(["run", *argv])


def test_entries_become_bench_run_arguments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, SUITE)
    assert load_suite("mine").runs == [
        ["--cells", "torch:lstm,torch:gru", "--seeds", "0,1", "--no-early-stop", "--task",
         "adding", "--length", "6"],
        ["--cells", "torch:lstm,torch:gru", "--seeds", "0,1", "--task", "recall",
         "--param", "pairs=2", "--param", "keys=4"],
    ]


def test_a_suite_means_what_the_same_commands_would(tmp_path, registry):
    path = write(tmp_path, SUITE)
    specs = requested_specs(run_args("--suite", str(path)), registry)
    assert len(specs) == 8
    assert {(s.task, s.cell, s.seed) for s in specs} >= {("adding", "torch:gru", 1),
                                                         ("recall", "torch:lstm", 0)}
    assert {s.stop_when_solved for s in specs if s.task == "adding"} == {False}
    assert {s.task_params["pairs"] for s in specs if s.task == "recall"} == {2}


def test_the_ci_suite_resolves(registry, monkeypatch):
    monkeypatch.chdir(ROOT)
    specs = requested_specs(run_args("--suite", "ci"), registry)
    assert len(specs) == 12 and {s.device for s in specs} == {"cpu"}


@pytest.mark.parametrize("text, message", [
    ('[[runs]]\ntask = "adding"\nout = "x"', "'out' cannot be set in a suite"),
    ('[[runs]]\ntask = "adding"\ncells = "lstm"\nsteps = "many"',
     r"\[\[runs\]\] entry 1: steps takes a whole number, got 'many'"),
    ('[[runs]]\ntask = "adding"\ncells = "lstm"\nhiden = 4',
     r"entry 1: unknown key 'hiden'; did you mean 'hidden'\? \(available: backend, batch, "),
    ('[[runs]]\ntask = "adding"',
     r"\[\[runs\]\] entry 1: the following arguments are required: cells"),
    ('[[runs]]\ntask = "adding"\ncells = "torch:lstm"\n[[runs]]\ntask = "adding"\n'
     'cells = "torch:lstm"\nsteps = -4',
     r"mine.toml: \[\[runs\]\] entry 2: steps must be a whole number from 1 to "
     r"2147483647, got -4"),
    ('[[runs]]\ntask = "adding"\ncells = "torch:lstm"\neval_every = 0',
     r"mine.toml: \[\[runs\]\] entry 1: eval_every must be a whole number from 1 to "),
    ('[[runs]]\ntask = "adding"\ncells = "torch:lsmt"',
     r"mine.toml: \[\[runs\]\] entry 1: unknown cell 'torch:lsmt'; did you mean 'torch:lstm'\?"),
    ('[[runs]]\ntask = "adding"\ncells = "torch:lstm"\nno_early_stop = "yes"',
     r"mine.toml: \[\[runs\]\] entry 1: 'no_early_stop' takes true or false \(a TOML "
     r"boolean, unquoted\), got 'yes'"),
    ('runs = []', "no \\[\\[runs\\]\\] entries"),
    ('[[run]]\ntask = "adding"', "unknown key 'run'"),
    ('[[runs]\n', "not a readable suite"),
    ('runs = 5', re.escape("'runs' must be an array of tables ([[runs]] entries), got 5")),
    ('runs = [1, 2]', re.escape("'runs' must be an array of tables ([[runs]] entries), got "
                                "[1, 2]")),
    ('defaults = 3\n[[runs]]\ntask = "adding"',
     re.escape("'defaults' must be a table ([defaults]), got 3")),
    ('description = 1\n[[runs]]\ntask = "adding"', "'description' must be a string"),
])
def test_bad_suites_are_named_with_the_problem(tmp_path, registry, text, message):
    path = write(tmp_path, text)
    with pytest.raises(UsageError, match=message) as raised:
        requested_specs(run_args("--suite", str(path)), registry)
    assert raised.value.command == "bench"  # not "bench run" when bench reproduce read it


def test_a_bad_value_in_a_suite_is_one_line_naming_its_entry(tmp_path, host, capsys):
    """The option is named as the file spells it (``eval_every``, not ``--eval-every``)."""
    from harness.cli import main

    path = write(tmp_path, '[[runs]]\ntask = "adding"\ncells = "torch:rnn"\n'
                           '[[runs]]\ntask = "adding"\ncells = "torch:rnn"\nhidden = 0\n')
    out = tmp_path / "out"
    assert main(["run", "--suite", str(path), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"bench: error: {path}: [[runs]] entry 2: hidden must "
                                       "be a whole number from 1 to 2147483647, got 0\n")
    assert not out.exists()


def test_a_value_given_twice_in_a_suite_entry_is_warned_of_naming_the_entry(tmp_path, registry,
                                                                           capsys):
    path = write(tmp_path, '[[runs]]\ntask = "adding"\ncells = "torch:rnn"\n'
                           '[[runs]]\ntask = "adding"\ncells = ["torch:rnn", "rnn"]\n'
                           'seeds = [0, 0]\n')
    specs = requested_specs(run_args("--suite", str(path)), registry)
    assert [(spec.cell, spec.seed) for spec in specs] == [("torch:rnn", 0)]
    given_once([1, 1])  # outside the suite's entries, a warning names none
    assert capsys.readouterr().err.splitlines() == [
        f"bench: warning: {path}: [[runs]] entry 2: seed 0 given twice; running it once",
        f"bench: warning: {path}: [[runs]] entry 2: torch:rnn given twice; running it once",
        "bench: warning: 1 given twice; running it once",
    ]


def test_an_unknown_suite_name_lists_the_suites(registry, monkeypatch, tmp_path):
    write(tmp_path, '[[runs]]\ntask = "adding"', name="nightly")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=r"unknown suite 'cii' in results/suites/ or bench's "
                       r"own; did you mean 'ci'\? \(available: ci, nightly\)"):
        requested_specs(run_args("--suite", "cii"), registry)


def test_bench_s_own_suites_are_found_from_any_directory(registry, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    specs = requested_specs(run_args("--suite", "ci"), registry)
    assert {s.task for s in specs} == {"adding", "recall"}


def test_a_project_suite_of_the_same_name_comes_first(registry, monkeypatch, tmp_path):
    write(tmp_path, '[[runs]]\ntask = "copy"\ncells = ["torch:gru"]\nlength = 3', name="ci")
    monkeypatch.chdir(tmp_path)
    specs = requested_specs(run_args("--suite", "ci"), registry)
    assert [(s.cell, s.task_params) for s in specs] == [("torch:gru", {"length": 3})]


def test_options_that_choose_runs_conflict_with_a_suite(registry, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(UsageError, match="--suite ci fixes the runs; drop --task, --steps"):
        requested_specs(run_args("--suite", "ci", "--task", "copy", "--steps", "5",
                                 "--out", "elsewhere"), registry)


def test_the_thread_count_is_an_execution_option_a_suite_takes(registry, monkeypatch):
    """tox -e regress runs the CI suite with --threads 1."""
    monkeypatch.chdir(ROOT)
    assert requested_specs(run_args("--suite", "ci", "--threads", "1"), registry)


def test_a_suite_that_is_not_utf8_is_named(tmp_path, registry):
    path = write(tmp_path, "")
    path.write_bytes(b'[[runs]]\ntask = "\xff\xfe"\n')
    with pytest.raises(UsageError, match="not a readable suite .*utf-8"):
        requested_specs(run_args("--suite", str(path)), registry)
