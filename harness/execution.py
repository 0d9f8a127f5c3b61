"""Executors: where runs execute. A plugin adds one through ``bench_register_executors``.

An executor takes validated specs and yields records as runs finish, in any order; the
client writes each record as it arrives, so an interrupted sweep keeps what finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from harness.environment import now_iso
from harness.errors import UsageError
from harness.records import RunRecord
from harness.spec import RunSpec

StepProgress = Callable[[RunSpec, int, float], None]
"""Per-step progress (spec, step, loss), where an executor can report it: step 0 (loss nan)
as the run begins, then local at every step, process and dask through :func:`throttled`."""

PROGRESS_INTERVAL_S = 0.5
"""A worker process reports a run's step and loss at most this often (but its beginning and
first step always)."""


def throttled(report: Callable[[int, float], None]) -> Callable[[int, float], None]:
    """``report`` of one run's (step, loss) from a worker process, thinned to its beginning,
    its first step, then at most one every :data:`PROGRESS_INTERVAL_S`."""
    last = -PROGRESS_INTERVAL_S

    def progress(step: int, loss: float) -> None:
        nonlocal last
        if step <= 1 or time.monotonic() - last >= PROGRESS_INTERVAL_S:
            last = time.monotonic()
            report(step, loss)

    return progress


@dataclass(frozen=True)
class ExecutorOptions:
    workers: int | None = None
    """Worker processes (process executor) or local-cluster workers (dask)."""
    scheduler: str | None = None
    """Address of an existing cluster's scheduler, e.g. tcp://host:8786."""
    timeout: float | None = None
    """Seconds a run may take before it is stopped and recorded as failed (local and
    process enforce it)."""
    threads: int | None = None
    """Threads per run (--threads); None: bench's thread policy decides (harness.threads)."""


class Executor(Protocol):
    def run(self, specs: Sequence[RunSpec], on_step: StepProgress | None = None
            ) -> Iterator[RunRecord]:
        """Yield one record per spec as each run finishes."""
        ...

    def close(self) -> None:
        ...


@dataclass
class ExecutorDefinition:
    """What a plugin registers: a named executor and how to start one."""

    name: str
    description: str
    factory: Callable[[ExecutorOptions], Executor]
    """Start the executor; raise UsageError for bad options or a missing dependency."""
    plugin: str = field(default="", compare=False)


def refuse_scheduler(options: ExecutorOptions, executor: str) -> None:
    """For executors that run on this machine: --scheduler would be silently ignored."""
    if options.scheduler is not None:
        raise UsageError(f"--scheduler {options.scheduler} is an option of --executor dask; "
                         f"the {executor} executor runs on this machine")


class RunTimeout(Exception):
    """A run went over ``--timeout``."""

    def __init__(self, seconds: float):
        super().__init__(f"the run took longer than --timeout {seconds:g} s and was stopped")


def timed_out(spec: RunSpec, seconds: float) -> RunRecord:
    """The record of a run whose worker was stopped at its time limit."""
    return failed_record(spec, f"RunTimeout: {RunTimeout(seconds)}")


def failed_record(spec: RunSpec, error: str) -> RunRecord:
    """The record of a run that could not produce its own (it raised, or its worker died)."""
    now = now_iso()
    return RunRecord(spec=spec, status="failed", run_id=spec.run_id, error=error,
                     started_at=now, finished_at=now)
