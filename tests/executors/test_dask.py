"""The dask executor against real clusters on loopback: a LocalCluster, and a scheduler and
worker started as separate ``dask`` processes as on a real cluster."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest
from distributed import Client

from harness.errors import UsageError
from harness.executors import ExecutorOptions
from harness.executors.builtin import _dask
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


def run_all(executor: DaskExecutor, todo) -> list[RunRecord]:
    try:
        return list(executor.run(todo))
    finally:
        executor.close()


@pytest.mark.usefixtures("entry_point_plugins")
def test_local_cluster_gives_the_local_records(local_records):
    records = run_all(DaskExecutor(ExecutorOptions(workers=2)), SWEEP)
    assert sorted(r.run_id for r in records) == sorted(local_records)
    for record in records:
        assert_same_apart_from_timings(record, local_records[record.run_id])


def _start(tmp_path: Path, *args: str) -> subprocess.Popen:
    with open(tmp_path / f"{args[0]}.log", "w") as log:
        return subprocess.Popen([DASK, *args], stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "BENCH_PLUGINS": "tasks,torch"},
                                start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    """Stop the process and its children (a worker's nanny has one), by session."""
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
    records = [RunRecord.from_dict(r) for r in json.loads(result.stdout)]
    assert [r.run_id for r in records] == list(local_records)
    for record in records:
        assert_same_apart_from_timings(record, local_records[record.run_id])
    assert len(list((tmp_path / "out").glob("*.json"))) == 4


@pytest.mark.usefixtures("entry_point_plugins")
def test_a_killed_worker_loses_no_record():
    todo = specs("torch:rnn", "torch:lstm", seeds=(0, 1, 2))
    executor = DaskExecutor(ExecutorOptions(workers=2))
    records, lost = [], []
    try:
        for record in executor.run(todo):
            if not records:  # kill a worker that holds runs, as soon as one run is in
                victim, lost = next((worker, keys) for worker, keys in
                                    executor.client.processing().items() if keys)
                pid = executor.client.run(os.getpid, workers=[victim])[victim]
                os.kill(pid, signal.SIGKILL)
            records.append(record)
    finally:
        executor.close()
    assert lost
    assert sorted(r.run_id for r in records) == sorted(s.run_id for s in todo)
    assert [r.status for r in records] == ["ok"] * len(todo)  # the scheduler resubmitted them


@pytest.mark.usefixtures("crashing_cell")
def test_a_run_that_keeps_killing_its_worker_is_failed():
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        executor = DaskExecutor(ExecutorOptions(workers=2))
    records = run_all(executor, specs("torch:crash", "torch:rnn"))
    by_cell = {}
    for record in records:
        by_cell.setdefault(record.spec.cell, []).append(record)
    assert [r.status for r in by_cell["torch:rnn"]] == ["ok", "ok"]
    for record in by_cell["torch:crash"]:
        assert record.status == "failed"
        assert record.error.startswith("KilledWorker: Attempted to run task 'bench-")


def test_unreachable_scheduler_is_a_one_line_usage_error(bench, tmp_path):
    result = bench("run", *SWEEP_ARGS, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9",
                   "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("bench: error: cannot reach a Dask scheduler at tcp://127.0.0.1:9: ")


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


def test_bad_options_are_usage_errors():
    with pytest.raises(UsageError, match="--workers must be at least 1, got 0"):
        DaskExecutor(ExecutorOptions(workers=0))
    with pytest.raises(UsageError, match="the cluster at --scheduler has its own workers"):
        DaskExecutor(ExecutorOptions(workers=2, scheduler="tcp://127.0.0.1:9"))


def test_without_dask_the_executor_says_how_to_install_it(monkeypatch):
    monkeypatch.delitem(sys.modules, "harness.executors.dask")
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(UsageError) as error:
        _dask(ExecutorOptions())
    assert str(error.value) == ("the dask executor needs Dask: "
                                "pip install 'bench-harness[dask]'")
