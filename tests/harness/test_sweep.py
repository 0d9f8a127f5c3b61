"""Summaries across seeds: every field of a cell's summary, from records with known values."""

import pytest

from harness.records import Accuracy, RunRecord, Speed, Stability
from harness.spec import RunSpec
from harness.sweep import memory_lengths, setting_labels, summarise_cells


def _record(seed: int, headline: float | None, solved: bool, status: str = "ok",
            loss_ratio: float = 0.5, step_ms: float = 2.0, p99: float = 1.0,
            nonfinite: int = 0, spikes: int = 0, cell: str = "torch:lstm",
            task_params: dict | None = None, **options) -> RunRecord:
    spec = RunSpec(task="adding", cell=cell, task_params=task_params or {"length": 8},
                   seed=seed, **options)
    return RunRecord(
        spec=spec, status=status, run_id=spec.run_id,
        accuracy=Accuracy(baseline_loss=1.0, headline_name="accuracy", chance=0.1,
                          solved_criterion="", headline=headline, loss_ratio=loss_ratio,
                          solved=solved),
        speed=Speed("cpu", "loop", 10, step_ms_median=step_ms),
        stability=Stability(grad_norm_p99=p99, nonfinite_events=nonfinite, loss_spikes=spikes))


def test_a_cells_seeds_are_summarised_field_by_field():
    records = [
        _record(0, 0.2, False, loss_ratio=0.9, step_ms=1.0, p99=3.0, nonfinite=1, spikes=2),
        _record(1, 0.6, True, loss_ratio=0.3, step_ms=3.0, p99=5.0, spikes=1),
        _record(2, 1.0, True, status="diverged", loss_ratio=0.1, step_ms=2.0, p99=4.0,
                nonfinite=4),
        _record(3, None, False, status="failed", loss_ratio=0.2, step_ms=9.0, p99=1.0),
        _record(0, 0.9, True, cell="torch:gru"),
    ]
    lstm, gru = summarise_cells(records)
    assert (lstm.cell, lstm.task, lstm.task_params, lstm.seeds) == (
        "torch:lstm", "adding", {"length": 8}, 4)
    values = lstm.values
    assert values["solved"] == 0.5
    assert (values["headline"], lstm.headline_min, lstm.headline_max) == (0.6, 0.2, 1.0)
    assert lstm.headline_std == pytest.approx(0.326599, abs=1e-6)
    assert values["loss_ratio"] == pytest.approx(0.25)
    assert values["step_ms_median"] == 2.5 and values["grad_norm_p99"] == 3.5
    assert (values["nonfinite_events"], values["loss_spikes"]) == (5, 3)
    assert (lstm.diverged, lstm.failed) == (1, 1)
    assert (gru.cell, gru.seeds, gru.values["solved"], gru.values["headline"]) == (
        "torch:gru", 1, 1.0, 0.9)


def test_a_cell_without_any_headline_summarises_to_none():
    (summary,) = summarise_cells([_record(0, None, False, status="failed")])
    assert (summary.values["headline"], summary.headline_min, summary.headline_max,
            summary.headline_std) == (None, None, None, None)


def test_runs_of_one_cell_differing_in_an_option_are_summarised_apart():
    """A suite's two entries of one cell, task and parameters are two settings, not seeds."""
    records = [_record(0, 0.2, False, hidden=8), _record(1, 0.4, False, hidden=8),
               _record(0, 0.9, True, hidden=16), _record(0, 0.5, False, cell="torch:gru")]
    small, large, gru = summarise_cells(records)
    assert [(s.label, s.seeds, s.values["headline"]) for s in (small, large, gru)] == [
        ("torch:lstm (hidden=8)", 2, pytest.approx(0.3)),
        ("torch:lstm (hidden=16)", 1, 0.9), ("torch:gru", 1, 0.5)]
    assert setting_labels(records) == {r.spec.run_id: s.label for r, s in zip(
        records, (small, small, large, gru), strict=True)}


def _at(length: int, solved: bool, seed: int = 0, **options) -> RunRecord:
    return _record(seed, 1.0 if solved else 0.0, solved,
                   task_params={"length": length, **options.pop("params", {})}, **options)


def test_a_length_sweep_is_one_memory_length_though_its_budget_grows_with_the_length():
    """A protocol that gives longer lengths more steps sweeps one setting."""
    (memory,) = memory_lengths([_at(5, True, steps=100), _at(10, True, steps=200),
                                _at(20, False, steps=400)])
    assert (memory.label, memory.solves_up_to.length, sorted(memory.verdicts)) == (
        "torch:lstm", 10, [5, 10, 20])


def test_entries_told_apart_at_one_length_are_memory_lengths_of_their_own():
    memories = memory_lengths([_at(5, True, hidden=8), _at(5, True, seed=1, hidden=8),
                               _at(10, False, hidden=8), _at(5, True, hidden=16),
                               _at(10, True, hidden=16)])
    assert [(m.label, m.solves_up_to.length, m.verdicts[5].seeds) for m in memories] == [
        ("torch:lstm (hidden=8)", 5, 2), ("torch:lstm (hidden=16)", 10, 1)]


def test_sweeps_differing_in_another_task_parameter_are_named_by_it():
    memories = memory_lengths([_at(5, True, params={"tokens": 4}),
                               _at(5, False, params={"tokens": 8})])
    assert [(m.label, m.task_params, bool(m.solves_up_to)) for m in memories] == [
        ("torch:lstm (tokens=4)", {"tokens": 4}, True),
        ("torch:lstm (tokens=8)", {"tokens": 8}, False)]


def _seed_remembering(seed: int, headline: float, p: float) -> RunRecord:
    from dataclasses import replace

    from harness.memory import MemoryEvidence

    record = _record(seed, headline, False, task_params={"length": 5})
    memory = MemoryEvidence(examples=512, p_value=p, margin=headline - 0.1, progress=0.1,
                            remembers=p < 0.01)
    return replace(record, accuracy=replace(record.accuracy, memory=memory))


@pytest.mark.parametrize(("ps", "said"), [
    ((3e-28, 0.79), " remembers adding at T=5 without solving it (accuracy 0.2 vs chance 0.1, "
                    "1 of 2 seeds remembers, p < 0.001); 2 seeds."),
    ((3e-28, 0.002), " remembers adding at T=5 without solving it (accuracy 0.2 vs chance 0.1, "
                     "p = 0.002); 2 seeds."),
    ((3e-28, 0.79, 0.5), ": no memory detected on adding at T=5 (accuracy 0.2 vs chance 0.1, "
                         "p = 0.79; 1 of 3 seeds remembers); 3 seeds."),
])
def test_the_answer_quotes_the_evidence_of_the_seeds_that_carry_it(ps, said):
    """A cell remembers when half its seeds do: the p-value quoted is then theirs (a seed at
    p = 0.79 beside "remembers" contradicted the rule), and a split is said."""
    from harness.answer import setting_answer_line
    from harness.sweep import setting_verdicts

    (found,) = setting_verdicts(_seed_remembering(seed, 0.2, p) for seed, p in enumerate(ps))
    assert setting_answer_line(found) == f"torch:lstm{said}"


@pytest.mark.parametrize(("p", "said"), [
    (1e-30, "p < 0.001"), (0.0123, "p = 0.012"), (0.79, "p = 0.79"), (0.9996, "p > 0.99")])
def test_a_p_value_is_never_rounded_to_a_certainty(p, said):
    from harness.answer import p_text

    assert p_text(p) == said


def test_a_memory_table_tells_a_length_not_run_from_one_whose_runs_failed():
    """Each cell's search stops at its own edge: a length another cell was run at is marked
    and the legend says what the mark means; a length whose every seed failed says so."""
    from harness.answer import memory_rows

    failed = _at(20, False, cell="torch:rnn")
    failed = RunRecord(spec=failed.spec, status="failed", run_id=failed.run_id)
    memories = memory_lengths([_at(5, True), _at(10, True), _at(20, False),
                               _at(5, True, cell="torch:rnn"), failed])
    lengths, rows, legend = memory_rows(memories)
    assert lengths == [5, 10, 20]
    assert rows == [["torch:lstm", "solved", "solved", "0", "none", "10"],
                    ["torch:rnn", "solved", "-", "failed", "none", "5"]]
    assert legend.endswith("; - not run at that length")
    assert not memory_rows(memories[:1])[2].endswith("not run at that length")
