"""What bench run shows while runs go, with and without a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from harness import progress as progress_module
from harness.progress import RunProgress
from harness.records import RunRecord
from harness.spec import RunSpec

SPEC = RunSpec(task="copy", cell="torch:lstm", task_params={"length": 5}, steps=100)


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=100), out


def test_without_a_terminal_a_run_has_plain_lines_at_most_every_interval(monkeypatch):
    console, out = _console(terminal=False)
    with RunProgress(console, runs=1) as shown:
        for step in range(1, 51):
            shown.step(SPEC, step, 0.5)
        monkeypatch.setattr(progress_module, "PLAIN_INTERVAL_S", 0.0)
        shown.step(SPEC, 51, 0.25)
        shown.finished(RunRecord(spec=SPEC, status="ok", run_id=SPEC.run_id, steps_done=100))
    lines = out.getvalue().splitlines()
    title = SPEC.title
    assert lines[0] == f"{title}: started (1 of 1)"
    assert lines[1].startswith(f"{title}: step 51/100, loss 0.25, 0:00:00 elapsed, ~0:00:00 left")
    assert lines[2] == f"{title}: ok in 0:00:00, 100 steps (1 of 1 done)"
    assert len(lines) == 3 and "\x1b" not in out.getvalue()


def test_on_a_terminal_a_finished_bar_keeps_its_wall_time():
    console, out = _console(terminal=True)
    with RunProgress(console, runs=1) as shown:
        shown.step(SPEC, 1, 0.5)
        shown.finished(RunRecord(spec=SPEC, status="ok", run_id=SPEC.run_id, steps_done=100))
        bar = shown.live.tasks[1]
        assert bar.finished and bar.stop_time is not None
    assert "100/100" in out.getvalue() and "0:00:00" in out.getvalue()


def test_runs_on_parallel_workers_are_counted_as_they_start():
    """Two workers start two runs before either finishes: the second is the 2nd of 2."""
    console, out = _console(terminal=False)
    other = RunSpec(task="copy", cell="torch:lstm", task_params={"length": 5}, steps=100, seed=1)
    with RunProgress(console, runs=2) as shown:
        shown.step(SPEC, 1, 0.5)
        shown.step(other, 1, 0.5)
    assert out.getvalue().splitlines() == [f"{SPEC.title}: started (1 of 2)",
                                           f"{other.title}: started (2 of 2)"]
