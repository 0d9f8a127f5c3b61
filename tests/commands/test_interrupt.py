"""Ctrl-C and SIGTERM: the records of finished runs are kept, workers stop quietly, exit 130,
and no process is left behind. Real ``bench run`` processes, signalled while they train."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from harness import stopping
from harness.runner import execute
from harness.spec import RunSpec
from tests.conftest import BENCH
from tests.helpers import TINY_RUN, wait_for, written_records

SWEEP = ["run", "--task", "copy", "--cells", "torch:lstm", "--length", "5", "--steps", "3000",
         "--seeds", "0,1,2,3", "--no-early-stop", *TINY_RUN]


def _start(out: Path, *extra: str) -> subprocess.Popen:
    """In a session of its own, so that a signal can go to its whole process group, as
    Ctrl-C in a terminal does."""
    return subprocess.Popen([BENCH, *SWEEP, "--out", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "BENCH_PLUGINS": "tasks,torch"},
                            start_new_session=True)


def _stop(process: subprocess.Popen, sig: signal.Signals) -> tuple[int, str]:
    """Ctrl-C reaches the whole process group; SIGTERM (a CI runner's cancel) only bench."""
    if sig == signal.SIGINT:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_local_sweep_keeps_finished_records_and_exits_130(tmp_path, sig):
    process = _start(tmp_path, "--steps", "40")
    wait_for(lambda: len(written_records(tmp_path)) >= 1)
    code, stderr = _stop(process, sig)
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.endswith(f"bench: interrupted; the records of finished runs are kept in "
                           f"{tmp_path}/, and the same command run again goes on from them\n")
    records = written_records(tmp_path)
    assert 1 <= len(records) < 4 and all(r["status"] == "ok" for r in records)
    assert not list(tmp_path.glob("*.tmp*"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_process_pool_stops_its_workers_quietly_and_leaves_none(tmp_path, sig):
    process = _start(tmp_path, "--executor", "process", "--workers", "2", "--steps", "1000")
    bench = psutil.Process(process.pid)
    wait_for(lambda: len(bench.children()) >= 2)
    time.sleep(4)  # the workers import torch and start training
    workers = bench.children(recursive=True)
    code, stderr = _stop(process, sig)
    assert code == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    wait_for(lambda: not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE
                              for w in workers), timeout=10)
    records = written_records(tmp_path)
    assert len(records) < 4 and all(r["status"] == "ok" for r in records)


def test_process_pool_leaves_no_process_after_a_normal_exit(tmp_path):
    process = subprocess.Popen([BENCH, "run", "--task", "copy", "--cells", "torch:lstm",
                                "--length", "5", "--steps", "5", "--seeds", "0,1",
                                "--executor", "process", "--workers", "2", "--out",
                                str(tmp_path), *TINY_RUN], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "BENCH_PLUGINS": "tasks,torch"})
    bench = psutil.Process(process.pid)
    # two workers and multiprocessing's resource tracker
    wait_for(lambda: len(bench.children()) >= 3 or process.poll() is not None)
    workers = bench.children(recursive=True)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert workers
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)


def test_a_run_past_its_last_step_is_finished_when_asked_to_stop(registry):
    spec = RunSpec(task="copy", cell="torch:lstm", task_params={"length": 5}, hidden=8,
                   batch=8, steps=6, eval_every=3, eval_size=16, device="cpu")

    def stop_at(last: int):
        def progress(step: int, loss: float) -> None:
            if step == last:
                stopping.request()
        return progress

    with stopping.graceful():
        record = execute(spec, registry, progress=stop_at(6))
    assert record.status == "ok" and record.steps_done == 6
    with stopping.graceful(), pytest.raises(stopping.RunInterrupted):
        execute(spec, registry, progress=stop_at(3))


@pytest.mark.parametrize("command", [["check", "--backend", "torch"], ["parity"]])
def test_a_command_that_keeps_no_records_says_only_that_it_was_interrupted(command):
    """Its line promised records kept and a resumable command, which a check has not."""
    process = subprocess.Popen([BENCH, *command], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    bench = psutil.Process(process.pid)
    wait_for(lambda: bench.cpu_times().user > 1.0 or process.poll() is not None)  # at work
    assert process.poll() is None
    code, stderr = _stop(process, signal.SIGINT)
    assert (code, stderr.splitlines()[-1:]) == (130, ["bench: interrupted"]), stderr
    assert "Traceback" not in stderr
