"""bench run under bad input and faults: nothing a user feeds it breaks it, and nothing it
computed is lost (issue #14)."""

import json
import os
import resource
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness.cli import build_parser, main
from harness.records import PROBE_BYTES, SCHEMA_VERSION
from tests.conftest import BENCH
from tests.helpers import TINY_RUN
from tests.toyplugins import FAILING_STEP

RUN = ["run", "--task", "adding", "--cells", "torch:rnn", "--length", "4", "--steps", "5",
       *TINY_RUN]


def _one_record(out):
    (path,) = out.glob("*.json")
    return path


@pytest.mark.parametrize("content", [
    '{"schema": "bench.run", "schema_ver',  # truncated
    "not json at all",
    json.dumps({"schema": "bench.run", "schema_version": SCHEMA_VERSION + 1, "new": "data"}),
    "WRONG-SHAPE",
])
def test_resume_never_overwrites_what_it_cannot_read(tmp_path, capsys, host, content):
    out = tmp_path / "out"
    assert main([*RUN, "--out", str(out)]) == 0
    path = _one_record(out)
    if content == "WRONG-SHAPE":
        data = json.loads(path.read_text())
        data["accuracy"]["headline"] = {"headline": "high"}
        content = json.dumps(data)
    path.write_text(content)
    capsys.readouterr()

    assert main([*RUN, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    kept = out / (path.name + ".unreadable")
    assert kept.read_text() == content  # kept, byte for byte
    assert f"kept it as {kept.name} and will run it again" in err and str(path) in err
    assert err.startswith("bench: warning: ")
    assert json.loads(path.read_text())["status"] == "ok"  # and the run was done again


def test_a_wrong_shaped_record_is_skipped_by_report_and_refused_by_compare(tmp_path, capsys,
                                                                           host):
    out = tmp_path / "out"
    assert main([*RUN, "--seeds", "0,1", "--out", str(out)]) == 0
    first = sorted(out.glob("*.json"))[0]
    data = json.loads(first.read_text())
    data["speed"]["step_ms"] = "abc"
    first.write_text(json.dumps(data))
    capsys.readouterr()

    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "record.speed.step_ms: expected a list" in captured.err
    assert "1 unreadable file skipped" in captured.out

    shutil.copytree(out, tmp_path / "again")
    assert main(["compare", str(tmp_path / "again"), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has unreadable records" in err and first.name in err


def _bench_with_file_size_limit(limit: int, *args: str) -> subprocess.CompletedProcess:
    """A file-size limit (RLIMIT_FSIZE) makes every write past it fail (EFBIG), as a full
    disk makes them fail (ENOSPC): a real failing write, without filling a disk."""

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([BENCH, *args], capture_output=True, text=True,
                          preexec_fn=limit_file_size,
                          env={"BENCH_PLUGINS": "tasks,torch", "PATH": "/usr/bin:/bin",
                               "PYTHONDONTWRITEBYTECODE": "1"})  # no truncated .pyc files


def test_the_writability_check_writes_data_not_an_empty_file(tmp_path):
    out = tmp_path / "out"
    result = _bench_with_file_size_limit(PROBE_BYTES - 1, *RUN, "--out", str(out))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == f"bench: error: cannot write results to '{out}': File too large\n"
    assert list(out.iterdir()) == []


def test_a_full_disk_stops_the_sweep_with_exit_1_and_keeps_what_was_written(tmp_path):
    out = tmp_path / "out"
    small = subprocess.run([BENCH, *RUN, "--out", str(out)], capture_output=True, text=True)
    assert small.returncode == 0, small.stderr
    earlier = _one_record(out)
    before = earlier.read_bytes()
    limit = 2 * PROBE_BYTES
    assert len(before) < limit
    # an evaluation every step makes this record larger than the limit
    big = _bench_with_file_size_limit(limit, *RUN, "--seeds", "1", "--steps", "200",
                                      "--eval-every", "1", "--out", str(out))
    assert big.returncode == 1, big.stderr
    assert "Traceback" not in big.stderr
    assert "bench: error: cannot write the record of torch:rnn length=4 seed 1" in big.stderr
    assert "File too large; stopped. The 0 records this run wrote before it are intact" \
        in big.stderr
    assert earlier.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [earlier.name]  # no temporary left


def test_empty_out_is_a_usage_error(tmp_path, capsys, host, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*RUN, "--out", ""]) == 2
    assert "argument --out: must name a directory, got an empty string" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, message", [
    (["check", "torch:rnn"], "bench check: error: unrecognized arguments: torch:rnn (cells are "
                             "given with --cells, e.g. --cells torch:rnn)"),
    (["run", "--task", "copy", "--bogus"], "bench run: error: unrecognized arguments: --bogus"),
    (["list", "extra"], "bench list: error: unrecognized arguments: extra"),
    (["run", "--task", "copy", "--cells", "torch:rnn", "--lengths", "5", "10"],
     "bench run: error: unrecognized arguments: 10"),  # not a cell: no hint about --cells
    (["--bogus"], "bench: error: unrecognized arguments: --bogus"),
])
def test_an_unrecognized_argument_names_its_command_once(capsys, host, argv, message):
    assert main(argv) == 2
    assert capsys.readouterr().err == f"{message}\n"


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "soon", "99999999999999999999999"])
def test_bad_timeouts_are_usage_errors(tmp_path, capsys, host, value):
    assert main([*RUN, "--timeout", value, "--out", str(tmp_path / "out")]) == 2
    assert "argument --timeout: must be a positive number of seconds" in capsys.readouterr().err


def test_a_run_that_fails_mid_training_records_its_steps_and_shows_why(tmp_path, capsys,
                                                                        toy_host):
    out = tmp_path / "out"
    code = main(["run", "--task", "echo", "--cells", "flaky", "--length", "5", "--steps", "20",
                 "--out", str(out), *TINY_RUN])
    assert code == 1
    record = json.loads(_one_record(out).read_text())
    assert record["status"] == "failed" and record["steps_done"] == FAILING_STEP - 1
    reason = (f"failed after {FAILING_STEP - 1} steps: RuntimeError: forward failed at "
              f"training step {FAILING_STEP}")
    table = capsys.readouterr().out
    assert "failed (1)" in table and f"(1) {reason}" in table  # a note under the table

    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert f"| {reason} |" in summary
    assert reason in (tmp_path / "report" / "report.html").read_text()


def test_a_forced_rerun_that_fails_keeps_the_earlier_record(tmp_path, capsys, host):
    out = tmp_path / "out"
    assert main([*RUN, "--out", str(out)]) == 0
    earlier = _one_record(out).read_text()
    answer = capsys.readouterr().out.splitlines()[-1]
    assert main([*RUN, "--out", str(out), "--force", "--timeout", "0.001"]) == 1
    rerun_out, err = capsys.readouterr()
    assert any(line.startswith("bench: warning: ")
               and "the rerun failed after 0 steps: RunTimeout" in line
               and line.endswith("the earlier record is kept") for line in err.splitlines())
    assert _one_record(out).read_text() == earlier
    # what it prints is what it kept: the earlier run's table row and answer
    assert rerun_out.splitlines()[-1] == answer and "failed" not in rerun_out


def test_a_run_over_its_time_limit_is_failed_and_the_sweep_goes_on(tmp_path, toy_host):
    out = tmp_path / "out"
    code = main(["run", "--task", "echo", "--cells", "hang", "--length", "5", "--seeds", "0,1",
                 "--steps", "5",
                 "--timeout", "0.5", "--out", str(out), *TINY_RUN])
    assert code == 1
    records = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert sorted(r["spec"]["seed"] for r in records) == [0, 1]  # the second run still ran
    for record in records:
        assert record["status"] == "failed"
        assert record["error"].startswith("RunTimeout: the run took longer than --timeout "
                                          "0.5 s and was stopped")


def test_an_embedded_null_byte_in_out_is_a_usage_error(tmp_path, capsys, host):
    assert main([*RUN, "--out", str(tmp_path / "nul\x00byte")]) == 2
    assert "cannot write results to" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_two_benches_on_one_out_compute_each_run_once(tmp_path):
    out = tmp_path / "out"
    run = [BENCH, *RUN, "--steps", "2000", "--eval-every", "1000", "--out", str(out)]
    env = {**os.environ, "BENCH_PLUGINS": "tasks,torch"}
    first = subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    deadline = time.monotonic() + 120
    while not list(out.glob(".*.claim")) and first.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = subprocess.run(run, capture_output=True, text=True, env=env)
    first_err = first.communicate()[1]
    assert first.returncode == 0 and second.returncode == 0, first_err + second.stderr
    if "being run by another bench" not in second.stderr:  # the first was already done
        assert "already recorded, skipped" in second.stderr
    record = json.loads(_one_record(out).read_text())
    assert record["steps_done"] == 2000
    assert not list(out.glob(".*.claim"))  # every claim released


def test_ctrl_c_while_waiting_for_another_benchs_run_ends_the_command(tmp_path, host):
    """The wait for a run another bench holds can last as long as that run: Ctrl-C ends it
    as it ends a run (exit 130, one line), not after the other bench finishes."""
    import signal

    from harness.claims import _started, claim_path
    from harness.commands.run import build_specs

    out = tmp_path / "out"
    out.mkdir()
    (spec,) = build_specs(build_parser().parse_args([*RUN, "--out", str(out)]),
                          host.registry)
    other = subprocess.Popen(["sleep", "120"])
    try:
        claim_path(out, spec).write_text(
            f"{other.pid}:{_started(other.pid)}@{socket.gethostname()}")
        waiting = subprocess.Popen([BENCH, *RUN, "--out", str(out)], stderr=subprocess.PIPE,
                                   text=True, env={**os.environ, "BENCH_PLUGINS": "tasks,torch",
                                                   "COLUMNS": "80"})  # the line stays whole
        assert "being run by another bench" in waiting.stderr.readline()
        waiting.send_signal(signal.SIGINT)
        assert waiting.wait(timeout=30) == 130
        assert waiting.stderr.read() == (
            f"bench: interrupted; the records of finished runs are kept in {out}/, and the "
            "same command run again goes on from them\n")
    finally:
        other.kill()
        other.wait()
    assert not list(out.glob("*.json"))


def test_a_stale_claim_of_a_dead_process_is_taken_over(tmp_path, capsys, host):
    from harness.claims import claim_path
    from harness.commands.run import build_specs

    out = tmp_path / "out"
    out.mkdir()
    (spec,) = build_specs(build_parser().parse_args([*RUN, "--out", str(out)]),
                          host.registry)
    claim_path(out, spec).write_text(f"{_dead_pid()}@{socket.gethostname()}")
    assert main([*RUN, "--out", str(out)]) == 0
    assert "being run by another bench" not in capsys.readouterr().err
    assert json.loads(_one_record(out).read_text())["status"] == "ok"
    assert not claim_path(out, spec).exists()


@pytest.mark.skipif(not Path("/proc/1/stat").exists(), reason="needs Linux's /proc")
def test_a_claim_whose_pid_another_process_has_now_is_taken_over(tmp_path, capsys, host):
    """The pid of a bench that died can be a live process's by the time a bench looks (a
    thread of the next bench had it, which then waited forever on its own run)."""
    from harness.claims import claim_path, holder
    from harness.commands.run import build_specs

    out = tmp_path / "out"
    out.mkdir()
    (spec,) = build_specs(build_parser().parse_args([*RUN, "--out", str(out)]),
                          host.registry)
    alive = os.getpid()  # alive, but not since the start the claim names
    claim_path(out, spec).write_text(f"{alive}:1@{socket.gethostname()}")
    assert holder(out, spec) is None  # (else the run below waits for it forever)
    assert main([*RUN, "--out", str(out)]) == 0
    assert "being run by another bench" not in capsys.readouterr().err
    assert json.loads(_one_record(out).read_text())["status"] == "ok"


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid
