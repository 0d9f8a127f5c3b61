import re

from rich.console import Console

from harness.compare import Rules, compare
from harness.compare.markdown import render_markdown
from harness.compare.terminal import print_comparison

from .records import make_record, step_times


def comparison(**current):
    return compare([make_record(seed=0), make_record(seed=1)],
                   [make_record(seed=0, **current), make_record("torch:gru")], Rules())


def terminal_text(result) -> str:
    console = Console(record=True, width=250)
    print_comparison(result, console)
    return console.export_text()


def test_the_terminal_shows_runs_cells_one_sided_runs_and_the_outcome():
    text = terminal_text(comparison(headline=0.5, solved=False, step_ms=step_times(20.0)))
    assert text.startswith("adding length=10\n")  # a table per task setting
    assert "0.9 → 0.5" in text and "(x2.00, p<0.001)" in text
    assert "regression: accuracy, speed" in text and "does not fail" not in text
    assert "runs missing from the current results (fails):\n  adding length=10 " \
           "torch:lstm seed 1" in text
    assert "only in the current results (new):\n  adding length=10 torch:gru seed 0" in text
    # the last line names what regressed, in one line however narrow the terminal
    assert text.rstrip().endswith(
        "\nFAIL: 1 matched run; regressed: torch:lstm on adding length=10 (accuracy, speed); "
        "memory fell: torch:lstm adding: solves up to T=10 → none; 1 run of the baseline "
        "missing; 1 new run.")
    assert "regression: torch:lstm adding: solves up to T=10 → none" in text
    assert "ms/step: the fast end (5th percentile) of the step times" in text


def test_a_cell_over_seeds_writes_solved_as_a_share_as_bench_run_does():
    baseline = [make_record(seed=0), make_record(seed=1)]
    current = [make_record(seed=0, solved=False), make_record(seed=1, solved=False)]
    text = terminal_text(compare(baseline, current, Rules()))
    assert "regression: adding length=10 torch:lstm seed 0: solved yes → no" in text
    assert "regression: adding length=10 torch:lstm (all 2 seeds): solved 100% → 0%" in text


def test_a_verdict_with_speed_judged_for_some_runs_only_says_for_how_many():
    baseline = [make_record(seed=0, reference_us=30.0), make_record(seed=1, reference_us=30.0)]
    current = [make_record(seed=0, reference_us=30.0, step_ms=step_times(20.0)),
               make_record(seed=1, reference_us=45.0)]
    last = terminal_text(compare(baseline, current, Rules())).rstrip().splitlines()[-1]
    assert last.startswith("FAIL: 2 matched runs; regressed: torch:lstm on adding length=10 "
                           "(speed); speed not judged for 1 of them, 0 of 2 runs slower than "
                           "the rules allow: the machine itself ran x1.50 slower during the "
                           "current's torch:lstm seed 1")


def test_the_verdict_stays_one_line_at_80_columns():
    result = comparison(headline=0.5, solved=False)
    console = Console(record=True, width=80)
    print_comparison(result, console)
    last = console.export_text().rstrip().splitlines()[-1]
    assert last.startswith("FAIL: 1 matched run; regressed: ") and last.endswith("1 new run.")


def test_notes_and_findings_fold_at_80_columns_without_trailing_spaces():
    """As a CI log or a diff shows them: rich leaves a space at the end of each fold."""
    console = Console(record=True, width=80)
    print_comparison(comparison(step_ms=step_times(20.0), cpus_busy_during_run=1.9), console)
    lines = console.export_text().rstrip().splitlines()
    assert [line for line in lines if line.endswith(" ")] == []
    assert all(len(line) <= 80 for line in lines[:-1])  # the verdict alone is one long line
    reason = lines.index("  current: torch:lstm ran 1 thread while other processes kept 1.9 "
                         "of 2 CPUs")
    assert lines[reason + 1] == "  busy, over the 1.25 allowed"  # a fold keeps its indent


def test_speed_between_machines_is_marked_as_not_failing():
    text = terminal_text(comparison(step_ms=step_times(20.0), machine_id="ci-2"))
    assert "(x2.00, p<0.001)*" in text
    assert "different machines, software or thread counts; speed changes are reported (marked " \
           "*) but do not fail" in text
    assert "machine_id: ci-1 (baseline) vs ci-1, ci-2 (current)" in text
    assert "* reported, does not fail" in text
    assert text.rstrip().endswith(
        "; speed not judged, 1 of 1 run slower than the rules allow (marked *): the sides "
        "differ in machine, software or threads.")


def test_speed_under_other_load_is_marked_with_the_reason():
    text = terminal_text(comparison(step_ms=step_times(20.0), cpus_busy_during_run=1.9))
    assert "(x2.00, p<0.001)*" in text
    assert ("speed not judged where other processes or the machine itself slowed a side, or "
            "the sides' loads differed (a change there is marked * and does not fail):") in text
    reason = ("current: torch:lstm ran 1 thread while other processes kept 1.9 of 2 CPUs busy, "
              "over the 1.25 allowed")
    assert f"\n  {reason}\n" in text
    # an OK or a FAIL whose speed went unjudged says so, with how many runs were slower
    assert text.rstrip().endswith("; speed not judged, 1 of 1 run slower than the rules allow "
                                  f"(marked *): {reason}.")


def test_markdown_for_a_step_summary():
    markdown = render_markdown(comparison(headline=0.5, solved=False))
    assert markdown.startswith("## bench compare\n\n**FAIL: ")
    assert "- regression: adding length=10 torch:lstm seed 0: headline 0.9 → 0.5; " \
           "solved yes → no" in markdown
    assert ("### adding length=10\n\n_ms/step: the fast end (5th percentile) of the step "
            "times, where other processes add least_\n\n| cell | seed | headline | "
            "loss/baseline |") in markdown
    assert "| **regression: accuracy** |" in markdown
    assert "accuracy: the headline metric falls by more than 0.02" in markdown


def test_steps_to_solve_read_alike_for_a_run_and_over_its_seeds():
    """One metric, one format: thousands separated in the runs' rows as in the cell's row
    over seeds (whose median of 1,200 and 1,235 steps is 1,217.5)."""
    sides = [[make_record(seed=0, steps_to_solve=1200), make_record(seed=1, steps_to_solve=1235)]
             for _ in range(2)]
    text = terminal_text(compare(*sides, Rules()))
    rows = [line for line in text.splitlines() if line.startswith("torch:lstm")]
    assert [re.search(r" (?:yes|100%) +([\d,]+) ", row)[1] for row in rows] == ["1,200", "1,235",
                                                                      "1,218"]
