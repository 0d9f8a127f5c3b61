import json
import math
import os
import stat

import pytest

from harness.errors import UsageError
from harness.records import (
    SCHEMA_VERSION,
    Accuracy,
    EvalPoint,
    RunRecord,
    Speed,
    Stability,
    ensure_writable,
    existing_record,
    read_record,
    record_path,
    write_record,
)
from harness.spec import RunSpec

SPEC = RunSpec(task="adding", cell="torch:lstm", task_params={"length": 20}, seed=2)


def make_record(status="ok") -> RunRecord:
    accuracy = Accuracy(baseline_loss=1 / 6, headline_name="accuracy", chance=0.0784,
                        solved_criterion="MSE <= 0.01", final_loss=0.05, loss_ratio=0.3,
                        headline=0.4, curve=[EvalPoint(0, 0.0, 0.2, 1.2, 0.07)])
    return RunRecord(spec=SPEC, status=status, run_id=SPEC.run_id, steps_done=10,
                     accuracy=accuracy, speed=Speed("cpu", "fused:nn.LSTM", 100, step_ms=[1.5]),
                     stability=Stability(grad_norm_p99=0.5), environment={"python": "3.11"})


def test_record_round_trips_through_json(tmp_path):
    path = write_record(tmp_path, make_record())
    data = json.loads(path.read_text())
    assert (data["schema"], data["schema_version"]) == ("bench.run", SCHEMA_VERSION)
    assert list(data)[:2] == ["schema", "schema_version"]
    assert read_record(path) == make_record()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind


def test_existing_record_skips_finished_runs_only(tmp_path):
    assert existing_record(tmp_path, SPEC) is None
    write_record(tmp_path, make_record("failed"))
    assert existing_record(tmp_path, SPEC) is None  # a failed run is retried
    write_record(tmp_path, make_record("ok"))
    assert existing_record(tmp_path, SPEC).status == "ok"
    record_path(tmp_path, SPEC).write_text('{"schema": "bench.run", "sche')  # truncated
    with pytest.raises(UsageError, match="not a readable JSON record"):
        existing_record(tmp_path, SPEC)  # the caller must not write over it


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a readable JSON record"),
    ('{"schema": "other"}', "not a bench.run record"),
    ('{"schema": "bench.run", "schema_version": 99}', "schema_version 99 is newer"),
    ('{"schema": "bench.run", "schema_version": 1, "spec": {}}', "malformed record"),
])
def test_unreadable_records_are_named(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=message) as info:
        read_record(path)
    assert str(path) in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_directory_is_a_usage_error(tmp_path):
    tmp_path.chmod(0o500)
    with pytest.raises(UsageError, match="cannot write results to"):
        ensure_writable(tmp_path / "out")


def test_directory_under_a_file_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="cannot write results to .*file/out"):
        ensure_writable(blocker / "out")


def test_load_results_skips_and_names_unreadable_files(tmp_path):
    from harness.records import load_results

    write_record(tmp_path, make_record())
    (tmp_path / "truncated.json").write_text('{"schema": "bench.run", "sch')
    loaded = load_results(tmp_path)
    assert [r.spec for r in loaded.records] == [SPEC]
    ((path, reason),) = loaded.skipped
    assert path.name == "truncated.json" and "not a readable JSON record" in reason


def test_load_results_of_nothing_is_a_usage_error(tmp_path):
    from harness.records import load_results

    with pytest.raises(UsageError, match="no run records in"):
        load_results(tmp_path)
    with pytest.raises(UsageError, match="no such results directory"):
        load_results(tmp_path / "missing")


def _valid_data() -> dict:
    return make_record().to_dict()


@pytest.mark.parametrize("change, named", [
    ({"accuracy": {"headline": "oops"}}, "record.accuracy.headline: expected a number, got 'oops'"),
    ({"accuracy": "oops"}, "record.accuracy: expected an object (Accuracy), got 'oops'"),
    ({"spec": [1, 2]}, "record.spec: expected an object (RunSpec), got [1, 2]"),
    ({"accuracy": {"headline": {"headline": "high"}}}, "record.accuracy.headline"),
    ({"status": "banana"}, "record.status: expected one of 'ok', 'diverged', 'failed'"),
    ({"speed": {"step_ms": "abc"}}, "record.speed.step_ms: expected a list, got 'abc'"),
    ({"speed": {"step_ms": [1.0, "x"]}}, "record.speed.step_ms[1]: expected a number"),
    ({"spec": {"hidden": "8"}}, "record.spec.hidden: expected an integer, got '8'"),
    ({"spec": {"stop_when_solved": 1}}, "record.spec.stop_when_solved: expected a boolean"),
    ({"steps_done": True}, "record.steps_done: expected an integer, got True"),
    ({"environment": []}, "record.environment: expected an object, got []"),
    ({"stability": {"gradient_profile": {"initial": None}}},
     "record.stability.gradient_profile.initial: expected a list"),
    ({"surprise": 1}, "record.surprise: expected no such field"),
    ({"spec": {"task_params": {"length": [5]}}}, "record.spec.task_params.length: expected a "
     "boolean or an integer or a number or a string, got [5]"),
    ({"spec": {"task_params": {"length": None}}}, "record.spec.task_params.length: expected a "
     "boolean or an integer or a number or a string, got None"),
])
def test_wrong_shaped_records_are_named_field_by_field(tmp_path, change, named):
    data = _valid_data()
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            _merge(data[key], value)
        else:
            data[key] = value
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match="malformed record") as info:
        read_record(path)
    assert named in str(info.value) and str(path) in str(info.value)


def _merge(into: dict, change: dict) -> None:
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def test_a_missing_required_field_is_named(tmp_path):
    data = _valid_data()
    del data["spec"]["cell"]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=r"record\.spec\.cell: expected a value"):
        read_record(path)


def test_a_wrong_shaped_record_is_skipped_and_the_rest_load(tmp_path):
    from harness.records import load_results

    good = write_record(tmp_path, make_record())
    data = _valid_data()
    data["speed"]["step_ms"] = "abc"
    (tmp_path / "wrong.json").write_text(json.dumps(data))
    loaded = load_results(tmp_path)
    assert [r.spec for r in loaded.records] == [SPEC]
    assert [p.name for p, _ in loaded.skipped] == ["wrong.json"]
    assert good.exists()


def test_records_are_strict_json_and_non_finite_numbers_round_trip(tmp_path):
    record = make_record()
    record.accuracy.final_loss = float("nan")
    record.accuracy.curve[0].loss = float("inf")
    record.stability.grad_norm_max = float("-inf")
    path = write_record(tmp_path, record)

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    data = json.loads(path.read_text(), parse_constant=refuse)  # a strict reader accepts it
    assert data["accuracy"]["final_loss"] is None and data["accuracy"]["curve"][0]["loss"] is None
    back = read_record(path)
    assert back.accuracy.final_loss is None  # an optional number: null
    assert math.isnan(back.accuracy.curve[0].loss)  # a plain float: NaN, as written


def test_old_records_with_bare_nan_still_read(tmp_path):
    text = json.dumps(_valid_data(), indent=1).replace('"final_loss": 0.05', '"final_loss": NaN')
    assert "NaN" in text
    path = tmp_path / "old.json"
    path.write_text(text)
    assert math.isnan(read_record(path).accuracy.final_loss)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_records_get_the_mode_the_umask_allows(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = write_record(tmp_path, make_record())
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_records_above_the_size_limit_are_refused_unread(tmp_path, monkeypatch):
    import harness.records

    path = write_record(tmp_path, make_record())
    monkeypatch.setattr(harness.records, "MAX_RECORD_BYTES", path.stat().st_size - 1)
    with pytest.raises(UsageError, match="larger than any run record"):
        read_record(path)


def test_a_failed_write_leaves_the_earlier_record_whole(tmp_path):
    """Written to a temporary file and renamed: an error mid-write never truncates the file
    already there (nor leaves a temporary)."""
    path = write_record(tmp_path, make_record())
    before = path.read_bytes()
    broken = make_record()
    broken.environment = {"python": "3.11", "unserialisable": object()}
    with pytest.raises(TypeError):
        write_record(tmp_path, broken)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_set_aside_never_overwrites(tmp_path):
    from harness.records import set_aside

    first, second = tmp_path / "r.json", tmp_path / "r.json"
    first.write_text("one")
    assert set_aside(first).name == "r.json.unreadable"
    second.write_text("two")
    assert set_aside(second).name == "r.json.unreadable-1"
    assert (tmp_path / "r.json.unreadable").read_text() == "one"


@pytest.mark.parametrize("params", [{"name": "a/b"}, {"name": "../../../escaped"},
                                    {"name": "x\\y\x00z"}])
def test_file_names_cannot_leave_the_output_directory(tmp_path, params):
    spec = RunSpec(task="adding", cell="torch:lstm", task_params=params)
    path = write_record(tmp_path, make_record().__class__(spec=spec, status="ok",
                                                          run_id=spec.run_id))
    assert path.parent == tmp_path and path.name.endswith(f"{spec.run_id}.json")
    assert read_record(path).spec == spec


def test_set_aside_gives_up_rather_than_overwrite_1000_copies(tmp_path):
    from harness.records import set_aside

    path = tmp_path / "r.json"
    (tmp_path / "r.json.unreadable").write_text("0")
    for number in range(1, 1000):
        (tmp_path / f"r.json.unreadable-{number}").write_text(str(number))
    path.write_text("new")
    with pytest.raises(UsageError, match=f"{path}: cannot set it aside, 1000 earlier copies "
                                         "are in the way"):
        set_aside(path)
    assert path.read_text() == "new"


@pytest.mark.parametrize("cell", ["", "lstm", ":lstm", "torch:"])
def test_a_record_whose_cell_is_not_backend_colon_cell_is_named_and_refused(tmp_path, cell):
    path = write_record(tmp_path, RunRecord(spec=RunSpec(task="copy", cell="torch:lstm"),
                                            status="ok", run_id="x"))
    data = json.loads(path.read_text())
    data["spec"]["cell"] = cell
    path.write_text(json.dumps(data))
    with pytest.raises(UsageError, match=r"record\.spec\.cell: expected 'backend:cell'"):
        read_record(path)
