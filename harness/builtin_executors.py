"""The executors bench ships, registered through the same hook as any plugin's.

Each factory is a :class:`~harness.lazy.LazyFunction`: the plugin host that registers them
imports none of :mod:`harness.executors` (which imports the runner, which uses the host).
"""

from __future__ import annotations

from collections.abc import Callable

from harness import hookimpl
from harness.execution import ExecutorDefinition
from harness.lazy import LazyFunction

start_dask = LazyFunction("harness.executors.dask:DaskExecutor",
                          missing="the dask executor needs Dask: pip install "
                          "'bench-harness[dask]'")


@hookimpl
def bench_register_executors(register: Callable[[ExecutorDefinition], None]) -> None:
    register(ExecutorDefinition("local", "in this process, one run after another (default)",
                                LazyFunction("harness.executors.local:LocalExecutor")))
    register(ExecutorDefinition("process", "a pool of --workers processes on this machine; "
                                "a run that crashes its worker is recorded as failed",
                                LazyFunction("harness.executors.process:ProcessExecutor")))
    register(ExecutorDefinition("dask", "a Dask cluster: the one at --scheduler, or a local "
                                "one of --workers processes", start_dask))
