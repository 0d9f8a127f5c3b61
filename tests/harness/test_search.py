"""The length search against a backend whose accuracy is a known function of the length."""

from __future__ import annotations

import argparse
import html
import json
import re

import pytest

from harness.cli import main
from harness.commands.run import _executor_name
from harness.errors import UsageError
from harness.footprint import footprint, size_text
from harness.runner import execute
from harness.search import BUDGET_RUNS, PRECISION, plan_searches, search_lengths
from harness.spec import RunSpec
from tests.plantedmemory import REMEMBERS_UP_TO, SOLVES_UP_TO, PlantedBackend

STEPS = 4
SEARCH = ["--task", "echo", "--steps", str(STEPS), "--eval-every", "2", "--eval-size", "256",
          "--batch", "4", "--hidden", "4", "--executor", "local"]
"""Local: the planted backend is registered in this process only, not in pool workers."""


@pytest.fixture
def planted(toy_host):
    toy_host.register(PlantedBackend(), "planted")
    yield toy_host.registry
    toy_host.unregister("planted")


def _searches(registry, cells, budget=None, seeds=(0,)):
    specs = [RunSpec(task="echo", cell=cell, task_params={"length": 5}, steps=STEPS,
                     eval_every=2, eval_size=256, batch=4, hidden=4, seed=seed)
             for cell in cells for seed in seeds]
    return plan_searches(specs, registry, budget)


def _run(registry, rounds=None):
    def run_round(specs):
        if rounds is not None:
            rounds.append([(s.cell, s.task_params["length"]) for s in specs])
        return [execute(spec, registry) for spec in specs]
    return run_round


def test_search_finds_the_planted_boundary_within_its_budget(planted):
    (search,) = _searches(planted, ["planted:memory"], budget=10 * STEPS)
    search_lengths([search], _run(planted))
    tried = sorted(search.verdicts)
    remembered = [n for n in tried if search.verdicts[n].remembered]
    forgotten = [n for n in tried if not search.verdicts[n].remembered]
    assert remembered and max(remembered) <= REMEMBERS_UP_TO < min(forgotten)
    assert min(forgotten) - max(remembered) <= max(1, PRECISION * max(remembered))
    assert all(n <= REMEMBERS_UP_TO for n in remembered)  # never memory at chance
    solved = [n for n in tried if search.verdicts[n].solved]
    assert solved and max(solved) <= SOLVES_UP_TO
    assert search.spent <= search.budget
    assert search.stopped.startswith("boundary found")


def test_a_cell_at_chance_has_no_memory_at_any_length_or_seed(planted):
    (search,) = _searches(planted, ["planted:chance"], seeds=range(5))
    search_lengths([search], _run(planted))
    assert list(search.verdicts) == [5]
    assert all(not r.accuracy.memory.remembers for r in search.records)
    assert search.stopped == "no memory at the shortest length, 5"


def test_the_budget_stops_the_search(planted):
    (search,) = _searches(planted, ["planted:memory"], budget=3 * STEPS)
    search_lengths([search], _run(planted))
    assert sorted(search.verdicts) == [5, 10, 20]
    # T=5 is solved and stops early (confirmed at step 2): 2 + 4 + 4 steps, and 4 more won't fit
    assert search.spent == 10
    assert search.stopped == f"the next length would exceed the budget of {3 * STEPS} steps " \
                             "(10 used)"


def test_the_search_stops_before_a_length_that_would_not_fit_in_memory(
        planted, tmp_path, capsys, monkeypatch):
    """Only the first runs are checked before any work; each later length is checked as the
    search reaches it, and the records already computed are kept."""
    (cell,) = planted.resolve_cells(["planted:memory"])
    need = {n: footprint(RunSpec(task="echo", cell="planted:memory", batch=4, hidden=4,
                                 eval_size=256), planted.task("echo").build({"length": n}),
                         cell).total
            for n in (5, 10)}
    available = (need[5] + need[10]) // 2
    monkeypatch.setattr("harness.footprint.available_bytes", lambda: available)
    out = tmp_path / "out"
    assert main(["run", *SEARCH, "--cells", "planted:memory", "--out", str(out)]) == 0
    answer = capsys.readouterr().out.splitlines()[-1]
    assert answer.startswith("planted:memory remembers echo up to T=5 (accuracy ")
    assert answer.endswith(f" Search stopped: the next length, T=10, would not fit in memory "
                           f"(needs {size_text(need[10])}, {size_text(available)} available).")
    (record,) = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert record["spec"]["task_params"]["length"] == 5 and record["status"] == "ok"


def test_a_search_is_checked_against_memory_at_its_first_length_not_the_tasks_default(
        registry, tmp_path, capsys, monkeypatch):
    """copy's default length is 100. With room for T=5 but not T=10, the search runs T=5
    (and stops there: two steps remember nothing); checked at T=100, the whole search was
    refused before any work."""
    (cell,) = registry.resolve_cells(["torch:rnn"])
    spec = RunSpec(task="copy", cell="torch:rnn", batch=4, hidden=4, eval_size=64)
    need = {n: footprint(spec, registry.task("copy").build({"length": n}), cell).total
            for n in (5, 10, 100)}
    available = (need[5] + need[10]) // 2
    monkeypatch.setattr("harness.footprint.available_bytes", lambda: available)
    out = tmp_path / "out"
    assert main(["run", "--task", "copy", "--cells", "torch:rnn", "--batch", "4", "--hidden",
                 "4", "--eval-size", "64", "--steps", "2", "--eval-every", "1", "--out",
                 str(out)]) == 0
    assert "1 length tried (T=5)" in capsys.readouterr().out
    (record,) = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert record["spec"]["task_params"]["length"] == 5 and record["status"] == "ok"
    assert need[100] > available


def test_a_search_that_cannot_start_is_refused_in_one_line_naming_its_first_length(
        host, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("harness.footprint.available_bytes", lambda: 16 * 2**30)
    out = tmp_path / "out"
    assert main(["run", "--task", "copy", "--cells", "torch:rnn", "--batch", "10000000",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and not out.exists()
    assert err.startswith("bench: error: torch:rnn length=5 seed 0: needs at least ")
    assert "× 25 time steps" in err and "more than the 16.0 GiB available" in err


def test_max_length_caps_the_lengths_tried(planted):
    specs = [RunSpec(task="echo", cell="planted:memory", task_params={"length": 5},
                     steps=STEPS, eval_every=2, eval_size=256, batch=4, hidden=4)]
    (search,) = plan_searches(specs, planted, budget=10 * STEPS, max_length=8)
    search_lengths([search], _run(planted))
    assert sorted(search.verdicts) == [5, 8]
    assert search.stopped == "remembers up to the longest length searched, 8"


@pytest.mark.parametrize("argv", [["--max-length", "4"], ["--max-length", "9", "--length", "5"]])
def test_a_max_length_outside_the_search_or_below_its_start_is_a_usage_error(
        planted, tmp_path, capsys, argv):
    assert main(["run", *SEARCH, "--cells", "planted:memory", *argv, "--out",
                 str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--max-length must be in [5, " in err or "--max-length sets the length search" in err
    assert not list(tmp_path.glob("*.json"))


def test_cells_search_side_by_side_one_run_each_per_round(planted):
    rounds: list = []
    searches = _searches(planted, ["planted:memory", "planted:chance"])
    search_lengths(searches, _run(planted, rounds))
    assert rounds[0] == [("planted:memory", 5), ("planted:chance", 5)]
    assert all(len(r) == 1 for r in rounds[1:])  # the chance cell stopped after one round


def test_search_starts_at_the_shortest_length_the_task_accepts(registry):
    spec = RunSpec(task="selective_copy", cell="torch:rnn", task_params={"length": 100})
    (search,) = plan_searches([spec], registry, budget=None)
    assert search.start == 10  # 5 < the 8 tokens; 10 is the first doubling that fits
    assert search.budget == BUDGET_RUNS * spec.steps == 4000


def test_a_budget_below_one_run_is_a_usage_error(planted):
    with pytest.raises(UsageError, match="--budget must be at least --steps"):
        _searches(planted, ["planted:memory"], budget=STEPS - 1)


def test_the_command_answers_and_an_interrupted_search_resumes(planted, tmp_path, capsys):
    out = str(tmp_path / "out")
    cells = ["--cells", "planted:memory,planted:chance", "--out", out]
    assert main(["run", *SEARCH, *cells, "--budget", str(2 * STEPS)]) == 0  # cut short
    first = capsys.readouterr()
    last_words = first.out.rstrip().splitlines()[-2:]  # the answer ends the output
    assert last_words[0].startswith("planted:memory remembers echo up to T=10")
    assert last_words[1].startswith("planted:chance: no memory detected on echo at T=5")
    assert re.search(r"2 lengths tried \(T=5-10\), 1 seed each\. Search stopped", first.out)
    assert main(["run", *SEARCH, *cells, "--json"]) == 0
    again = capsys.readouterr()
    assert again.err.count("already recorded, skipped") == 3  # memory 5, 10; chance 5
    output = json.loads(again.out)
    answer = {m["cell"]: m for m in output["memory"]}
    # the lines the text output ends with, search's stop reason included
    assert [line.split(" Search stopped: ")[0] for line in output["answers"]] == [
        m["answer"] for m in output["memory"]]
    assert all(" Search stopped: " in line for line in output["answers"])
    memory, chance = answer["planted:memory"], answer["planted:chance"]
    assert memory["remembers_up_to"] <= REMEMBERS_UP_TO and memory["solves_up_to"] == 5
    assert memory["answer"].startswith(f"planted:memory remembers echo up to T="
                                       f"{memory['remembers_up_to']} (accuracy ")
    assert chance["search_stopped"] == "no memory at the shortest length, 5"
    assert chance["remembers_up_to"] is None and chance["answer"].startswith(
        "planted:chance: no memory detected on echo at T=5 (accuracy 0.")


def test_the_answer_says_how_many_seeds_each_length_had(planted, tmp_path, capsys):
    assert main(["run", *SEARCH, "--cells", "planted:memory,planted:chance", "--lengths",
                 "5,10", "--seeds", "0,1", "--out", str(tmp_path)]) == 0
    memory, chance = capsys.readouterr().out.rstrip().splitlines()[-2:]
    assert re.fullmatch(r"planted:memory remembers echo up to T=10 \(accuracy .*\); solves up "
                        r"to T=\d+; 2 lengths tried \(T=5-10\), 2 seeds each\.", memory)
    # two lengths tried, neither remembered: "from" the shortest, where one length says "at"
    assert re.fullmatch(r"planted:chance: no memory detected on echo from T=5 \(accuracy "
                        r".*\); 2 lengths tried \(T=5-10\), 2 seeds each\.", chance)


@pytest.mark.parametrize("length, memory_answer", [
    (5, "planted:memory solves echo at T=5 (accuracy 1 vs chance "),
    (16, "planted:memory remembers echo at T=16 without solving it (accuracy 0.6"),
    (40, "planted:memory: no memory detected on echo at T=40 (accuracy 0.")])
def test_a_run_at_one_length_ends_with_what_each_cell_did_there(planted, tmp_path, capsys,
                                                                length, memory_answer):
    assert main(["run", *SEARCH, "--cells", "planted:memory,planted:chance", "--length",
                 str(length), "--out", str(tmp_path)]) == 0
    memory, chance = capsys.readouterr().out.rstrip().splitlines()[-2:]
    assert memory.startswith(memory_answer) and memory.endswith("; 1 seed.")
    assert chance.startswith(f"planted:chance: no memory detected on echo at T={length} ")


def test_a_sweep_of_one_length_is_answered_at_that_length(planted, tmp_path, capsys):
    """--lengths with one value: no boundary was looked for, so no "up to" is claimed."""
    assert main(["run", *SEARCH, "--cells", "planted:memory,planted:chance", "--lengths", "16",
                 "--out", str(tmp_path)]) == 0
    memory, chance = capsys.readouterr().out.rstrip().splitlines()[-2:]
    assert memory.startswith("planted:memory remembers echo at T=16 without solving it (")
    assert chance.startswith("planted:chance: no memory detected on echo at T=16 (")


def test_budget_without_a_search_is_a_usage_error(planted, tmp_path, capsys):
    code = main(["run", *SEARCH, "--cells", "planted:memory", "--length", "5", "--budget", "9",
                 "--out", str(tmp_path)])
    assert code == 2
    assert "--budget sets the length search, which runs only for a task with a length and " \
           "without --length, --lengths and --suite" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.json"))


def test_compare_fails_when_a_memory_length_falls(toy_host, tmp_path, capsys):
    grid = [*SEARCH, "--cells", "planted:memory", "--lengths", "5,10,20"]
    for name, remembers_up_to in (("base", 24), ("head", 12)):
        toy_host.register(PlantedBackend(remembers_up_to=remembers_up_to), "planted")
        assert main(["run", *grid, "--out", str(tmp_path / name)]) == 0
        toy_host.unregister("planted")
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "head"), "--json"]) == 1
    memory = {m["measure"]: m for m in json.loads(capsys.readouterr().out)["memory"]}
    remembers = memory["remembers up to"]
    assert (remembers["baseline"], remembers["current"], remembers["verdict"]) == (
        20, 10, "regression")
    assert memory["solves up to"]["verdict"] == "unchanged"
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "head")]) == 1
    out = capsys.readouterr().out
    assert "regression: planted:memory echo: remembers up to T=20 → T=10" in out
    last = out.rstrip().splitlines()[-1]  # then, on a busy machine, why speed went unjudged
    assert re.match(r"FAIL: \d+ matched runs; .*memory fell: planted:memory echo: remembers "
                    r"up to T=20 → T=10[.;]", last)


def test_the_answer_heads_the_report_with_each_cells_boundaries(planted, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", *SEARCH, "--cells", "planted:memory,planted:chance",
                 "--out", str(out)]) == 0
    answers = capsys.readouterr().out.rstrip().splitlines()[-2:]
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "report.html").read_text()
    summary = (tmp_path / "report" / "summary.md").read_text()
    head = page.index("What each cell remembers")
    assert head < page.index("<h2>Task: echo</h2>")
    assert "marks the longest length it remembers" in page  # the figure's boundaries
    head = summary.index("## What each cell remembers")
    assert head < summary.index("## Task: echo")
    assert len(answers) == 2
    # summary.md escapes HTML as report.html does (a "<" in an answer is "&lt;"); the chance
    # cell's search tried one length, which both state as a finding at that length only
    memory, chance = answers
    assert f"- {html.escape(memory.split(' Search stopped')[0], quote=False)}\n" in summary[head:]
    assert chance.startswith("planted:chance: no memory detected on echo at T=5 ")
    assert "- planted:chance: no memory detected on echo at T=5 (" in summary[head:]


def test_a_cell_that_cannot_run_gets_no_answer_rather_than_no_memory(planted, tmp_path, capsys):
    code = main(["run", *SEARCH, "--cells", "planted:memory,torch:broken", "--out",
                 str(tmp_path)])
    assert code == 1
    out = capsys.readouterr().out
    assert "torch:broken: no answer on echo: no run at T=5 finished" in out
    assert "planted:memory remembers echo up to T=" in out


@pytest.mark.parametrize("executor, cells, expected", [
    (None, 2, "process"), (None, 1, "local"), ("local", 2, "local"), ("dask", 1, "dask")])
def test_a_search_of_several_cells_runs_them_side_by_side_by_default(executor, cells, expected):
    args = argparse.Namespace(executor=executor)
    assert _executor_name(args, [object()] * cells) == expected
