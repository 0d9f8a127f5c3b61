"""What ``bench run`` shows while runs go: bars on a terminal, plain lines elsewhere.

Without a terminal (CI logs, nohup, a pipe) bars would be either invisible or a wall of
control codes, so each run gets a line when it starts and ends, and one at most every
:data:`PLAIN_INTERVAL_S` while it trains (step, loss, elapsed, estimated remaining).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
)
from rich.text import Text

from harness.formatting import plural
from harness.records import RunRecord
from harness.spec import RunSpec

PLAIN_INTERVAL_S = 30.0
"""Without a terminal, a running run's line is repeated at most this often."""


def duration(seconds: float) -> str:
    """A wall time as bench shows it: tenths of a second under 10 s (``0.4 s``, where
    whole seconds would show a tiny run as ``0:00:00``), else h:mm:ss (``0:01:05``)."""
    if round(seconds, 1) < 10:
        return f"{max(seconds, 0.0):.1f} s"
    return str(timedelta(seconds=round(seconds)))


class WallTimeColumn(ProgressColumn):
    """A bar's elapsed time written as :func:`duration` writes it; a finished bar keeps its
    run's wall time."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        return Text("-:--:--" if elapsed is None else duration(elapsed),
                    style="progress.elapsed")


class RunProgress:
    """Progress of a sweep on ``console``: ``step`` per training step, ``finished`` per record.
    ``titles`` names runs by run id where their own title would not tell them apart
    (:func:`harness.sweep.run_titles`)."""

    def __init__(self, console: Console, runs: int, titles: Mapping[str, str] | None = None):
        self.console = console
        self.titles = titles or {}
        self.started: dict[str, float] = {}
        self.last_line: dict[str, float] = {}
        self.bars: dict[str, TaskID] = {}
        self.runs, self.done = runs, 0
        self.live: Progress | None = None
        if console.is_terminal:
            # Elapsed, not remaining: a finished bar then keeps its run's wall time.
            self.live = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
                                 WallTimeColumn(), console=console)
            self.overall = self.live.add_task("runs", total=runs, note="")

    def __enter__(self) -> RunProgress:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.live is not None:
            self.live.__exit__(kind, error, trace)

    def step(self, spec: RunSpec, step: int, loss: float) -> None:
        now = time.monotonic()
        if spec.run_id not in self.started:
            self.started[spec.run_id] = self.last_line[spec.run_id] = now
            self._start(spec)
        if step == 0:  # the run began (harness.runner.ProgressCallback)
            return
        if self.live is not None:
            self.live.update(self.bars[spec.run_id], completed=step, note=f"loss {loss:.4g}")
        elif now - self.last_line[spec.run_id] >= PLAIN_INTERVAL_S:
            self.last_line[spec.run_id] = now
            elapsed = now - self.started[spec.run_id]
            left = elapsed / step * (spec.steps - step)
            self.console.print(f"{self._title(spec)}: step {step}/{spec.steps}, loss {loss:.4g}, "
                               f"{duration(elapsed)} elapsed, ~{duration(left)} left",
                               soft_wrap=True)

    def _title(self, spec: RunSpec) -> str:
        return self.titles.get(spec.run_id, spec.title)

    def _start(self, spec: RunSpec) -> None:
        if self.live is not None:
            self.bars[spec.run_id] = self.live.add_task(self._title(spec), total=spec.steps,
                                                        note="")
        else:
            self.console.print(f"{self._title(spec)}: started ({len(self.started)} of {self.runs})",
                               soft_wrap=True)

    def finished(self, record: RunRecord) -> None:
        self.done += 1
        spec = record.spec
        started = self.started.get(spec.run_id)
        wall = f" in {duration(time.monotonic() - started)}" if started is not None else ""
        if self.live is None:
            steps = plural(record.steps_done, "step")
            self.console.print(f"{self._title(spec)}: {record.status}{wall}, {steps} "
                               f"({self.done} of {self.runs} done)", soft_wrap=True)
            return
        bar = self.bars.get(spec.run_id)
        if bar is not None:
            steps = record.steps_done or 1
            self.live.update(bar, total=steps, completed=steps, note=record.status)
            self.live.stop_task(bar)
        self.live.update(self.overall, advance=1, note=f"last: {self._title(spec)} {record.status}")
