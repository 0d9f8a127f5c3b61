"""Runs on a Dask distributed cluster: an existing one (``--scheduler``) or a local one.

Workers execute :func:`harness.runner.execute` and load the plugins themselves, from the
``bench`` entry points as an installed bench does: bench and the backends must be installed
on every worker. Records come back as runs finish; a run the cluster cannot complete (its
task raised on every attempt, or its workers kept dying) comes back as a ``failed`` record.
Each run reports its steps (:func:`harness.execution.throttled`) as events on :data:`TOPIC`,
so that ``bench run`` shows when it starts and how long it took.

On a local cluster a stop request (harness.stopping) stops the runs as the process executor
does: the workers ignore Ctrl-C (it reaches the whole process group; it is bench's to
handle), every worker is asked to stop, a run still training stops before its next step and
one past its last step is finished and yielded, and the cluster closes once no run is left
in a worker, without Dask's warnings about tasks cut short.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence

from distributed import Client, Future, LocalCluster, Nanny, WorkerPlugin, get_worker
from distributed.comm import connect
from distributed.comm.addressing import get_address_host_port
from distributed.core import Status

from harness import stopping
from harness.errors import UsageError, warn
from harness.execution import ExecutorOptions, StepProgress, failed_record, throttled
from harness.executors.process import stop_resource_tracker
from harness.records import RunRecord
from harness.runner import execute
from harness.spec import RunSpec
from harness.threads import ThreadPolicy, decide, usable_cpus

CONNECT_TIMEOUT = 5.0
"""Seconds to reach a scheduler before giving up."""
RETRIES = 2
"""Further attempts at a run whose task raised. A run lost with its worker is not one of
these: the scheduler resubmits it (up to ``distributed.scheduler.allowed-failures`` times)."""

STOP_POLL_S = 0.2
"""How often the client looks for a stop request while it waits for runs."""
KILL_WAIT_S = 2.0
"""How long a close that kills the local workers waits for the scheduler to see them go."""
TOPIC = "bench-progress"
"""The Dask event topic of the runs' progress: ``{"key": task key, "step", "loss"}``. One
topic for every bench, so that a long-lived scheduler keeps a bounded log of them; each
client picks its own runs out by task key."""

_one_run_at_a_time = threading.Lock()


class _AbandonedRuns(logging.Filter):
    """Drops the scheduler's warning that workers bench kills took computed runs with them:
    bench abandons those runs on purpose. Its cancel may reach the scheduler after the kill
    does, and so may the release of a record it has already taken (seen on a loaded machine
    at a second Ctrl-C)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "caused the cluster to lose" not in record.getMessage()


def _execute(spec: RunSpec, threads: ThreadPolicy | None) -> RunRecord | None:
    """Run on a worker, one run at a time per process even where the worker has several
    threads: runs share torch's global generator (dropout masks) and their timings would
    share the cores. ``threads`` None: the worker decides (auto, for one run).

    None: the run stopped before it finished training, or did not start, because bench asked
    this worker to stop (:func:`_stop_this_worker`)."""
    with _one_run_at_a_time:
        if stopping.requested():
            return None
        worker = get_worker()
        key = worker.get_current_task()
        report = throttled(lambda step, loss: worker.log_event(
            TOPIC, {"key": key, "step": step, "loss": float(loss)}))
        try:
            return execute(spec, progress=report, threads=threads)
        except stopping.RunInterrupted:
            return None


def _stop_this_worker() -> None:
    """On a worker of bench's local cluster (out of band, Client.run): the run going on stops
    before its next step, and no other starts. The cluster is closed after it."""
    stopping.request()


class _LocalWorker(WorkerPlugin):
    """What bench's local cluster asks of each of its worker processes, one the nanny starts
    in place of one that died too.

    Ctrl-C reaches the whole process group, the workers too: it is bench's to handle (left to
    asyncio's handler, it would cancel the worker and cut its run short while bench still
    waits for it). And a worker that closed normally exits without the interpreter's
    teardown, which takes a second or two once a framework is loaded, as the process
    executor's workers do."""

    def setup(self, worker) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)

        def exit_now() -> None:
            if worker.status == Status.closed:  # else the teardown may tell what went wrong
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(0)

        atexit.register(exit_now)


class DaskExecutor:
    """Runs on the cluster at ``options.scheduler``, or on a local one it starts and closes.

    ``on_step`` is called in the thread that iterates :meth:`run`, as the runs' events
    arrive."""

    def __init__(self, options: ExecutorOptions):
        self.cluster: LocalCluster | None = None
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._pending: dict[str, tuple[Future, RunSpec]] = {}
        """The runs of the latest :meth:`run` not yet yielded, cancelled or stopped, by key."""
        self._stopped = False
        """The local workers were asked to stop: they start no run again."""
        if options.scheduler is not None:
            if options.workers is not None:
                raise UsageError("--workers sizes a local Dask cluster; the cluster at "
                                 "--scheduler has its own workers")
            self.client = _connect(options.scheduler)
            self.client.subscribe_topic(TOPIC, self._inbox.put)
            self.threads = decide(options.threads) if options.threads is not None else None
            if not self.client.nthreads():
                warn(f"the Dask scheduler at {options.scheduler} has no workers yet; runs wait "
                     "until one joins")
            return
        workers = options.workers if options.workers is not None else usable_cpus()
        if workers < 1:
            raise UsageError(f"--workers must be at least 1, got {workers}")
        # Workers' scratch files in a directory of our own, removed on close (Dask's default
        # is a shared dask-scratch-space that nothing cleans).
        self.scratch = tempfile.TemporaryDirectory(prefix="bench-dask-")
        self.threads = decide(options.threads, concurrent=workers)
        # No dashboard; the scheduler's other HTTP routes on a free port, not on 8787.
        self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                    host="127.0.0.1", dashboard_address=None,
                                    local_directory=self.scratch.name,
                                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        self.client = Client(self.cluster, set_as_default=False)
        self.client.register_plugin(_LocalWorker(), name="bench-local-worker")
        self.client.subscribe_topic(TOPIC, self._inbox.put)

    def run(self, specs: Sequence[RunSpec], on_step: StepProgress | None = None
            ) -> Iterator[RunRecord]:
        """On a stop request (harness.stopping) on a local cluster, runs still training stop,
        those past their last step are finished and yielded, then RunInterrupted is raised;
        on a ``--scheduler`` cluster the runs are cancelled at once."""
        if self._stopped:
            raise stopping.RunInterrupted
        # One map rather than a submit per run, so that runs start in the order asked
        # (submits that close together tie, and then go by key). A key set by hand must be
        # unique on the cluster, or another submission of the same run (another client, a
        # --force rerun) would share this one's task.
        keys = [f"bench-{spec.run_id}-{uuid.uuid4().hex}" for spec in specs]
        futures = self.client.map(_execute, specs, threads=self.threads, key=keys,
                                  retries=RETRIES)
        pending = self._pending = {future.key: (future, spec)
                                   for future, spec in zip(futures, specs, strict=True)}
        for future in futures:
            # After the events its run sent before it ended: the client handles the
            # scheduler's messages in order, and calls this once the future is done.
            future.add_done_callback(self._inbox.put)
        # Only ``pending`` holds the futures: dropping one releases its record on the cluster
        # (a reference left in this suspended generator, or in the traceback of a second
        # Ctrl-C, would keep it there).
        futures = future = None
        asked = False
        while pending:
            if stopping.requested() and not asked:
                asked = True
                self._ask_to_stop()
            try:
                item = self._inbox.get(timeout=STOP_POLL_S)
            except queue.Empty:
                continue
            if isinstance(item, Future):
                record = self._take(item, asked)
                del item
                if record is not None:
                    yield record
            else:
                _, event = item  # (the scheduler's time, the message)
                key = event.get("key") if isinstance(event, dict) else None
                if key in pending and on_step is not None:
                    on_step(pending[key][1], event["step"], event["loss"])
        if asked:
            raise stopping.RunInterrupted

    def _take(self, future: Future, asked: bool) -> RunRecord | None:
        """The record of a run whose future is done, taken off the pending runs. None: not
        one of them (a run cancelled, or of an earlier call), or one that stopped when
        ``asked`` to."""
        if self._pending.get(future.key, (None,))[0] is not future:
            return None
        _, spec = self._pending.pop(future.key)
        return _record(future, spec, asked)

    def _ask_to_stop(self) -> None:
        """Cancel the runs no worker holds yet. On a local cluster, ask every worker to stop
        and keep the runs it holds pending: each ends before its next step (or is finished,
        past its last), so that the cluster then closes with no run cut short. A
        ``--scheduler`` cluster's workers are not ours to stop: its runs are all cancelled."""
        if self.cluster is None:
            held: set[str] = set()
        else:
            self._stopped = True
            self.client.run(_stop_this_worker)
            held = {key for keys in self.client.processing().values() for key in keys}
        queued = [key for key in self._pending if key not in held]
        self.client.cancel([self._pending.pop(key)[0] for key in queued])

    def close(self) -> None:
        """Close the client, and the local cluster. Runs left in it (a second Ctrl-C, or an
        error that ended the sweep) are not waited for: their workers are killed."""
        abandoned = _AbandonedRuns()
        scheduler_log = logging.getLogger("distributed.scheduler")
        scheduler_log.addFilter(abandoned)
        try:
            if self.cluster is not None and self._pending:
                # Their tasks forgotten first, so that the scheduler has few to lose with the
                # workers (it would warn of results lost, to compute again).
                self.client.cancel([future for future, _ in self._pending.values()])
                self._pending = {}
                self._kill_workers()
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        finally:
            scheduler_log.removeFilter(abandoned)
        if self.cluster is not None:
            self.scratch.cleanup()
            # Started for the workers; stopped as the process executor stops it, unless
            # another process of ours still holds it (it would wait for that one's end).
            if not multiprocessing.active_children():
                stop_resource_tracker()

    def _kill_workers(self) -> None:
        """Kill the local cluster's worker processes, each after telling its nanny not to
        start another in its place (a worker closing normally would wait for its run, and
        Dask would warn of the run cut short); then wait, a moment at most, until the
        scheduler has seen them go, so that nothing it logs about them comes after the
        cluster, closing, gives the log level back."""
        for nanny in self.cluster.workers.values():
            pid = getattr(nanny, "pid", None)
            if isinstance(nanny, Nanny) and pid is not None:
                nanny.close_gracefully(reason="bench-stops-at-once")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + KILL_WAIT_S
        while self.client.nthreads() and time.monotonic() < deadline:
            time.sleep(0.02)


def _record(future: Future, spec: RunSpec, asked: bool) -> RunRecord | None:
    """The run's record; None for a run that stopped when ``asked`` to."""
    try:
        record = future.result()
    except Exception as exc:  # raised on every attempt, KilledWorker, or cancelled
        return failed_record(spec, f"{type(exc).__name__}: {exc}")
    if record is None and not asked:  # never so far: a stop this client did not ask for
        return failed_record(spec, "the run was stopped on its worker")
    return record


def _connect(address: str) -> Client:
    """A client of the scheduler at ``address``, or a UsageError within CONNECT_TIMEOUT.

    Client's timeout bounds the TCP connect but not the handshake after it, which waits
    forever on a server that is not Dask's (the dashboard's HTTP port, say): probe first.
    """
    try:
        get_address_host_port(address)  # a malformed address: ValueError naming what is wrong
        asyncio.run(asyncio.wait_for(_handshake(address), CONNECT_TIMEOUT))
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:  # a malformed address, refused, timed out, not a Dask server
        reason = str(exc).splitlines()[0] if str(exc) else f"no answer in {CONNECT_TIMEOUT:g} s"
        raise UsageError(f"cannot reach a Dask scheduler at {address}: {reason}") from None


async def _handshake(address: str) -> None:
    try:
        comm = await connect(address, timeout=CONNECT_TIMEOUT)
    except (OSError, asyncio.TimeoutError):
        raise
    except Exception:  # it answered, but what it sent is no Dask message
        raise ConnectionError("the server there does not speak Dask's protocol") from None
    await comm.close()
