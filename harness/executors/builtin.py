"""The executors bench ships: registered through the same hook as any plugin's."""

from __future__ import annotations

from collections.abc import Callable

from harness import hookimpl
from harness.errors import UsageError
from harness.executors import ExecutorDefinition, ExecutorOptions


def _local(options: ExecutorOptions):
    from harness.executors.local import LocalExecutor

    return LocalExecutor(options)


def _process(options: ExecutorOptions):
    from harness.executors.process import ProcessExecutor

    return ProcessExecutor(options)


def _dask(options: ExecutorOptions):
    try:
        from harness.executors.dask import DaskExecutor
    except ModuleNotFoundError as exc:
        if exc.name not in ("dask", "distributed"):
            raise
        raise UsageError("the dask executor needs Dask: pip install 'bench-harness[dask]'"
                         ) from None
    return DaskExecutor(options)


@hookimpl
def bench_register_executors(register: Callable[[ExecutorDefinition], None]) -> None:
    register(ExecutorDefinition("local", "in this process, one run after another (default)",
                                _local))
    register(ExecutorDefinition("process", "a pool of --workers processes on this machine; "
                                "a run that crashes its worker is recorded as failed", _process))
    register(ExecutorDefinition("dask", "a Dask cluster: the one at --scheduler, or a local "
                                "one of --workers processes", _dask))
