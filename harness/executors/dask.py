"""Runs on a Dask distributed cluster: an existing one (``--scheduler``) or a local one.

Workers execute :func:`harness.runner.execute` and load the plugins themselves, from the
``bench`` entry points as an installed bench does: bench and the backends must be installed
on every worker. Records come back as runs finish; a run the cluster cannot complete (its
task raised on every attempt, or its workers kept dying) comes back as a ``failed`` record.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence

from distributed import Client, Future, LocalCluster, as_completed
from distributed.comm import connect
from distributed.comm.addressing import get_address_host_port

from harness import stopping
from harness.errors import UsageError, warn
from harness.execution import ExecutorOptions, StepProgress, failed_record
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

_one_run_at_a_time = threading.Lock()


def _execute(spec: RunSpec, threads: ThreadPolicy | None) -> RunRecord:
    """Run on a worker, one run at a time per process even where the worker has several
    threads: runs share torch's global generator (dropout masks) and their timings would
    share the cores. ``threads`` None: the worker decides (auto, for one run)."""
    with _one_run_at_a_time:
        return execute(spec, threads=threads)


class DaskExecutor:
    """Runs on the cluster at ``options.scheduler``, or on a local one it starts and closes.

    ``on_step`` is never called: the steps happen in other processes."""

    def __init__(self, options: ExecutorOptions):
        self.cluster: LocalCluster | None = None
        if options.scheduler is not None:
            if options.workers is not None:
                raise UsageError("--workers sizes a local Dask cluster; the cluster at "
                                 "--scheduler has its own workers")
            self.client = _connect(options.scheduler)
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

    def run(self, specs: Sequence[RunSpec], on_step: StepProgress | None = None
            ) -> Iterator[RunRecord]:
        # One map rather than a submit per run, so that runs start in the order asked
        # (submits that close together tie, and then go by key). A key set by hand must be
        # unique on the cluster, or another submission of the same run (another client, a
        # --force rerun) would share this one's task.
        keys = [f"bench-{spec.run_id}-{uuid.uuid4().hex}" for spec in specs]
        pending = dict(zip(self.client.map(_execute, specs, threads=self.threads, key=keys,
                                            retries=RETRIES), specs,
                           strict=True))
        completed = as_completed(list(pending), loop=self.client.loop)
        while not completed.is_empty():
            if stopping.requested():
                self.client.cancel(list(pending))
                raise stopping.RunInterrupted
            if not completed.has_ready():
                time.sleep(STOP_POLL_S)
                continue
            for future in completed.next_batch(block=False):
                # Dropping the future releases the record on the cluster.
                yield _record(future, pending.pop(future))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
            self.scratch.cleanup()


def _record(future: Future, spec: RunSpec) -> RunRecord:
    try:
        return future.result()
    except Exception as exc:  # raised on every attempt, KilledWorker, or cancelled
        return failed_record(spec, f"{type(exc).__name__}: {exc}")


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
