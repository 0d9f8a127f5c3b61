import dataclasses
import json

import pytest

from harness.compare import Rules, compare
from harness.compare.markdown import render_markdown
from harness.errors import UsageError

from .records import make_record, step_times
from .test_render import terminal_text


def changes(item) -> dict:
    return {c.metric: c for c in item.changes}


def test_identical_results_are_unchanged():
    comparison = compare([make_record(seed=0), make_record(seed=1)],
                         [make_record(seed=0), make_record(seed=1)], Rules())
    assert not comparison.failed and comparison.speed_gates
    assert [r.verdict for r in comparison.runs] == ["unchanged"] * 2
    (cell,) = comparison.cells
    assert len(cell.runs) == 2 and cell.verdict == "unchanged"


def test_a_cell_that_forgets_is_an_accuracy_regression_per_run_and_per_cell():
    forgot = make_record(headline=0.1, loss_ratio=0.95, solved=False)
    comparison = compare([make_record()], [forgot], Rules())
    (run,), (cell,) = comparison.runs, comparison.cells
    assert comparison.failed and run.verdict == cell.verdict == "regression"
    found = changes(run)
    assert [found[m].verdict for m in ("headline", "loss/baseline", "solved")] == [
        "regression"] * 3
    assert found["steps to solve"].verdict is None  # not solved: nothing to compare


def test_changes_within_tolerance_do_not_count_and_tolerances_are_configurable():
    base = make_record(solved=False)
    slightly = make_record(headline=0.89, loss_ratio=0.23, solved=False)
    assert not compare([base], [slightly], Rules()).failed
    assert compare([base], [slightly], Rules(headline_tolerance=0.005)).failed
    assert not compare([make_record()], [make_record(steps_to_solve=120)], Rules()).failed


def test_a_run_that_stopped_once_solved_on_both_sides_is_judged_by_when_it_solved():
    """Its final metrics are those of the evaluation at which it crossed the criterion."""
    (run,) = compare([make_record()], [make_record(headline=0.5, loss_ratio=0.6)], Rules()).runs
    assert changes(run)["headline"].verdict is None and run.verdict == "unchanged"


def test_better_accuracy_is_an_improvement():
    (run,) = compare([make_record(headline=0.5, solved=False)], [make_record()], Rules()).runs
    assert run.verdict == "improvement"


def test_slower_to_solve_is_a_regression():
    (run,) = compare([make_record()], [make_record(steps_to_solve=200)], Rules()).runs
    assert changes(run)["steps to solve"].verdict == "regression"


@pytest.mark.parametrize("current", [make_record(status="diverged", nonfinite=11),
                                     make_record(status="failed"),
                                     make_record(nonfinite=1)])
def test_divergence_failure_and_new_non_finite_events_are_stability_regressions(current):
    (run,) = compare([make_record()], [current], Rules()).runs
    assert run.verdict == "regression"
    assert {c.aspect for c in run.changes if c.verdict == "regression"} == {"stability"}


def test_a_slowdown_on_the_same_machine_fails():
    comparison = compare([make_record()], [make_record(step_ms=step_times(20.0))], Rules())
    speed = changes(comparison.runs[0])["ms/step"]
    assert speed.verdict == "regression" and speed.gating and speed.fails
    assert 1.9 < speed.ratio < 2.1 and speed.p_value < 1e-6
    assert comparison.failed


def test_between_machines_speed_is_reported_but_fails_only_when_strict():
    slow = make_record(step_ms=step_times(20.0), machine_id="ci-2")
    comparison = compare([make_record()], [slow], Rules())
    speed = changes(comparison.runs[0])["ms/step"]
    assert speed.verdict == "regression" and not speed.gating
    assert not comparison.failed and not comparison.speed_gates
    assert compare([make_record()], [slow], Rules(strict_speed=True)).failed


def test_one_hostname_on_two_machines_is_two_machines():
    """CI runners and VMs share hostnames; the machine id tells them apart."""
    slow = make_record(step_ms=step_times(20.0), machine_id="runner-2")
    comparison = compare([make_record()], [slow], Rules())
    assert not comparison.failed and not comparison.speed_gates


def test_different_thread_counts_are_not_comparable_for_speed():
    slow = make_record(step_ms=step_times(20.0), threads=2)
    comparison = compare([make_record()], [slow], Rules())
    assert not comparison.failed and comparison.environment.threads[0].name == "threads"


@pytest.mark.parametrize("load, reason", [
    (dict(cpus_busy_during_run=1.9), "current: torch:lstm ran 1 thread while other "
                                     "processes kept 1.9 of 2 CPUs busy"),
    (dict(cpus_busy_during_run=0.9), "kept 0.1 CPUs busy during the baseline and 0.9 "
                                     "during current"),
])
def test_speed_measured_under_other_load_is_reported_with_the_reason(load, reason):
    slow = make_record(step_ms=step_times(20.0), **load)
    comparison = compare([make_record()], [slow], Rules())
    speed = changes(comparison.runs[0])["ms/step"]
    assert speed.verdict == "regression" and not speed.gating and reason in speed.note
    assert not comparison.failed and comparison.speed_gates
    assert compare([make_record()], [slow], Rules(strict_speed=True)).failed


def test_a_machine_that_itself_ran_slower_leaves_speed_unjudged():
    """A slower reference work beside the steps: the host, not the code; below the speed
    factor it is judged, and records without the reference are judged as before."""
    slow = dict(step_ms=step_times(20.0))
    for reference, judged in ((33.0, False), (32.0, True), (None, True)):
        comparison = compare([make_record(reference_us=None if reference is None else 30.0)],
                             [make_record(reference_us=reference, **slow)], Rules())
        speed = changes(comparison.runs[0])["ms/step"]
        assert speed.gating is judged and comparison.failed is judged
    comparison = compare([make_record(reference_us=30.0)],
                         [make_record(reference_us=33.0, **slow)], Rules())
    assert changes(comparison.runs[0])["ms/step"].note == (
        "the machine itself ran x1.10 slower during the current's torch:lstm seed 0 (a fixed "
        "reference work took 33.0 µs against 30.0), as much as the speed factor")


def test_interleaved_rounds_judge_speed_through_the_machines_drift():
    def rounds(side: int, scale: float):
        return [make_record(started_at=f"2026-01-01T00:0{2 * i + side}:00",
                            reference_us=30.0 * (1 + i / 3),
                            step_ms=step_times(10.0 * scale * (1 + i / 3), seed=side))
                for i in range(2)]

    assert compare(rounds(0, 1.0), rounds(1, 2.0), Rules(), interleaved=True).failed
    assert not compare(rounds(0, 1.0), rounds(1, 1.0), Rules(), interleaved=True).failed


def test_both_crowded_sides_are_named_with_the_limit():
    crowded = dict(step_ms=step_times(20.0), cpus_busy_during_run=1.9)
    comparison = compare([make_record(cpus_busy_during_run=1.4)], [make_record(**crowded)],
                         Rules())
    assert changes(comparison.runs[0])["ms/step"].note == (
        "baseline: torch:lstm ran 1 thread while other processes kept 1.4 of 2 CPUs busy, over "
        "the 1.25 allowed; current: torch:lstm ran 1 thread while other processes kept 1.9 of "
        "2 CPUs busy, over the 1.25 allowed")


def test_interleaved_sides_need_no_equal_load_but_no_contention():
    def rounds(side: int, **changes):
        return [make_record(started_at=f"2026-01-01T00:0{2 * i + side}:00", **changes)
                for i in range(2)]

    baseline = rounds(0)
    loaded = rounds(1, step_ms=step_times(20.0), cpus_busy_during_run=0.9)
    assert compare(baseline, loaded, Rules(), interleaved=True).failed
    crowded = rounds(1, step_ms=step_times(20.0), cpus_busy_during_run=1.9)
    assert not compare(baseline, crowded, Rules(), interleaved=True).failed


def test_a_missing_run_fails_and_a_new_one_does_not():
    assert compare([make_record(seed=0), make_record(seed=1)], [make_record(seed=0)],
                   Rules()).failed
    comparison = compare([make_record(seed=0)], [make_record(seed=0), make_record(seed=1)],
                         Rules())
    assert not comparison.failed and [s.seed for s in comparison.only_current] == [1]


def test_the_gradient_norm_is_reported_never_judged():
    (run,) = compare([make_record()], [make_record()], Rules()).runs
    assert changes(run)["grad-norm p99"].verdict is None


def test_interleaved_sides_must_come_from_one_machine():
    with pytest.raises(UsageError, match="one machine; they differ in machine_id: ci-1"):
        compare([make_record()], [make_record(machine_id="ci-2")], Rules(), interleaved=True)


def test_the_json_form_is_plain_data():
    comparison = compare([make_record(seed=0), make_record(seed=1)],
                         [make_record(seed=0, headline=0.1, solved=False)], Rules())
    data = json.loads(json.dumps(comparison.to_dict()))
    assert data["failed"] and data["only_baseline"][0]["seed"] == 1
    (run,) = data["runs"]
    assert run["verdict"] == "regression" and run["spec"]["cell"] == "torch:lstm"
    headline = next(c for c in run["changes"] if c["metric"] == "headline")
    assert headline == {**headline, "baseline": 0.9, "current": 0.1, "fails": True}


def test_settings_told_apart_are_compared_and_named_apart():
    """Two entries of one cell at hidden 8 and 16: only the one that forgot has regressed, and
    every text names which (its runs, its memory length, the run missing from one side)."""
    def entry(hidden: int, solved: bool, seed: int = 0):
        record = make_record(solved=solved, headline=0.9 if solved else 0.1, seed=seed)
        spec = dataclasses.replace(record.spec, hidden=hidden)
        return dataclasses.replace(record, spec=spec, run_id=spec.run_id)

    comparison = compare([entry(8, True), entry(16, True), entry(16, True, seed=1)],
                         [entry(8, True), entry(16, False)], Rules())
    assert sorted((m.cell, m.measure, m.verdict) for m in comparison.memory) == [
        ("torch:lstm (hidden=16)", "solves up to", "regression"),
        ("torch:lstm (hidden=8)", "solves up to", "unchanged")]
    text = terminal_text(comparison)
    assert "regression: adding length=10 torch:lstm (hidden=16) seed 0: headline 0.9 → 0.1" \
        in text
    assert "missing from the current results (fails):\n  adding length=10 torch:lstm " \
           "(hidden=16) seed 1" in text
    assert [line.split()[:3] for line in text.splitlines()
            if line.startswith("torch:lstm")] == [["torch:lstm", "(hidden=8)", "0"],
                                                  ["torch:lstm", "(hidden=16)", "0"]]
    assert "- adding length=10 torch:lstm (hidden=16) seed 1" in render_markdown(comparison)
    # an entry added on one side leaves the other entry's comparison as it was
    added = compare([entry(8, True)], [entry(8, False), entry(16, True)], Rules())
    assert [(m.cell, m.measure, m.verdict) for m in added.memory] == [
        ("torch:lstm (hidden=8)", "solves up to", "regression")]
