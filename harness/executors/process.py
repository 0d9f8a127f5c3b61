"""A pool of worker processes on this machine, each run isolated from the others.

Workers are long-lived (the framework import is paid once per worker), but a worker that
dies mid-run (a segfault, an abort, os._exit) only costs that run: it is recorded as
``failed`` with the reason and a fresh worker takes its place.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from harness import stopping
from harness.errors import UsageError
from harness.execution import (
    ExecutorOptions,
    StepProgress,
    failed_record,
    refuse_scheduler,
    throttled,
    timed_out,
)
from harness.records import RunRecord
from harness.spec import RunSpec
from harness.threads import ThreadPolicy, decide, usable_cpus

_CONTEXT = multiprocessing.get_context("spawn")  # fork is unsafe once a framework has threads

STOP_POLL_S = 0.2
"""How often the pool looks for a stop request while it waits for its workers."""
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class _Progress:
    step: int
    loss: float


def _worker(conn: Connection, policy: ThreadPolicy) -> None:
    stopping.worker_signals()
    # Set before any framework is imported, so that N workers do not oversubscribe the cores.
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(policy.threads)
    from harness.runner import execute

    while (spec := conn.recv()) is not None:
        report = throttled(lambda step, loss: conn.send(_Progress(step, loss)))
        try:
            record = execute(spec, progress=report, threads=policy)
        except stopping.RunInterrupted:  # asked to stop before the run finished training
            break
        except Exception as exc:  # even a usage error must come back as a record
            record = failed_record(spec, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        conn.send(record)
    # Every record has been sent; skipping interpreter teardown (a second per framework
    # loaded) is what makes closing the pool cheap.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class _Worker:
    def __init__(self, policy: ThreadPolicy):
        self.policy = policy
        self.spec: RunSpec | None = None
        self.start()

    def start(self) -> None:
        self.conn, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_worker, args=(child, self.policy), daemon=True)
        # A worker starts with Ctrl-C ignored (inherited), so that it never shows a
        # KeyboardInterrupt traceback, not even while it imports.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.process.start()
        finally:
            signal.signal(signal.SIGINT, previous)
        child.close()

    def give(self, spec: RunSpec) -> None:
        self.spec = spec
        self.given_at = time.monotonic()
        self.conn.send(spec)

    def replace(self) -> None:
        """Kill this worker (it hangs) and start a fresh one in its place."""
        self.process.kill()
        self.process.join()
        self.conn.close()
        self.start()

    def ask_to_stop(self) -> None:
        if self.process.is_alive():
            os.kill(self.process.pid, signal.SIGTERM)


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"killed by signal {signal.Signals(-exitcode).name}"
    return f"exited with code {exitcode}"


class ProcessExecutor:
    def __init__(self, options: ExecutorOptions):
        refuse_scheduler(options, "process")
        workers = options.workers if options.workers is not None else usable_cpus()
        if workers < 1:
            raise UsageError(f"--workers must be at least 1, got {workers}")
        self.workers = workers
        self.threads = options.threads
        self.timeout = options.timeout
        self.pool: list[_Worker] = []

    def run(self, specs: Sequence[RunSpec], on_step: StepProgress | None = None
            ) -> Iterator[RunRecord]:
        """On a stop request (harness.stopping), runs still training stop, those past their
        last step are finished and yielded, then RunInterrupted is raised."""
        pending = list(reversed(specs))
        if len(self.pool) < min(self.workers, len(specs)):
            policy = decide(self.threads, concurrent=min(self.workers, len(specs)))
            while len(self.pool) < min(self.workers, len(specs)):
                self.pool.append(_Worker(policy))
        for worker in self.pool:
            if pending:
                worker.give(pending.pop())
        busy = [w for w in self.pool if w.spec is not None]
        asked = False
        while busy:
            if stopping.requested() and not asked:
                asked = True
                pending.clear()
                for worker in busy:
                    worker.ask_to_stop()
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                         timeout=min(STOP_POLL_S, self._until_first_deadline(busy)))
            for worker in list(busy):
                if worker.conn in ready or worker.process.sentinel in ready:
                    message = self._receive(worker, restart=not asked)
                    if isinstance(message, _Progress):
                        if on_step is not None:
                            on_step(worker.spec, message.step, message.loss)
                        continue
                elif self._overdue(worker):
                    worker.replace()
                    message = timed_out(worker.spec, self.timeout)
                else:
                    continue
                if message is not None:
                    yield message
                if pending:
                    worker.give(pending.pop())
                else:
                    worker.spec = None
            busy = [w for w in self.pool if w.spec is not None]
        if asked:
            raise stopping.RunInterrupted

    def _until_first_deadline(self, busy: list[_Worker]) -> float:
        if self.timeout is None:
            return STOP_POLL_S
        return max(0.0, min(w.given_at + self.timeout for w in busy) - time.monotonic())

    def _overdue(self, worker: _Worker) -> bool:
        return self.timeout is not None and time.monotonic() - worker.given_at >= self.timeout

    def _receive(self, worker: _Worker, restart: bool) -> RunRecord | _Progress | None:
        """The worker's next message: progress, its run's record, or a failed record if the
        worker died (it is then respawned); None for a worker that stopped when asked."""
        spec = worker.spec
        try:
            if worker.conn.poll():
                return worker.conn.recv()
        except (EOFError, OSError):
            pass
        worker.process.join()
        if not restart:
            self.pool.remove(worker)
            return None
        reason = _death(worker.process.exitcode)
        worker.start()
        return failed_record(spec, f"worker process {reason} during the run")

    def close(self) -> None:
        for worker in self.pool:
            try:
                worker.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for worker in self.pool:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self.pool.clear()
        stop_resource_tracker()


def stop_resource_tracker() -> None:
    """Stop the helper process that spawned workers make multiprocessing start, and wait for
    it: left alone it outlives bench for a moment, holding bench's stdout and stderr (a
    pipe reader such as ``bench run | tee log`` then waits for it too). Private API, the one
    the standard library's own tests use; skipped where it is missing."""
    from multiprocessing import resource_tracker

    stop = getattr(getattr(resource_tracker, "_resource_tracker", None), "_stop", None)
    if stop is not None:
        stop()
