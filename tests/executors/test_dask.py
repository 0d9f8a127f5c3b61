"""The dask executor against real clusters on loopback: a LocalCluster, and a scheduler and
worker started as separate ``dask`` processes as on a real cluster."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import numpy as np
import pytest
from distributed import Client

from harness.builtin_executors import start_dask
from harness.cli import main
from harness.errors import UsageError
from harness.execution import ExecutorOptions
from harness.executors.dask import CONNECT_TIMEOUT, DaskExecutor
from harness.records import RunRecord
from harness.runner import execute
from tests.executors.test_executors import (  # noqa: F401 (two fixtures, used by name)
    assert_same_apart_from_timings,
    crashing_cell,
    entry_point_plugins,
    specs,
)
from tests.helpers import TINY_RUN, make_host

DASK = str(Path(sys.executable).with_name("dask"))
SWEEP = specs("torch:rnn", "torch:lstm")
SWEEP_ARGS = ["--task", "adding", "--cells", "rnn,lstm", "--length", "5", "--seeds", "0,1",
              "--steps", "10", *TINY_RUN]
"""``bench run`` options that give exactly SWEEP."""


@pytest.fixture(scope="module")
def local_records() -> dict[str, RunRecord]:
    registry = make_host("tasks", "torch").registry
    return {spec.run_id: execute(spec, registry) for spec in SWEEP}


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskExecutor]:
    """One LocalCluster of two workers, shared: starting one and importing torch in its
    workers is most of these tests' time. Workers find the plugins by entry points."""
    with pytest.MonkeyPatch.context() as patch:  # also for workers the nanny restarts
        patch.setenv("BENCH_PLUGINS", "tasks,torch")
        executor = DaskExecutor(ExecutorOptions(workers=2))
        yield executor
        executor.close()


def test_local_cluster_gives_the_local_records(cluster, local_records):
    records = list(cluster.run(SWEEP))
    assert sorted(r.run_id for r in records) == sorted(local_records)
    for record in records:
        assert_same_apart_from_timings(record, local_records[record.run_id])


def test_local_cluster_reports_each_runs_steps_before_its_record(cluster):
    """So that bench run shows when each run starts and its wall time, as with the process
    executor: the workers report that a run began (step 0, no loss yet), its first step,
    then at most every PROGRESS_INTERVAL_S."""
    seen: list[tuple[str, str, int]] = []  # (what, run id, step)

    def on_step(spec, step, loss):
        assert np.isfinite(loss) == (step > 0)
        seen.append(("step", spec.run_id, step))

    for record in cluster.run(SWEEP, on_step=on_step):
        seen.append(("record", record.run_id, record.steps_done))
    for spec in SWEEP:
        events = [(what, step) for what, run_id, step in seen if run_id == spec.run_id]
        steps = [step for what, step in events[:-1]]
        assert events[-1] == ("record", spec.steps)  # every step reported came before it
        assert steps[:2] == [0, 1] and steps == sorted(steps) and steps[-1] <= spec.steps


def test_a_killed_worker_loses_no_record(cluster):
    todo = specs("torch:rnn", "torch:lstm", seeds=(0, 1, 2))
    records, lost = [], []
    for record in cluster.run(todo):
        if not records:  # as soon as one run is in, kill a worker that holds runs
            victim, lost = next((worker, keys) for worker, keys in
                                cluster.client.processing().items() if keys)
            pid = cluster.client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)
        records.append(record)
    assert lost
    assert sorted(r.run_id for r in records) == sorted(s.run_id for s in todo)
    assert [r.status for r in records] == ["ok"] * len(todo)  # the scheduler resubmitted them


@pytest.mark.usefixtures("entry_point_plugins")
def test_closing_on_runs_left_logs_no_dask_warning_about_what_its_workers_held(caplog):
    """A second Ctrl-C closes the cluster on runs left: bench kills the workers. A result
    still wanted when they die (here one the test holds; at a second Ctrl-C, a record whose
    release is still on its way to the scheduler) is abandoned on purpose, not news."""
    executor = DaskExecutor(ExecutorOptions(workers=1))
    try:
        runs = executor.run(specs("torch:rnn", seeds=(0, 1, 2)))
        next(runs)  # one record in, the others left
        held = executor.client.submit(sum, [1, 2])
        assert held.result() == 3
    finally:
        executor.close()
    assert [r.getMessage() for r in caplog.records
            if r.name.startswith("distributed") and r.levelno >= logging.WARNING] == []
    assert logging.getLogger("distributed.scheduler").filters == []  # only while closing


@pytest.mark.usefixtures("crashing_cell")
def test_a_run_that_keeps_killing_its_worker_is_failed():
    # allowed-failures 0: the run fails with the first worker it kills, not the fourth. It
    # goes first, and worker-saturation 1 has the scheduler hold the others back (the runs
    # outnumber twice the threads), so that the worker dies holding no other run.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.scheduler.worker-saturation": 1.0}):
        executor = DaskExecutor(ExecutorOptions(workers=1))
    scratch = Path(executor.scratch.name)
    try:
        records = list(executor.run(specs("torch:crash", seeds=(0,)) + specs("torch:rnn")))
        assert any(scratch.iterdir())  # the workers' scratch files are in bench's directory
    finally:
        executor.close()
    assert not scratch.exists()  # and it is gone with the cluster
    assert sorted((r.spec.cell, r.status) for r in records) == [
        ("torch:crash", "failed"), ("torch:rnn", "ok"), ("torch:rnn", "ok")]
    (crashed,) = (r for r in records if r.status == "failed")
    assert crashed.error.startswith("KilledWorker: Attempted to run task 'bench-")


def _start(tmp_path: Path, *args: str) -> subprocess.Popen:
    with open(tmp_path / f"{args[0]}.log", "w") as log:
        return subprocess.Popen([DASK, *args], stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "BENCH_PLUGINS": "tasks,torch"},
                                start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    """Stop the process and its children (a worker's nanny has one): its whole session."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


@pytest.fixture
def scheduler(tmp_path) -> Iterator[str]:
    """A scheduler and one worker, each a ``dask`` process of its own; yields the address."""
    file = str(tmp_path / "scheduler.json")
    processes = []
    try:
        processes.append(_start(tmp_path, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                "--scheduler-file", file, "--no-dashboard"))
        processes.append(_start(tmp_path, "worker", "--scheduler-file", file, "--nthreads",
                                "1", "--no-dashboard"))
        deadline = time.monotonic() + 60  # Client would wait for the file forever
        while not os.path.exists(file):
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        with Client(scheduler_file=file, timeout="60s", set_as_default=False) as client:
            client.wait_for_workers(1, timeout=60)
            address = client.scheduler.address
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def test_run_command_on_a_separate_scheduler_and_worker(bench, scheduler, tmp_path,
                                                        local_records):
    result = bench("run", *SWEEP_ARGS, "--executor", "dask", "--scheduler", scheduler,
                   "--out", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    records = [RunRecord.from_dict(r) for r in json.loads(result.stdout)["records"]]
    assert [r.run_id for r in records] == list(local_records)
    for record in records:
        assert_same_apart_from_timings(record, local_records[record.run_id])
    assert len(list((tmp_path / "out").glob("*.json"))) == 4


@pytest.mark.parametrize("args, message", [
    (["--scheduler", "tcp://127.0.0.1:9"], "cannot reach a Dask scheduler at tcp://127.0.0.1:9: "),
    (["--workers", "0"], "--workers must be at least 1, got 0"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:9"],
     "the cluster at --scheduler has its own workers"),
])
def test_bad_input_is_one_line_and_exit_2_in_seconds(args, message, tmp_path, capsys, host):
    start = time.monotonic()
    code = main(["run", *SWEEP_ARGS, "--executor", "dask", *args, "--out", str(tmp_path)])
    assert time.monotonic() - start < 15
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("bench: error: ")
    assert message in err


@pytest.fixture
def http_server() -> Iterator[str]:
    """A loopback server that is not Dask's and never answers its handshake."""
    process = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind",
                                "127.0.0.1"], stdout=subprocess.PIPE, text=True)
    try:
        port = process.stdout.readline().split(" port ")[1].split()[0]
        yield f"tcp://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait()


def test_a_server_that_is_not_a_scheduler_fails_in_time(http_server):
    start = time.monotonic()
    with pytest.raises(UsageError, match=f"cannot reach a Dask scheduler at {http_server}: "
                       f"no answer in {CONNECT_TIMEOUT:g} s$"):
        DaskExecutor(ExecutorOptions(scheduler=http_server))
    assert time.monotonic() - start < CONNECT_TIMEOUT + 5


@pytest.fixture
def garbage_server() -> Iterator[str]:
    """A loopback server that answers every connection with bytes that are no Dask message
    (a Dask client once read them as a frame length and tried to allocate 2.82 EiB)."""
    script = ("import socket\n"
              "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
              "print(s.getsockname()[1], flush=True)\n"
              "kept = []\n"
              "while True:\n"
              "    c, _ = s.accept(); c.sendall(b'\\xff' * 64); kept.append(c)\n")
    process = subprocess.Popen([sys.executable, "-u", "-c", script], stdout=subprocess.PIPE,
                               text=True)
    try:
        yield f"tcp://127.0.0.1:{process.stdout.readline().strip()}"
    finally:
        process.kill()
        process.wait()


def test_a_server_that_answers_garbage_is_named_as_not_dask(garbage_server):
    with pytest.raises(UsageError) as error:
        DaskExecutor(ExecutorOptions(scheduler=garbage_server))
    assert str(error.value) == (f"cannot reach a Dask scheduler at {garbage_server}: the server "
                                "there does not speak Dask's protocol")


def test_without_dask_the_executor_says_how_to_install_it(monkeypatch):
    monkeypatch.delitem(sys.modules, "harness.executors.dask")
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(UsageError) as error:
        start_dask(ExecutorOptions())
    assert str(error.value) == ("the dask executor needs Dask: "
                                "pip install 'bench-harness[dask]'")
