import json
import os

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
    assert existing_record(tmp_path, SPEC) is None


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
