"""The executors bench ships: registered through the same hook as any plugin's."""

from __future__ import annotations

from collections.abc import Callable

from harness import hookimpl
from harness.executors import ExecutorDefinition, ExecutorOptions


def _local(options: ExecutorOptions):
    from harness.executors.local import LocalExecutor

    return LocalExecutor(options)


def _process(options: ExecutorOptions):
    from harness.executors.process import ProcessExecutor

    return ProcessExecutor(options)


@hookimpl
def bench_register_executors(register: Callable[[ExecutorDefinition], None]) -> None:
    register(ExecutorDefinition("local", "in this process, one run after another (default)",
                                _local))
    register(ExecutorDefinition("process", "a pool of --workers processes on this machine; "
                                "a run that crashes its worker is recorded as failed", _process))
