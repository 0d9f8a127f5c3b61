"""The task kit finds each planted fault in a toy task, names the check and the fix, passes
a conforming toy task, and measures the input-free predictor honestly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.cli import main
from harness.conformance import plan_task_checks
from harness.conformance.memoryless import measure
from harness.conformance.task_checks import TASK_CHECKS
from tests.conformance.broken_tasks import FAULTS, BrokenTasks
from tests.helpers import make_host
from tests.toyplugins import EchoTask, ToyTasks


@pytest.fixture(scope="module")
def broken():
    return make_host("tasks", **{"broken-tasks": BrokenTasks(), "toy-tasks": ToyTasks()})


def test_each_planted_fault_fails_exactly_its_check(broken):
    results = [p.run() for p in plan_task_checks(broken.registry, list(FAULTS))]

    failed = {(r.subject, r.check) for r in results if r.failed}
    assert failed == {(f"task:{name}", check) for name, (_, check) in FAULTS.items()}
    assert all(r.fix for r in results if r.failed)
    by_key = {(r.subject, r.check): r for r in results}
    assert "inputs are float64 [1, 5, 4], expected float32" in by_key[
        "task:float64_inputs", "batch"].message
    assert "two batches for one seed" in by_key["task:global_random", "deterministic"].message
    assert "baseline_loss is 1.6094, but the best predictor that ignores the input" in by_key[
        "task:wrong_baseline", "baseline"].message
    assert by_key["task:wrong_chance", "chance"].message.startswith("chance is 0.5, but")
    assert "symbols=0 is accepted, but sample() raised ValueError" in by_key[
        "task:unbounded_symbols", "parameters"].message
    assert "Parameter('symbols', minimum=..." in by_key[
        "task:unbounded_symbols", "parameters"].fix
    assert "length 5, 6, 12 build sequences of 8, 8, 8 steps" == by_key[
        "task:fixed_length", "length"].message


def test_a_conforming_task_passes_every_check(broken):
    results = [p.run() for p in plan_task_checks(broken.registry, ["echo"])]

    assert [r.check for r in results] == [c.name for c in TASK_CHECKS]
    assert all(r.outcome == "passed" for r in results), [r.describe() for r in results]


def test_the_predictor_ignores_the_input_even_where_the_input_gives_the_answer():
    """Echo's current input is its target: a memoryless cell solves it, the input-free
    predictor scores ln 4 and 1/4, as the task declares."""
    task = EchoTask(6)
    m = measure(task, task.sample(np.random.default_rng(0), 4000),
                task.held_out(np.random.default_rng(1), 4000))
    assert abs(m.loss - np.log(4)) < m.loss_tolerance < 0.01
    assert abs(m.headline - 0.25) < m.headline_tolerance < 0.03


def test_bench_check_selects_tasks_by_name_or_by_plugin(capsys, monkeypatch, broken):
    import harness.plugins

    monkeypatch.setattr(harness.plugins, "_default_host", broken)
    assert main(["check", "--tasks", "echo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["subject"] for r in data["results"]} == {"task:echo"}
    assert data["counts"] == {"passed": len(TASK_CHECKS)}

    assert main(["check", "--plugin", "broken-tasks"]) == 1
    out = capsys.readouterr().out
    assert "FAILED task:wrong_chance chance: chance is 0.5" in out
    assert f"{len(FAULTS)} failed" in out and "task:echo" not in out


@pytest.mark.parametrize("args, message", [
    (["--tasks", "nonesuch"], "unknown task 'nonesuch'"),
    (["--plugin", "nonesuch"], "unknown plugin 'nonesuch'"),
])
def test_an_unknown_task_or_plugin_is_a_one_line_usage_error(capsys, host, args, message):
    assert main(["check", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bench: error: {message}") and err.count("\n") == 1
