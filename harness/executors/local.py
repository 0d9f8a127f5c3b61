"""The default executor: runs one after another in this process, each with the thread count
bench's thread policy decides at its start (the load may change between runs)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from harness import stopping
from harness.errors import UsageError
from harness.execution import (
    ExecutorOptions,
    RunTimeout,
    StepProgress,
    refuse_scheduler,
    timed_out,
)
from harness.plugins import default_host
from harness.records import RunRecord
from harness.runner import execute, plan
from harness.spec import RunSpec
from harness.threads import decide


class LocalExecutor:
    def __init__(self, options: ExecutorOptions):
        refuse_scheduler(options, "local")
        if options.workers not in (None, 1):
            raise UsageError("the local executor runs one run at a time; for --workers "
                             f"{options.workers} use --executor process")
        self.timeout = options.timeout
        self.threads = decide(options.threads) if options.threads is not None else None

    def run(self, specs: Sequence[RunSpec], on_step: StepProgress | None = None
            ) -> Iterator[RunRecord]:
        for spec in specs:
            stopping.check()
            progress = None
            if on_step is not None:
                def progress(step: int, loss: float, spec: RunSpec = spec) -> None:
                    on_step(spec, step, loss)
            plan(spec, default_host().registry)  # imports the framework: never cut short
            try:
                with _time_limit(self.timeout):
                    record = execute(spec, progress=progress, threads=self.threads)
            except RunTimeout:  # it expired outside the training the run records
                record = timed_out(spec, self.timeout)
            yield record

    def close(self) -> None:
        pass


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise RunTimeout in the run when it passes ``seconds`` (SIGALRM: the main thread only;
    elsewhere, and on platforms without it, the run is not limited). The run records it as
    failed, like any exception it raises."""
    if seconds is None or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise RunTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
