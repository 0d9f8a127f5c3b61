"""Ctrl-C and SIGTERM during a sweep on a local Dask cluster: a real ``bench run``, output
piped as in a CI log. As with the process executor, the runs stop (before their next step),
the records of finished runs are kept, bench's own line is all it says (no Dask log line),
it exits 130 and leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import psutil
import pytest

from tests.conftest import BENCH
from tests.helpers import TINY_RUN, wait_for, written_records

SWEEP = ["run", "--task", "copy", "--cells", "torch:rnn,torch:lstm", "--length", "5",
         "--seeds", "0,1", "--steps", "3000", "--no-early-stop", *TINY_RUN,
         "--executor", "dask", "--workers", "2"]
RUNS = 4
WALL_TIME = r"(\d\.\d s|\d+:\d\d:\d\d)"
PROGRESS_LINE = re.compile(r"torch:(rnn|lstm) length=5 seed [01]: (started \([1-4] of 4\)|"
                           rf"ok in {WALL_TIME}, 3000 steps \([1-4] of 4 done\))")


def _stop(process: subprocess.Popen, how: str) -> None:
    """Ctrl-C in a terminal reaches the whole process group, the workers too; a CI runner's
    cancel (SIGTERM) only bench; a second Ctrl-C follows the first before the runs stop."""
    if how == "SIGTERM":
        process.send_signal(signal.SIGTERM)
        return
    os.killpg(process.pid, signal.SIGINT)
    if how == "two Ctrl-C":
        time.sleep(0.005)
        os.killpg(process.pid, signal.SIGINT)


@pytest.mark.parametrize("how", ["Ctrl-C", "SIGTERM", "two Ctrl-C"])
def test_a_dask_sweep_stops_quietly_keeps_finished_records_and_leaves_no_process(tmp_path, how):
    out, err = tmp_path / "out", tmp_path / "stderr"
    with open(err, "w") as stderr:
        process = subprocess.Popen(
            [BENCH, *SWEEP, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=stderr,
            env={**os.environ, "BENCH_PLUGINS": "tasks,torch", "COLUMNS": "80"},
            start_new_session=True)  # a process group of its own, as in a terminal
    try:
        bench = psutil.Process(process.pid)
        # the first run is in; the others train, or are about to
        wait_for(lambda: written_records(out) or process.poll() is not None)
        assert process.poll() is None, err.read_text()
        helpers = bench.children(recursive=True)  # the workers, multiprocessing's tracker
        _stop(process, how)
        code = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    lines = err.read_text().splitlines()
    assert code == 130, lines
    # no Dask log line (a task cut short, a worker killed after its nanny's 4 s), no traceback
    assert [line for line in lines if " - distributed." in line or "Traceback" in line] == []
    # bench's line, after its progress lines: each run's start, and its end with its wall time
    assert lines[-1].startswith("bench: interrupted; the records of finished runs are kept")
    assert [line for line in lines[:-1] if not PROGRESS_LINE.fullmatch(line)] == []
    records = written_records(out)
    assert 1 <= len(records) < RUNS and all(r["status"] == "ok" for r in records)
    finished = [line for line in lines if ": ok in " in line]
    # (a second Ctrl-C may come between a record's writing and its line)
    assert len(records) - (how == "two Ctrl-C") <= len(finished) <= len(records)
    for line in finished:  # each run that finished was seen to start
        assert f"{line.split(': ok in ')[0]}: started (" in "\n".join(lines)
    assert len(helpers) >= 3
    assert [p for p in helpers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
