"""What bench run shows while runs go, with and without a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from harness import progress as progress_module
from harness.progress import RunProgress, duration
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
    assert lines[1].startswith(f"{title}: step 51/100, loss 0.25, 0.0 s elapsed, ~0.0 s left")
    assert lines[2] == f"{title}: ok in 0.0 s, 100 steps (1 of 1 done)"
    assert len(lines) == 3 and "\x1b" not in out.getvalue()


def test_on_a_terminal_a_finished_bar_keeps_its_wall_time():
    console, out = _console(terminal=True)
    with RunProgress(console, runs=1) as shown:
        shown.step(SPEC, 1, 0.5)
        shown.finished(RunRecord(spec=SPEC, status="ok", run_id=SPEC.run_id, steps_done=100))
        bar = shown.live.tasks[1]
        assert bar.finished and bar.stop_time is not None
    assert "100/100" in out.getvalue() and "0.0 s" in out.getvalue()


def test_runs_on_parallel_workers_are_counted_as_they_start():
    """Two workers start two runs before either finishes: the second is the 2nd of 2."""
    console, out = _console(terminal=False)
    other = RunSpec(task="copy", cell="torch:lstm", task_params={"length": 5}, steps=100, seed=1)
    with RunProgress(console, runs=2) as shown:
        shown.step(SPEC, 1, 0.5)
        shown.step(other, 1, 0.5)
    assert out.getvalue().splitlines() == [f"{SPEC.title}: started (1 of 2)",
                                           f"{other.title}: started (2 of 2)"]


def test_a_wall_time_shows_tenths_under_ten_seconds_and_h_mm_ss_above():
    assert [duration(s) for s in (0.0, 0.44, 3.96, 9.94)] == ["0.0 s", "0.4 s", "4.0 s", "9.9 s"]
    assert [duration(s) for s in (9.96, 10.0, 65.4, 3725.0)] == ["0:00:10", "0:00:10", "0:01:05",
                                                                 "1:02:05"]


def test_a_sub_second_run_says_how_long_it_took():
    """Piped and on a terminal alike: ``0:00:00`` would tell nothing."""
    record = RunRecord(spec=SPEC, status="ok", run_id=SPEC.run_id, steps_done=100)
    console, out = _console(terminal=False)
    with RunProgress(console, runs=1) as shown:
        shown.step(SPEC, 1, 0.5)
        shown.started[SPEC.run_id] -= 0.43  # it started 0.43 s ago
        shown.finished(record)
    assert out.getvalue().splitlines()[-1] == f"{SPEC.title}: ok in 0.4 s, 100 steps (1 of 1 done)"
    now, out = [100.0], io.StringIO()
    terminal = Console(file=out, force_terminal=True, width=100, get_time=lambda: now[0])
    with RunProgress(terminal, runs=1) as shown:
        shown.step(SPEC, 1, 0.5)
        now[0] += 0.43
        shown.finished(record)
    assert "0.4 s" in out.getvalue() and "0:00:00" not in out.getvalue()
