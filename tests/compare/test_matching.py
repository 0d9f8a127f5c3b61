import pytest

from harness.compare.matching import load_side, match, pair_rounds
from harness.errors import UsageError
from harness.records import write_record

from .records import make_record


def test_runs_match_by_spec_and_one_sided_runs_are_kept():
    baseline = [make_record(seed=0), make_record(seed=1), make_record("torch:gru")]
    current = [make_record(seed=0), make_record(seed=1), make_record("torch:rnn")]
    matching = match(baseline, current)
    assert [(r.spec.cell, r.spec.seed) for r in matching.runs] == [("torch:lstm", 0),
                                                                    ("torch:lstm", 1)]
    assert [s.cell for s in matching.only_baseline] == ["torch:gru"]
    assert [s.cell for s in matching.only_current] == ["torch:rnn"]


def test_repeats_of_a_run_are_grouped():
    matching = match([make_record()] * 3, [make_record()] * 2)
    (run,) = matching.runs
    assert (len(run.baseline), len(run.current)) == (3, 2)


def test_nothing_in_common_names_how_the_specs_differ():
    with pytest.raises(UsageError, match=r"nothing to compare: .* differ in task "
                       r"\(baseline: adding; current: copy\)"):
        match([make_record(task="adding")], [make_record(task="copy")])


def test_different_schema_versions_are_refused():
    with pytest.raises(UsageError, match=r"different schema versions \(baseline: 0; current: 1\)"):
        match([make_record(schema_version=0)], [make_record()])


def test_an_unreadable_file_is_an_error_not_a_missing_run(tmp_path):
    write_record(tmp_path, make_record())
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(UsageError, match=r"baseline '.*' has unreadable records: .*broken.json"):
        load_side(tmp_path, "baseline")


def rounds(*starts: str):
    return [make_record(started_at=f"2026-01-01T00:00:{s}") for s in starts]


def test_interleaved_rounds_pair_in_time_order():
    (run,) = match(rounds("00", "20"), rounds("30", "10")).runs
    assert [(a.started_at[-2:], b.started_at[-2:]) for a, b in pair_rounds(run)] == [
        ("00", "10"), ("20", "30")]


@pytest.mark.parametrize("old, new, message", [
    (("00", "10"), ("20", "30"), "were not run alternately"),
    (("00",), ("10",), "at least 2"),
    (("00", "20"), ("10",), "same number"),
])
def test_rounds_that_are_not_interleaved_are_refused(old, new, message):
    (run,) = match(rounds(*old), rounds(*new)).runs
    with pytest.raises(UsageError, match=message):
        pair_rounds(run)
